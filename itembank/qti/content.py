"""An item's content between QTI's XML and the HTML of item documents, both ways.

XML to HTML copies only HTML elements: a QTI element or one of another vocabulary (MathML, SSML)
left in content gives its text, never its markup. HTML to XML writes the cleaned HTML of a
document as elements of the item's namespace, leaving out characters XML cannot hold.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from lxml import etree

from itembank.html import ALLOWED_TAGS
from itembank.qti.tree import append_text

HTML_KEPT = frozenset(ALLOWED_TAGS)
"""HTML that item documents keep."""
HTML_HARMLESS = {
    "acronym", "address", "article", "aside", "bdi", "bdo", "big", "col", "colgroup", "dfn",
    "footer", "header", "ins", "kbd", "label", "main", "mark", "nav", "samp", "section", "tt",
    "var", "wbr",
}  # fmt: skip
"""HTML whose tags the cleaner drops while the text inside still says the same thing."""
VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
}  # fmt: skip

_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_NOT_XML_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# ---- XML content to HTML ------------------------------------------------------------------------


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def all_text(element: etree._Element) -> str:
    """Every piece of text inside an element, markup left out."""
    return "".join(_text(part) for part in element.itertext())


def escape_text(text: str | None) -> str:
    """Text (an element's text or tail) as HTML."""
    return html.escape(text, quote=False) if text else ""


def outer_html(element: etree._Element) -> str:
    """An element as HTML, without its tail."""
    tag = element.tag
    if not isinstance(tag, str) or tag.startswith("{") or tag.startswith("qti-"):
        # Never copy a foreign or QTI element into HTML; its text is all that can be kept.
        return inner_html(element)
    attributes = "".join(
        f' {_text(key)}="{html.escape(_text(value), quote=True)}"'
        for key, value in element.attrib.items()
        if not _text(key).startswith("{")
    )
    if tag in VOID_ELEMENTS:
        return f"<{tag}{attributes}>"
    return f"<{tag}{attributes}>{inner_html(element)}</{tag}>"


def inner_html(element: etree._Element) -> str:
    """An element's content as HTML."""
    parts = [escape_text(element.text)]
    for child in element:
        parts.append(outer_html(child))
        parts.append(escape_text(child.tail))
    return "".join(parts)


# ---- HTML to XML content ------------------------------------------------------------------------


def xml_safe(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold."""
    return _NOT_XML_CHARACTERS.sub("", text)


class _FragmentBuilder(HTMLParser):
    """Builds XML elements from an HTML fragment (the cleaned HTML of an item document)."""

    def __init__(self, container: etree._Element, namespace: str) -> None:
        super().__init__(convert_charrefs=True)
        self._namespace = namespace
        self._stack = [container]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = self._open(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self._stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._stack) - 1, 0, -1):
            if etree.QName(self._stack[depth]).localname == tag:
                del self._stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        append_text(self._stack[-1], xml_safe(data))

    def _open(self, tag: str, attrs: list[tuple[str, str | None]]) -> etree._Element:
        element = etree.SubElement(self._stack[-1], f"{{{self._namespace}}}{tag}")
        for name, value in attrs:
            if _XML_NAME.match(name):
                element.set(name, xml_safe(value or ""))
        return element


def append_html(container: etree._Element, fragment: str, namespace: str) -> None:
    """Add an HTML fragment to an element's content, as elements of ``namespace``."""
    builder = _FragmentBuilder(container, namespace)
    builder.feed(fragment)
    builder.close()
