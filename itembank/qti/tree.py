"""Editing lxml trees without losing text: lxml keeps the text after an element in its ``tail``,
which goes wherever the element goes."""

from __future__ import annotations

from lxml import etree


def append_text(element: etree._Element, text: str) -> None:
    """Add text at the end of an element's content."""
    if not text:
        return
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


def text_before(element: etree._Element, text: str) -> None:
    """Put text where it reads just before ``element``."""
    if not text:
        return
    previous = element.getprevious()
    parent = element.getparent()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    elif parent is not None:
        parent.text = (parent.text or "") + text


def remove(element: etree._Element) -> None:
    """Take an element out, keeping the text that follows it (lxml drops the tail with it)."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    previous = element.getprevious()
    before = (parent.text if previous is None else previous.tail) or ""
    # Whitespace after whitespace says nothing in HTML; only keep it when it separates words.
    if tail.strip() or not before[-1:].isspace():
        text_before(element, tail)
    element.tail = None
    parent.remove(element)


def unwrap(element: etree._Element) -> None:
    """Replace an element by its content."""
    parent = element.getparent()
    if parent is None:
        return
    text_before(element, element.text or "")
    children = list(element)
    index = parent.index(element)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    tail = element.tail or ""
    element.tail = None
    if children:
        children[-1].tail = (children[-1].tail or "") + tail
    else:
        text_before(element, tail)
    parent.remove(element)


def inside(element: etree._Element, ancestor: etree._Element) -> bool:
    """Whether ``element`` is ``ancestor`` or within it (still in the tree, not taken out)."""
    node: etree._Element | None = element
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def classes(element: etree._Element) -> list[str]:
    """The element's classes."""
    return (element.get("class") or "").split()
