"""Parsing untrusted XML: no DTD, no entities, no network, no huge trees.

Every XML file of an upload (items, manifests) is parsed here. A document type declaration or
an entity declaration refuses the whole upload (``UnsafeXml``): they are how billion-laughs and
external-entity attacks start, and no QTI file needs them.
"""

from __future__ import annotations

import codecs
from typing import Any

from lxml import etree

from vakt.errors import VaktError
from vakt.i18n import _l

MAX_XML_BYTES = 10 * 1024 * 1024
"""The largest item (or manifest) file accepted; real items are a few kilobytes."""


class UploadRefused(VaktError):
    """An upload that looks hostile or broken as a whole: nothing of it is imported, ever."""


class UnsafeXml(UploadRefused):
    """XML with a document type declaration or entities."""


class MalformedXml(VaktError):
    """XML that is not well-formed."""


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _declares_document_type(data: bytes) -> bool:
    markers = ("<!doctype", "<!entity")
    lowered = data.lower()
    if any(marker.encode() in lowered for marker in markers):
        return True
    # A document in UTF-16 or UTF-32 hides the markers from a byte search; look at its text too.
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            text = data.decode(codec, errors="ignore").lower()
            return any(marker in text for marker in markers)
    if data[:2] in (b"<\x00", b"\x00<"):
        codec = "utf-16-le" if data[:1] == b"<" else "utf-16-be"
        text = data.decode(codec, errors="ignore").lower()
        return any(marker in text for marker in markers)
    return False


def parse_xml(data: bytes, *, name: str) -> etree._Element:
    """Parse XML safely: no DTD, no entities, no network, no huge trees.

    Raises ``UnsafeXml`` for a document type declaration or entity declarations and
    ``MalformedXml`` (with line and column) for XML that is not well-formed.
    """
    if len(data) > MAX_XML_BYTES:
        raise VaktError(
            _l("The file {name} is larger than {limit} MB."),
            name=name,
            limit=MAX_XML_BYTES // (1024 * 1024),
        )
    if _declares_document_type(data):
        raise UnsafeXml(
            _l(
                "The file {name} contains a document type declaration or entities, "
                "which are not accepted."
            ),
            name=name,
        )
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise MalformedXml(
            _l("The file {name} is not well-formed XML (line {line}, column {column})."),
            name=name,
            line=line,
            column=column,
        ) from None
    # The stubs lack ``doctype``; it is the declaration as written, empty when there is none.
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXml(
            _l(
                "The file {name} contains a document type declaration or entities, "
                "which are not accepted."
            ),
            name=name,
        )
    return root
