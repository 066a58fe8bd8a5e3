"""QTI's names: versions and namespaces, QTI 2.x names turned into QTI 3 ones, and the values
(identifiers, languages, numbers) QTI writes its own way.

The reader works in QTI 3 terms only: a QTI 2.x item is renamed first (``choiceInteraction``
becomes ``qti-choice-interaction``, ``responseIdentifier`` becomes ``response-identifier``), and
messages name elements as the source file spells them.
"""

from __future__ import annotations

import re
from typing import Literal

from lxml import etree

from itembank.qti.content import HTML_HARMLESS, HTML_KEPT

QtiVersion = Literal["qti3", "qti21"]
"""The QTI versions Vakt writes."""

QTI3_NAMESPACE = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
QTI21_NAMESPACE = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI22_NAMESPACE = "http://www.imsglobal.org/xsd/imsqti_v2p2"
QTI2_NAMESPACES = {QTI21_NAMESPACE, QTI22_NAMESPACE, "http://www.imsglobal.org/xsd/imsqti_v2p0"}
# QTI 2.2 puts HTML5 elements (figure, video, ruby...) in a namespace of their own.
HTML_NAMESPACES = {
    "http://www.imsglobal.org/xsd/imsqtiv2p2_html5_v1p0",
    "http://www.w3.org/1999/xhtml",
}
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Every XHTML name QTI 2.x uses in its own namespace; any other name there is a QTI element.
_QTI2_HTML_NAMES = HTML_KEPT | HTML_HARMLESS | {
    "area", "audio", "del", "map", "object", "param", "rb", "rp", "rt", "ruby", "source", "track",
    "video",
}  # fmt: skip

CHOICE = "qti-choice-interaction"
EXTENDED_TEXT = "qti-extended-text-interaction"
UPLOAD = "qti-upload-interaction"

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")
_IDENTIFIER_CHARACTERS = re.compile(r"[^A-Za-z0-9_.\-]")


def item_version_of(root: etree._Element) -> Literal["qti3", "qti2"] | None:
    """Which QTI an element is the root item of, or None if it is no assessment item."""
    qname = etree.QName(root)
    if qname.namespace == QTI3_NAMESPACE and qname.localname == "qti-assessment-item":
        return "qti3"
    if qname.namespace in QTI2_NAMESPACES and qname.localname == "assessmentItem":
        return "qti2"
    return None


def _kebab(name: str) -> str:
    return _CAMEL_HUMP.sub(r"-\1", name).lower()


def camel(name: str) -> str:
    """A QTI 3 name (``response-identifier``) as QTI 2.x spells it (``responseIdentifier``)."""
    first, *rest = name.split("-")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def normalise(root: etree._Element) -> None:
    """Rename QTI 2.x into QTI 3 names and drop namespaces, in place.

    HTML loses its namespace and keeps its name; elements of other vocabularies (MathML, SSML,
    XInclude) keep their namespace, which marks them as content Vakt does not take.
    """
    for element in root.iter():
        qname = etree.QName(element)
        namespace, local = qname.namespace, qname.localname
        renamed_attributes = False
        if namespace in QTI2_NAMESPACES:
            if local in _QTI2_HTML_NAMES:
                tag = local
            else:
                tag = "qti-" + _kebab(local)
                renamed_attributes = True
        elif namespace == QTI3_NAMESPACE or namespace in HTML_NAMESPACES or namespace is None:
            tag = local
        else:
            tag = f"{{{namespace}}}{local}"
        attributes: dict[str, str] = {}
        for key, value in element.attrib.items():
            key = str(key)
            if key.startswith("{"):
                continue
            attributes[_kebab(key) if renamed_attributes else key] = str(value)
        element.attrib.clear()
        element.tag = tag
        for key, value in attributes.items():
            element.set(key, value)


def source_name(tag: str, version: str) -> str:
    """An element's name as the source file spells it, for messages."""
    if tag.startswith("{"):
        return etree.QName(tag).localname
    if version == "qti2" and tag.startswith("qti-"):
        return camel(tag.removeprefix("qti-"))
    return tag


def sanitise_identifier(value: str) -> str:
    """An item id that fits ``checks.IDENTIFIER``, made from a QTI identifier."""
    cleaned = _IDENTIFIER_CHARACTERS.sub("_", value.strip())
    if cleaned and not (cleaned[0].isascii() and (cleaned[0].isalpha() or cleaned[0] == "_")):
        cleaned = "_" + cleaned
    return cleaned[:80]


def map_language(value: str | None) -> str:
    """The document language of an ``xml:lang`` (Norwegian ``no`` is bokmål; ``nb`` if none)."""
    if not value or not value.strip():
        return "nb"
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    if primary == "no":
        return "nb"
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else "nb"


def number(value: float) -> str:
    """A number as QTI writes it: no trailing ``.0``, and exact (``repr``) otherwise."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
