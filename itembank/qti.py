"""IMS QTI assessment items (QTI 3.0 and 2.1/2.2): read into item documents, written from them.

Reading: the XML is parsed with a parser that neither loads DTDs nor expands entities, and any
document type declaration is refused. QTI 2.x is first renamed into QTI 3 terms
(``choiceInteraction`` becomes ``qti-choice-interaction``, ``responseIdentifier`` becomes
``response-identifier``) so that one reader serves every version. Whatever Vakt cannot represent
(other interactions, feedback, templates, custom scoring, media other than images) is reported
per item by name instead of being dropped.

Writing: what QTI has a place for goes where QTI expects it; the rest (tags, word limit, scoring
rule, points, guide criteria, oral durations, the item type) travels in an author-view rubric
block holding ``<div class="vakt-metadata">`` with JSON, and grading guides go into scorer-view
rubric blocks. The reader recognises both and takes them out again, so a round trip through QTI
gives back the same document.
"""

from __future__ import annotations

import codecs
import html
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import unquote

from babel.support import NullTranslations
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from itembank.files import safe_file_name
from itembank.schemas import (
    ALLOWED_TAGS,
    ERROR_MESSAGES,
    FIELD_LABELS,
    SKIPPED_LOCATIONS,
    Criterion,
    EssayQuestion,
    GradingGuide,
    ItemDocument,
    ItemType,
    MultipleResponseQuestion,
    OralQuestion,
    ScoringRule,
    SingleChoiceQuestion,
    validate_input,
)
from vakt.errors import VaktError
from vakt.i18n import LazyText, Message, _l
from vakt.validation import error_messages, render_message

QtiVersion = Literal["qti3", "qti21"]

QTI3_NAMESPACE = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
QTI21_NAMESPACE = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI22_NAMESPACE = "http://www.imsglobal.org/xsd/imsqti_v2p2"
_QTI2_NAMESPACES = {QTI21_NAMESPACE, QTI22_NAMESPACE, "http://www.imsglobal.org/xsd/imsqti_v2p0"}
# QTI 2.2 puts HTML5 elements (figure, video, ruby...) in a namespace of their own.
_HTML_NAMESPACES = {
    "http://www.imsglobal.org/xsd/imsqtiv2p2_html5_v1p0",
    "http://www.w3.org/1999/xhtml",
}
_XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_SCHEMA_LOCATIONS: dict[QtiVersion, str] = {
    "qti3": f"{QTI3_NAMESPACE} "
    "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0p1_v1p0.xsd",
    "qti21": f"{QTI21_NAMESPACE} http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1p2.xsd",
}
_TEMPLATE_URLS: dict[QtiVersion, str] = {
    "qti3": "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/{name}.xml",
    "qti21": "http://www.imsglobal.org/question/qti_v2p1/rptemplates/{name}",
}

MAX_XML_BYTES = 10 * 1024 * 1024
"""The largest item (or manifest) file accepted; real items are a few kilobytes."""

METADATA_VERSION = 1
"""The version of the JSON Vakt writes into its metadata block."""

# HTML that item documents keep.
_HTML_KEPT = frozenset(ALLOWED_TAGS)
# HTML whose tags the cleaner drops while the text inside still says the same thing.
_HTML_HARMLESS = {
    "acronym", "address", "article", "aside", "bdi", "bdo", "big", "col", "colgroup", "dfn",
    "footer", "header", "ins", "kbd", "label", "main", "mark", "nav", "samp", "section", "tt",
    "var", "wbr",
}  # fmt: skip
# Every XHTML name QTI 2.x uses in its own namespace; any other name there is a QTI element.
_QTI2_HTML_NAMES = _HTML_KEPT | _HTML_HARMLESS | {
    "area", "audio", "del", "map", "object", "param", "rb", "rp", "rt", "ruby", "source", "track",
    "video",
}  # fmt: skip
_VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
}  # fmt: skip
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}

_CHOICE = "qti-choice-interaction"
_EXTENDED_TEXT = "qti-extended-text-interaction"
_UPLOAD = "qti-upload-interaction"
_SUPPORTED_INTERACTIONS = {_CHOICE, _EXTENDED_TEXT, _UPLOAD}
_UNSUPPORTED_FEATURES = {
    "qti-template-declaration",
    "qti-template-processing",
    "qti-modal-feedback",
    "qti-assessment-stimulus-ref",
}
_PROCESSING_ELEMENTS = {
    "qti-response-processing", "qti-response-condition", "qti-response-if",
    "qti-response-else-if", "qti-response-else", "qti-set-outcome-value", "qti-match",
    "qti-correct", "qti-variable", "qti-map-response", "qti-base-value", "qti-sum",
    "qti-is-null", "qti-not", "qti-and", "qti-or",
}  # fmt: skip
_GUIDE_ID = "vakt-guide"
_METADATA_CLASS = "vakt-metadata"
_CRITERIA_CLASS = "vakt-criteria"
_STEM_CLASS = "vakt-stem"
_ORAL_MEDIA_TYPE = "video/webm"

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_NOT_XML_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_IDENTIFIER_CHARACTERS = re.compile(r"[^A-Za-z0-9_.\-]")


# ---- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason an item cannot be imported; the message is translated when shown."""

    message: LazyText
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, translations: NullTranslations | None = None) -> str:
        """The reason in the reader's language (English without translations)."""
        return render_message(
            Message(self.message, dict(self.params)), translations or NullTranslations()
        )

    @classmethod
    def from_error(cls, error: VaktError) -> Problem:
        """The problem a user-facing error describes."""
        return cls(error.message, dict(error.params))


@dataclass
class ParsedItem:
    """One item read from a file: its document and files, or the problems that stop it."""

    source: str
    """Where the item came from: the file name, or the path inside a package."""
    identifier: str | None = None
    """The identifier the source gives the item, as written there."""
    document: ItemDocument | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    """The content of each attachment, by the name the document uses."""
    problems: list[Problem] = field(default_factory=list)

    def add_problem(self, problem: Problem) -> None:
        """Note a problem once, however often it is found."""
        if problem not in self.problems:
            self.problems.append(problem)


class UploadRefused(VaktError):
    """An upload that looks hostile or broken as a whole: nothing of it is imported, ever."""


class UnsafeXml(UploadRefused):
    """XML with a document type declaration or entities."""


class MalformedXml(VaktError):
    """XML that is not well-formed."""


def validation_problems(error: ValidationError) -> list[Problem]:
    """One problem per place a document fails validation, naming the field as the editor does,
    in the reader's language."""
    return [
        Problem(
            _l("The item is not valid: {field}: {error}"),
            {"field": message.params["field"], "error": message.params["problem"]},
        )
        for message in error_messages(error, ERROR_MESSAGES, FIELD_LABELS, SKIPPED_LOCATIONS)
    ]


# ---- safe parsing -------------------------------------------------------------------------------


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


def item_version_of(root: etree._Element) -> Literal["qti3", "qti2"] | None:
    """Which QTI an element is the root item of, or None if it is no assessment item."""
    qname = etree.QName(root)
    if qname.namespace == QTI3_NAMESPACE and qname.localname == "qti-assessment-item":
        return "qti3"
    if qname.namespace in _QTI2_NAMESPACES and qname.localname == "assessmentItem":
        return "qti2"
    return None


# ---- names --------------------------------------------------------------------------------------


def _kebab(name: str) -> str:
    return _CAMEL_HUMP.sub(r"-\1", name).lower()


def _camel(name: str) -> str:
    first, *rest = name.split("-")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _normalise(root: etree._Element) -> None:
    """Rename QTI 2.x into QTI 3 names and drop namespaces, in place.

    HTML loses its namespace and keeps its name; elements of other vocabularies (MathML, SSML,
    XInclude) keep their namespace, which marks them as content Vakt does not take.
    """
    for element in root.iter():
        qname = etree.QName(element)
        namespace, local = qname.namespace, qname.localname
        renamed_attributes = False
        if namespace in _QTI2_NAMESPACES:
            if local in _QTI2_HTML_NAMES:
                tag = local
            else:
                tag = "qti-" + _kebab(local)
                renamed_attributes = True
        elif namespace == QTI3_NAMESPACE or namespace in _HTML_NAMESPACES or namespace is None:
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


def _source_name(tag: str, version: str) -> str:
    """An element's name as the source file spells it, for messages."""
    if tag.startswith("{"):
        return etree.QName(tag).localname
    if version == "qti2" and tag.startswith("qti-"):
        return _camel(tag.removeprefix("qti-"))
    return tag


def _classes(element: etree._Element) -> list[str]:
    return (element.get("class") or "").split()


def sanitise_identifier(value: str) -> str:
    """An item id that fits ``schemas.IDENTIFIER``, made from a QTI identifier."""
    cleaned = _IDENTIFIER_CHARACTERS.sub("_", value.strip())
    if cleaned and not (cleaned[0].isascii() and (cleaned[0].isalpha() or cleaned[0] == "_")):
        cleaned = "_" + cleaned
    return cleaned[:80]


def _map_language(value: str | None) -> str:
    if not value or not value.strip():
        return "nb"
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    if primary == "no":
        return "nb"
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else "nb"


def _number(value: float) -> str:
    """A number as QTI writes it: no trailing ``.0``, and exact (``repr``) otherwise."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# ---- tree editing -------------------------------------------------------------------------------


def _append_text(element: etree._Element, text: str) -> None:
    if not text:
        return
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


def _text_before(element: etree._Element, text: str) -> None:
    """Put text where it reads just before ``element``."""
    if not text:
        return
    previous = element.getprevious()
    parent = element.getparent()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    elif parent is not None:
        parent.text = (parent.text or "") + text


def _remove(element: etree._Element) -> None:
    """Take an element out, keeping the text that follows it (lxml drops the tail with it)."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    previous = element.getprevious()
    before = (parent.text if previous is None else previous.tail) or ""
    # Whitespace after whitespace says nothing in HTML; only keep it when it separates words.
    if tail.strip() or not before[-1:].isspace():
        _text_before(element, tail)
    element.tail = None
    parent.remove(element)


def _unwrap(element: etree._Element) -> None:
    """Replace an element by its content."""
    parent = element.getparent()
    if parent is None:
        return
    _text_before(element, element.text or "")
    children = list(element)
    index = parent.index(element)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    tail = element.tail or ""
    element.tail = None
    if children:
        children[-1].tail = (children[-1].tail or "") + tail
    else:
        _text_before(element, tail)
    parent.remove(element)


def _inside(element: etree._Element, ancestor: etree._Element) -> bool:
    node: etree._Element | None = element
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


# ---- XML content to HTML ------------------------------------------------------------------------


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _all_text(element: etree._Element) -> str:
    return "".join(_text(part) for part in element.itertext())


def _escape_text(text: str | None) -> str:
    return html.escape(text, quote=False) if text else ""


def _outer_html(element: etree._Element) -> str:
    """An element as HTML, without its tail."""
    tag = element.tag
    if not isinstance(tag, str) or tag.startswith("{") or tag.startswith("qti-"):
        # Never copy a foreign or QTI element into HTML; its text is all that can be kept.
        return _inner_html(element)
    attributes = "".join(
        f' {_text(key)}="{html.escape(_text(value), quote=True)}"'
        for key, value in element.attrib.items()
        if not _text(key).startswith("{")
    )
    if tag in _VOID_ELEMENTS:
        return f"<{tag}{attributes}>"
    return f"<{tag}{attributes}>{_inner_html(element)}</{tag}>"


def _inner_html(element: etree._Element) -> str:
    """An element's content as HTML."""
    parts = [_escape_text(element.text)]
    for child in element:
        parts.append(_outer_html(child))
        parts.append(_escape_text(child.tail))
    return "".join(parts)


# ---- HTML to XML content ------------------------------------------------------------------------


def _xml_safe(text: str) -> str:
    return _NOT_XML_CHARACTERS.sub("", text)


class _FragmentBuilder(HTMLParser):
    """Builds XML elements from an HTML fragment (the cleaned HTML of an item document)."""

    def __init__(self, container: etree._Element, namespace: str) -> None:
        super().__init__(convert_charrefs=True)
        self._namespace = namespace
        self._stack = [container]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = self._open(tag, attrs)
        if tag not in _VOID_ELEMENTS:
            self._stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._stack) - 1, 0, -1):
            if etree.QName(self._stack[depth]).localname == tag:
                del self._stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        _append_text(self._stack[-1], _xml_safe(data))

    def _open(self, tag: str, attrs: list[tuple[str, str | None]]) -> etree._Element:
        element = etree.SubElement(self._stack[-1], f"{{{self._namespace}}}{tag}")
        for name, value in attrs:
            if _XML_NAME.match(name):
                element.set(name, _xml_safe(value or ""))
        return element


def _append_html(container: etree._Element, fragment: str, namespace: str) -> None:
    builder = _FragmentBuilder(container, namespace)
    builder.feed(fragment)
    builder.close()


# ---- metadata -----------------------------------------------------------------------------------


class _QuestionMetadata(BaseModel):
    model_config = ConfigDict(extra="ignore")

    points: float | None = None
    scoring: ScoringRule | None = None
    derived_mapping: bool = False
    """The QTI mapping was written only so other systems score per option; Vakt ignores it."""
    mapping_default: float | None = None
    lower_bound: float | None = None
    upper_bound: float | None = None
    word_limit: int | None = None
    preparation_seconds: int | None = None
    max_duration_seconds: int | None = None
    criteria: list[Criterion] = Field(default_factory=list)


class _ItemMetadata(BaseModel):
    model_config = ConfigDict(extra="ignore")

    vakt: int
    type: ItemType | None = None
    language: str | None = None
    tags: list[str] = Field(default_factory=list)
    attachments: list[str] = Field(default_factory=list)
    criteria: list[Criterion] = Field(default_factory=list)
    questions: dict[str, _QuestionMetadata] = Field(default_factory=dict)


def _metadata_of(document: ItemDocument, derived: set[str]) -> _ItemMetadata:
    questions: dict[str, _QuestionMetadata] = {}
    for question in document.questions:
        entry = _QuestionMetadata(points=question.points)
        if isinstance(question, MultipleResponseQuestion):
            entry.scoring = question.scoring
            if not question.mapping:
                entry.mapping_default = question.mapping_default
                entry.lower_bound = question.lower_bound
                entry.upper_bound = question.upper_bound
            entry.derived_mapping = question.id in derived
        if isinstance(question, EssayQuestion):
            entry.word_limit = question.word_limit
            entry.criteria = list(question.guide.criteria)
        if isinstance(question, OralQuestion):
            entry.preparation_seconds = question.preparation_seconds
            entry.max_duration_seconds = question.max_duration_seconds
            entry.criteria = list(question.guide.criteria)
        questions[question.id] = entry
    return _ItemMetadata(
        vakt=METADATA_VERSION,
        type=document.type,
        language=document.language,
        tags=list(document.tags),
        attachments=list(document.attachments),
        criteria=list(document.guide.criteria),
        questions=questions,
    )


# ---- reading ------------------------------------------------------------------------------------


def parse_item(
    data: bytes,
    *,
    source: str,
    read_file: Callable[[str], bytes | None] | None = None,
) -> ParsedItem:
    """Read one QTI 3.0 or 2.1/2.2 assessment item into an item document.

    ``source`` is the item's file name, or its path inside a package; files the item uses are
    looked up relative to it with ``read_file`` (None for a lone file, which has no files).
    Problems that stop the item are listed in the result; unsafe XML (or a damaged package
    behind ``read_file``) raises ``UploadRefused``.
    """
    parsed = ParsedItem(source=source)
    try:
        root = parse_xml(data, name=source)
    except UploadRefused:
        raise
    except VaktError as exc:
        parsed.add_problem(Problem.from_error(exc))
        return parsed
    _ItemReader(root, parsed, read_file).read()
    return parsed


@dataclass
class _Interaction:
    element: etree._Element
    response: str
    question: dict[str, Any]


class _ItemReader:
    """Reads one parsed item into ``ParsedItem``; each step notes its problems and goes on."""

    def __init__(
        self,
        root: etree._Element,
        parsed: ParsedItem,
        read_file: Callable[[str], bytes | None] | None,
    ) -> None:
        self.root = root
        self.parsed = parsed
        self.read_file = read_file
        self.version: str = "qti3"
        self.metadata: _ItemMetadata | None = None
        self.item_notes: list[str] = []
        self.question_notes: dict[str, list[str]] = {}
        self.other_notes: list[str] = []
        self.attachments: list[str] = []

    def problem(self, message: LazyText, **params: Any) -> None:
        self.parsed.add_problem(Problem(message, params))

    def name(self, tag: str) -> str:
        return _source_name(tag, self.version)

    # -- the steps

    def read(self) -> None:
        root = self.root
        version = item_version_of(root)
        if version is None:
            self.problem(
                _l("The file {name} is not a QTI assessment item."), name=self.parsed.source
            )
            return
        self.version = version
        raw_identifier = (root.get("identifier") or "").strip()
        self.parsed.identifier = raw_identifier or None
        language = root.get(_XML_LANG)
        _normalise(root)
        if not raw_identifier:
            self.problem(_l("The item has no identifier."))
        if (root.get("adaptive") or "").strip() == "true":
            self.problem(_l("Adaptive items are not supported."))
        for child in root:
            if child.tag in _UNSUPPORTED_FEATURES:
                self.problem(_l("Unsupported feature: {name}"), name=self.name(child.tag))
        body = root.find("qti-item-body")
        if body is None:
            self.problem(_l("The item has no item body."))
            return
        interactions = self.check_body(body)
        self.convert_objects(body)
        # Files first, so references inside guides are resolved before guides leave the body.
        self.collect_files(body)
        self.extract_rubrics(body)
        if self.metadata is not None:
            base = posixpath.dirname(self.parsed.source)
            for name in self.metadata.attachments:
                self.attachment(name, base)
        declarations = {
            (declaration.get("identifier") or ""): declaration
            for declaration in root.findall("qti-response-declaration")
        }
        kinds = self.analyse_processing(root.find("qti-response-processing"), set(declarations))
        if self.parsed.problems:
            return
        if not interactions:
            self.problem(_l("The item has no interaction, so it asks nothing."))
            return
        read = self.read_interactions(interactions, declarations, kinds)
        if self.parsed.problems:
            return
        self.build(body, read, sanitise_identifier(raw_identifier), language)

    def check_body(self, body: etree._Element) -> list[etree._Element]:
        """Find the interactions; report every interaction and element Vakt cannot take."""
        interactions: list[etree._Element] = []

        def visit(element: etree._Element, interaction: str | None) -> None:
            for child in element:
                tag = child.tag
                if not isinstance(tag, str):
                    continue
                if tag in _SUPPORTED_INTERACTIONS:
                    if tag == _UPLOAD and not (child.get("type") or "").startswith("video/"):
                        self.problem(_l("Unsupported interaction: {name}"), name=self.name(tag))
                        continue
                    interactions.append(child)
                    visit(child, tag)
                elif tag.endswith("-interaction") or tag == "qti-position-object-stage":
                    self.problem(_l("Unsupported interaction: {name}"), name=self.name(tag))
                elif tag in ("qti-stylesheet", "qti-catalog-info"):
                    # Styles are dropped anyway; catalogs hold alternative renderings (sign
                    # language, read-aloud), not the content itself.
                    continue
                elif tag in ("qti-rubric-block", "qti-content-body"):
                    visit(child, interaction)
                elif (interaction is not None and tag == "qti-prompt") or (
                    interaction == _CHOICE and tag == "qti-simple-choice"
                ):
                    visit(child, None)
                elif tag in _HTML_KEPT or tag in _HTML_HARMLESS or tag in ("object", "param"):
                    visit(child, interaction)
                else:
                    self.problem(_l("Unsupported content: {name}"), name=self.name(tag))

        visit(body, None)
        return interactions

    def convert_objects(self, body: etree._Element) -> None:
        """Turn ``object`` images into ``img``; fall back to an object's images otherwise."""
        for obj in list(body.iter("object")):
            if not _inside(obj, body):
                continue
            data = (obj.get("data") or "").strip()
            media_type = (obj.get("type") or "").strip().lower()
            if not media_type:
                media_type = _IMAGE_TYPES.get(posixpath.splitext(data.lower())[1], "")
            if data and media_type in _IMAGE_TYPES.values():
                image = etree.Element("img")
                image.set("src", data)
                alt = " ".join(_all_text(obj).split())
                if alt:
                    image.set("alt", alt[:1000])
                for size in ("width", "height"):
                    if obj.get(size):
                        image.set(size, obj.get(size) or "")
                image.tail = obj.tail
                obj.tail = None
                parent = obj.getparent()
                if parent is not None:
                    parent.replace(obj, image)
            elif any(child.tag in ("object", "img") for child in obj.iterdescendants()):
                for parameter in obj.findall("param"):
                    _remove(parameter)
                _unwrap(obj)
            else:
                self.problem(
                    _l("Unsupported media: {name} ({media_type})"),
                    name=data or "object",
                    media_type=media_type or "?",
                )

    def extract_rubrics(self, body: etree._Element) -> None:
        """Keep candidate rubrics in the content; move every other view into a grading guide."""
        for rubric in list(body.iter("qti-rubric-block")):
            if not _inside(rubric, body):
                continue
            for extra in list(rubric.iter("qti-stylesheet", "qti-catalog-info")):
                _remove(extra)
            marker = next(
                (div for div in rubric.iter("div") if _METADATA_CLASS in _classes(div)), None
            )
            if marker is not None:
                self.read_metadata(marker)
                _remove(rubric)
                continue
            views = set((rubric.get("view") or "").split())
            content = rubric.find("qti-content-body")
            if "candidate" in views:
                if content is not None:
                    _unwrap(content)
                _unwrap(rubric)
                continue
            holder = rubric if content is None else content
            for criteria in [div for div in holder if _CRITERIA_CLASS in _classes(div)]:
                _remove(criteria)
            notes = _inner_html(holder).strip()
            rubric_id = rubric.get("id") or ""
            if rubric_id == _GUIDE_ID:
                self.item_notes.append(notes)
            elif rubric_id.startswith(_GUIDE_ID + "-"):
                question = rubric_id.removeprefix(_GUIDE_ID + "-")
                self.question_notes.setdefault(question, []).append(notes)
            elif notes:
                label = "-".join(sorted(views)) or "unknown"
                self.other_notes.append(f'<div class="rubric-{label}">{notes}</div>')
            _remove(rubric)

    def read_metadata(self, marker: etree._Element) -> None:
        text = marker.get("data-vakt") or _all_text(marker)
        try:
            self.metadata = _ItemMetadata.model_validate(json.loads(text))
        except (ValueError, RecursionError):
            self.problem(_l("The Vakt metadata in the item cannot be read."))

    def collect_files(self, body: etree._Element) -> None:
        """Resolve the files the content refers to; rewrite references to attachment names."""
        base = posixpath.dirname(self.parsed.source)
        for element in body.iter("img", "a"):
            attribute = "src" if element.tag == "img" else "href"
            reference = (element.get(attribute) or "").strip()
            if not reference:
                continue
            if attribute == "href" and (
                reference.startswith("#")
                or reference.lower().startswith(("http:", "https:", "mailto:"))
            ):
                continue
            name = self.attachment(reference, base)
            if name is not None:
                element.set(attribute, name)

    def attachment(self, reference: str, base: str) -> str | None:
        """The attachment name of a reference (its file read), or None after a problem."""
        if _URL_SCHEME.match(reference) or reference.startswith(("/", "\\")):
            self.problem(
                _l("The item refers to {src}, which is outside the package."), src=reference[:200]
            )
            return None
        relative = unquote(reference.split("#", 1)[0].split("?", 1)[0])
        in_package = posixpath.normpath(posixpath.join(base, relative))
        if (
            relative.startswith("/")
            or "\\" in relative
            or in_package == ".."
            or in_package.startswith("../")
        ):
            self.problem(
                _l("The item refers to {src}, which is outside the package."), src=reference[:200]
            )
            return None
        beside_item = posixpath.relpath(in_package, base) if base else in_package
        name = in_package if beside_item.startswith("..") else beside_item
        try:
            name = safe_file_name(name)
        except VaktError as exc:
            self.parsed.add_problem(Problem.from_error(exc))
            return None
        if name in self.parsed.files:
            return name
        content: bytes | None = None
        if self.read_file is not None:
            try:
                content = self.read_file(in_package)
            except UploadRefused:
                raise
            except VaktError as exc:
                self.parsed.add_problem(Problem.from_error(exc))
                return None
        if content is None:
            if self.read_file is None:
                self.problem(
                    _l(
                        "The item uses the file {name}, which is not in the upload. Import the "
                        "item in a content package (zip) together with its files."
                    ),
                    name=name,
                )
            else:
                self.problem(
                    _l("The item uses the file {name}, which is not in the package."), name=name
                )
            return None
        self.parsed.files[name] = content
        self.attachments.append(name)
        return name

    def analyse_processing(
        self, processing: etree._Element | None, responses: set[str]
    ) -> dict[str, str]:
        """How the response processing scores each response: ``match`` or ``map``.

        Only what a correct response or a mapping can say is accepted: the standard templates,
        or custom rules that compare a response with its correct response or map it.
        """
        if processing is None:
            return {}
        if len(processing) == 0:
            template = (processing.get("template") or "").strip()
            if not template:
                return {}
            name = template.rstrip("/").rsplit("/", 1)[-1].removesuffix(".xml")
            if name == "match_correct":
                return {"RESPONSE": "match"}
            if name == "map_response":
                return {"RESPONSE": "map"}
            self.problem(
                _l("Unsupported response processing template: {template}"), template=template
            )
            return {}
        kinds: dict[str, str] = {}
        # Each kind of obstacle is collected and reported once, naming everything it concerns.
        unknown: dict[str, None] = {}
        outcomes: dict[str, None] = {}
        variables: dict[str, None] = {}
        compared: dict[str, None] = {}
        for element in processing.iter():
            tag = element.tag
            if not isinstance(tag, str):
                continue
            if tag not in _PROCESSING_ELEMENTS:
                unknown[self.name(tag)] = None
                continue
            identifier = element.get("identifier") or ""
            if tag == "qti-set-outcome-value" and identifier != "SCORE":
                outcomes[identifier] = None
            elif tag == "qti-variable" and identifier not in responses | {"SCORE"}:
                variables[identifier] = None
            elif tag == "qti-match":
                operands = [(child.tag, child.get("identifier") or "") for child in element]
                tags = sorted(operand[0] for operand in operands)
                names = {operand[1] for operand in operands}
                if tags == ["qti-correct", "qti-variable"] and len(names) == 1:
                    kinds[names.pop()] = "match"
                else:
                    response = next(
                        (name for kind, name in operands if kind == "qti-variable"), "?"
                    )
                    compared[response] = None
            elif tag == "qti-map-response":
                kinds[identifier] = "map"
        if compared:
            self.problem(
                _l(
                    "Custom response processing that cannot be expressed: it compares "
                    "{responses} with fixed values instead of the correct response."
                ),
                responses=", ".join(compared),
            )
        if outcomes:
            self.problem(
                _l(
                    "Custom response processing that cannot be expressed: "
                    "it sets the outcomes {outcomes}."
                ),
                outcomes=", ".join(outcomes),
            )
        if variables:
            self.problem(
                _l("Custom response processing that cannot be expressed: it reads {variables}."),
                variables=", ".join(variables),
            )
        if unknown:
            self.problem(
                _l(
                    "Custom response processing that cannot be expressed as a correct response "
                    "or a mapping: it uses {elements}."
                ),
                elements=", ".join(unknown),
            )
        return kinds

    # -- interactions

    def read_interactions(
        self,
        elements: list[etree._Element],
        declarations: dict[str, etree._Element],
        kinds: dict[str, str],
    ) -> list[_Interaction]:
        read: list[_Interaction] = []
        seen: set[str] = set()
        normal_maximum = self.normal_maximum()
        for element in elements:
            response = (element.get("response-identifier") or "").strip()
            declaration = declarations.get(response)
            if declaration is None:
                self.problem(
                    _l("The interaction {name} has no response declaration for {response}."),
                    name=self.name(element.tag),
                    response=response or "?",
                )
                continue
            if response in seen:
                self.problem(_l("Two interactions use the response {response}."), response=response)
                continue
            seen.add(response)
            prompt = element.find("qti-prompt")
            question: dict[str, Any] = {
                "id": response,
                "prompt_html": "" if prompt is None else _inner_html(prompt).strip(),
            }
            if element.tag == _CHOICE:
                self.read_choice(element, declaration, kinds.get(response), question)
            elif element.tag == _EXTENDED_TEXT:
                question["type"] = "essay"
                expected = self.integer(element.get("expected-length"), "expected-length")
                if expected:
                    question["expected_length"] = expected
            else:
                question["type"] = "oral"
            read.append(_Interaction(element, response, question))
        for entry in read:
            entry.question["points"] = self.points(entry, len(read), normal_maximum)
        return read

    def read_choice(
        self,
        element: etree._Element,
        declaration: etree._Element,
        kind: str | None,
        question: dict[str, Any],
    ) -> None:
        response = question["id"]
        question["choices"] = [
            {"id": (choice.get("identifier") or "").strip(), "html": _inner_html(choice).strip()}
            for choice in element.findall("qti-simple-choice")
        ]
        question["shuffle"] = (element.get("shuffle") or "").strip() == "true"
        correct = [
            (value.text or "").strip()
            for value in declaration.findall("qti-correct-response/qti-value")
        ]
        mapping, default, lower, upper = self.mapping(declaration)
        meta = self.question_metadata(response)
        if (declaration.get("cardinality") or "single") == "single":
            question["type"] = "single_choice"
            if len(correct) != 1:
                if not correct:
                    self.problem(
                        _l(
                            "The question {response} has no correct response, "
                            "so it cannot be scored."
                        ),
                        response=response,
                    )
                else:
                    self.problem(
                        _l(
                            "The question {response} allows one answer "
                            "but names {count} correct responses."
                        ),
                        response=response,
                        count=len(correct),
                    )
                return
            question["correct"] = correct[0]
            if kind == "map" and any(
                value > 0 for key, value in mapping.items() if key != correct[0]
            ):
                self.problem(
                    _l(
                        "The single-choice question {response} gives partial credit, "
                        "which is not supported."
                    ),
                    response=response,
                )
            return
        question["type"] = "multiple_response"
        if not correct:
            self.problem(
                _l("The question {response} has no correct response, so it cannot be scored."),
                response=response,
            )
            return
        question["correct"] = correct
        max_choices = self.integer(element.get("max-choices"), "max-choices")
        question["max_choices"] = 1 if max_choices is None else max_choices  # 1 is QTI's default
        if meta is not None and meta.derived_mapping:
            mapping, default, lower, upper = {}, 0.0, None, None
        if meta is not None and not mapping:
            default = meta.mapping_default if meta.mapping_default is not None else default
            lower, upper = meta.lower_bound, meta.upper_bound
        question.update(
            mapping=mapping, mapping_default=default, lower_bound=lower, upper_bound=upper
        )
        if meta is not None and meta.scoring is not None:
            question["scoring"] = meta.scoring.value
        elif kind == "map":
            if not mapping:
                self.problem(
                    _l("The question {response} is scored by its mapping, but it has none."),
                    response=response,
                )
            question["scoring"] = ScoringRule.MAPPED.value
        elif kind == "match":
            question["scoring"] = ScoringRule.ALL_OR_NOTHING.value
        else:
            question["scoring"] = (ScoringRule.MAPPED if mapping else ScoringRule.PER_OPTION).value

    def mapping(
        self, declaration: etree._Element
    ) -> tuple[dict[str, float], float, float | None, float | None]:
        element = declaration.find("qti-mapping")
        if element is None:
            return {}, 0.0, None, None
        values: dict[str, float] = {}
        for entry in element.findall("qti-map-entry"):
            key = (entry.get("map-key") or "").strip()
            value = self.decimal(entry.get("mapped-value"), "mapped-value")
            if key and value is not None:
                values[key] = value
        default = self.decimal(element.get("default-value"), "default-value") or 0.0
        lower = self.decimal(element.get("lower-bound"), "lower-bound")
        upper = self.decimal(element.get("upper-bound"), "upper-bound")
        return values, default, lower, upper

    def normal_maximum(self) -> float | None:
        for outcome in self.root.findall("qti-outcome-declaration"):
            if outcome.get("identifier") == "SCORE":
                value = self.decimal(outcome.get("normal-maximum"), "normal-maximum")
                return value if value is not None and value > 0 else None
        return None

    def points(self, entry: _Interaction, count: int, normal_maximum: float | None) -> float:
        meta = self.question_metadata(entry.response)
        if meta is not None and meta.points is not None:
            return meta.points
        if normal_maximum is not None:
            # The outcome bounds the whole item; shared equally when it holds several questions.
            return normal_maximum / count
        upper = entry.question.get("upper_bound")
        if entry.question.get("mapping") and isinstance(upper, float) and upper > 0:
            return upper
        return 1.0

    def question_metadata(self, response: str) -> _QuestionMetadata | None:
        return None if self.metadata is None else self.metadata.questions.get(response)

    def decimal(self, value: str | None, where: str) -> float | None:
        if value is None or not value.strip():
            return None
        try:
            return float(value)
        except ValueError:
            self.problem(
                _l("The value {value} of {where} is not a number."), value=value[:40], where=where
            )
            return None

    def integer(self, value: str | None, where: str) -> int | None:
        if value is None or not value.strip():
            return None
        try:
            return int(value)
        except ValueError:
            self.problem(
                _l("The value {value} of {where} is not a number."), value=value[:40], where=where
            )
            return None

    # -- the document

    def split_content(
        self, body: etree._Element, interactions: list[_Interaction]
    ) -> tuple[str, list[str]]:
        """The stem, and the content that leads into each question.

        When the interactions sit directly in the body, content between two of them introduces
        the second; the rest is the stem. Otherwise everything around them is the stem.
        """
        for div in [child for child in body if child.tag == "div"]:
            if _classes(div) == [_STEM_CLASS]:
                _unwrap(div)
        leads = [""] * len(interactions)
        if not all(entry.element.getparent() is body for entry in interactions):
            for entry in interactions:
                parent = entry.element.getparent()
                _remove(entry.element)
                while parent is not None and parent is not body and len(parent) == 0:
                    if (parent.text or "").strip():
                        break
                    grandparent = parent.getparent()
                    _remove(parent)
                    parent = grandparent
            return _inner_html(body), leads
        positions = {id(entry.element): index for index, entry in enumerate(interactions)}
        segments: list[list[str]] = [[_escape_text(body.text)]]
        for child in body:
            if id(child) in positions:
                segments.append([])
            else:
                segments[-1].append(_outer_html(child))
            segments[-1].append(_escape_text(child.tail))
        texts = ["".join(segment) for segment in segments]
        for index in range(1, len(interactions)):
            leads[index] = texts[index]
        return texts[0] + texts[-1], leads

    def build(
        self,
        body: etree._Element,
        interactions: list[_Interaction],
        external_id: str,
        xml_lang: str | None,
    ) -> None:
        stem, leads = self.split_content(body, interactions)
        meta = self.metadata
        questions: list[dict[str, Any]] = []
        for entry, lead in zip(interactions, leads, strict=True):
            question = entry.question
            if lead.strip():
                question["prompt_html"] = lead.strip() + question["prompt_html"]
            question_meta = self.question_metadata(entry.response)
            if question["type"] in ("essay", "oral"):
                notes = "".join(self.question_notes.pop(entry.response, []))
                criteria = [] if question_meta is None else question_meta.criteria
                question["guide"] = {"criteria": criteria, "notes_html": notes}
            if question_meta is not None:
                if question["type"] == "essay" and question_meta.word_limit is not None:
                    question["word_limit"] = question_meta.word_limit
                if question["type"] == "oral":
                    for key in ("preparation_seconds", "max_duration_seconds"):
                        if getattr(question_meta, key) is not None:
                            question[key] = getattr(question_meta, key)
            questions.append(question)
        if meta is not None and meta.type is not None:
            item_type = meta.type.value
        elif len(questions) == 1:
            item_type = questions[0]["type"]
        else:
            item_type = ItemType.CASE.value
        # A guide marked for a question that cannot hold one goes to the item. Rubrics written
        # by other systems belong to the lone essay or oral question if there is one, since
        # that is where graders look, and otherwise to the item.
        leftover = [notes for notes_list in self.question_notes.values() for notes in notes_list]
        item_notes = self.item_notes + leftover
        if len(questions) == 1 and questions[0]["type"] in ("essay", "oral"):
            questions[0]["guide"]["notes_html"] += "".join(self.other_notes)
        else:
            item_notes += self.other_notes
        mapped_language = _map_language(xml_lang)
        language = mapped_language
        if meta is not None and meta.language and _map_language(meta.language) == mapped_language:
            language = meta.language
        attachments = (
            [] if meta is None else [n for n in meta.attachments if n in self.parsed.files]
        )
        attachments += [name for name in self.attachments if name not in attachments]
        document = {
            "external_id": external_id,
            "title": (self.root.get("title") or "").strip() or external_id,
            "type": item_type,
            "language": language,
            "tags": [] if meta is None else meta.tags,
            "stem_html": stem.strip(),
            "questions": questions,
            "guide": {
                "criteria": [] if meta is None else meta.criteria,
                "notes_html": "".join(item_notes),
            },
            "attachments": attachments,
        }
        try:
            self.parsed.document = validate_input(document)
        except ValidationError as exc:
            for problem in validation_problems(exc):
                self.parsed.add_problem(problem)


# ---- writing ------------------------------------------------------------------------------------


class _Writer:
    """Writes one item document as QTI 3.0 or 2.1; element names are given in QTI 3 terms."""

    def __init__(self, version: QtiVersion) -> None:
        self.version = version
        self.namespace = QTI3_NAMESPACE if version == "qti3" else QTI21_NAMESPACE

    def tag(self, name: str) -> str:
        if self.version == "qti21" and name.startswith("qti-"):
            name = _camel(name.removeprefix("qti-"))
        return f"{{{self.namespace}}}{name}"

    def element(
        self, parent: etree._Element, name: str, attributes: Mapping[str, str | None] | None = None
    ) -> etree._Element:
        element = etree.SubElement(parent, self.tag(name))
        for key, value in (attributes or {}).items():
            if value is not None:
                element.set(key if self.version == "qti3" else _camel(key), value)
        return element

    def content_holder(self, rubric: etree._Element) -> etree._Element:
        """Where a rubric block's content goes (QTI 3 wants a content body)."""
        if self.version == "qti3":
            return self.element(rubric, "qti-content-body")
        return rubric

    def write(self, document: ItemDocument) -> bytes:
        root = etree.Element(
            self.tag("qti-assessment-item"),
            nsmap={None: self.namespace, "xsi": _XSI_NAMESPACE},  # type: ignore[dict-item]
        )
        root.set(f"{{{_XSI_NAMESPACE}}}schemaLocation", _SCHEMA_LOCATIONS[self.version])
        root.set("identifier", document.external_id)
        root.set("title", _xml_safe(document.title))
        root.set("adaptive", "false")
        root.set("timeDependent" if self.version == "qti21" else "time-dependent", "false")
        root.set(_XML_LANG, document.language)
        derived: set[str] = set()
        for question in document.questions:
            self.declaration(root, question, derived)
        human = all(isinstance(q, EssayQuestion | OralQuestion) for q in document.questions)
        self.element(
            root,
            "qti-outcome-declaration",
            {
                "identifier": "SCORE",
                "cardinality": "single",
                "base-type": "float",
                "normal-maximum": _number(document.max_points),
                "external-scored": "human" if human and self.version == "qti3" else None,
            },
        )
        body = self.element(root, "qti-item-body")
        if document.stem_html:
            stem = self.element(body, "div", {"class": _STEM_CLASS})
            _append_html(stem, document.stem_html, self.namespace)
        for question in document.questions:
            self.interaction(body, question)
        for question in document.questions:
            if isinstance(question, EssayQuestion | OralQuestion) and not question.guide.is_empty:
                self.guide(body, question.guide, f"{_GUIDE_ID}-{question.id}")
        if not document.guide.is_empty:
            self.guide(body, document.guide, _GUIDE_ID)
        self.metadata(body, _metadata_of(document, derived))
        self.processing(root, document)
        _lay_out(root)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def declaration(
        self,
        root: etree._Element,
        question: SingleChoiceQuestion | MultipleResponseQuestion | EssayQuestion | OralQuestion,
        derived: set[str],
    ) -> None:
        base_type = {"essay": "string", "oral": "file"}.get(question.type, "identifier")
        cardinality = "multiple" if question.type == "multiple_response" else "single"
        declaration = self.element(
            root,
            "qti-response-declaration",
            {"identifier": question.id, "cardinality": cardinality, "base-type": base_type},
        )
        if isinstance(question, SingleChoiceQuestion):
            correct = self.element(declaration, "qti-correct-response")
            self.element(correct, "qti-value").text = question.correct
        if not isinstance(question, MultipleResponseQuestion):
            return
        correct = self.element(declaration, "qti-correct-response")
        for value in question.correct:
            self.element(correct, "qti-value").text = value
        if question.mapping:
            entries = question.mapping
            default, lower, upper = (
                question.mapping_default,
                question.lower_bound,
                question.upper_bound,
            )
        elif question.scoring is ScoringRule.PER_OPTION:
            # Per-option scoring is a mapping in QTI terms; written so other systems score alike.
            unit = question.points / len(question.correct)
            entries = dict.fromkeys(question.correct, unit)
            default, lower, upper = -unit, 0.0, question.points
            derived.add(question.id)
        else:
            return
        mapping = self.element(
            declaration,
            "qti-mapping",
            {
                "default-value": _number(default),
                "lower-bound": None if lower is None else _number(lower),
                "upper-bound": None if upper is None else _number(upper),
            },
        )
        for key, mapped in entries.items():
            self.element(
                mapping, "qti-map-entry", {"map-key": key, "mapped-value": _number(mapped)}
            )

    def prompt(self, interaction: etree._Element, prompt_html: str) -> None:
        if prompt_html:
            _append_html(self.element(interaction, "qti-prompt"), prompt_html, self.namespace)

    def interaction(
        self,
        body: etree._Element,
        question: SingleChoiceQuestion | MultipleResponseQuestion | EssayQuestion | OralQuestion,
    ) -> None:
        if isinstance(question, SingleChoiceQuestion | MultipleResponseQuestion):
            max_choices = 1 if isinstance(question, SingleChoiceQuestion) else question.max_choices
            interaction = self.element(
                body,
                _CHOICE,
                {
                    "response-identifier": question.id,
                    "shuffle": "true" if question.shuffle else "false",
                    "max-choices": str(max_choices),
                },
            )
            self.prompt(interaction, question.prompt_html)
            for choice in question.choices:
                option = self.element(interaction, "qti-simple-choice", {"identifier": choice.id})
                _append_html(option, choice.html, self.namespace)
        elif isinstance(question, EssayQuestion):
            interaction = self.element(
                body,
                _EXTENDED_TEXT,
                {
                    "response-identifier": question.id,
                    "expected-length": None
                    if question.expected_length is None
                    else str(question.expected_length),
                },
            )
            self.prompt(interaction, question.prompt_html)
        else:
            interaction = self.element(
                body, _UPLOAD, {"response-identifier": question.id, "type": _ORAL_MEDIA_TYPE}
            )
            self.prompt(interaction, question.prompt_html)

    def guide(self, body: etree._Element, guide: GradingGuide, identifier: str) -> None:
        rubric = self.element(
            body, "qti-rubric-block", {"id": identifier, "view": "scorer", "use": "scoring"}
        )
        holder = self.content_holder(rubric)
        if guide.notes_html:
            _append_html(holder, guide.notes_html, self.namespace)
        if guide.criteria:
            # For people reading the file; the metadata block is what Vakt reads back.
            listing = etree.SubElement(holder, self.tag("div"))
            listing.set("class", _CRITERIA_CLASS)
            items = etree.SubElement(listing, self.tag("ol"))
            for criterion in guide.criteria:
                item = etree.SubElement(items, self.tag("li"))
                etree.SubElement(item, self.tag("strong")).text = _xml_safe(criterion.name)
                _append_text(item, f" ({_number(criterion.max_points)}) ")
                _append_html(item, criterion.description_html, self.namespace)

    def metadata(self, body: etree._Element, metadata: _ItemMetadata) -> None:
        rubric = self.element(body, "qti-rubric-block", {"view": "author", "use": "instructions"})
        holder = self.content_holder(rubric)
        marker = etree.SubElement(holder, self.tag("div"))
        marker.set("class", _METADATA_CLASS)
        text = json.dumps(
            metadata.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        # QTI 3 allows data-* attributes on HTML; QTI 2.1 does not, so there it is the text.
        if self.version == "qti3":
            marker.set("data-vakt", _xml_safe(text))
        else:
            marker.text = _xml_safe(text)

    def processing(self, root: etree._Element, document: ItemDocument) -> None:
        scored: list[tuple[str, str, float]] = []
        for question in document.questions:
            if isinstance(question, SingleChoiceQuestion):
                scored.append((question.id, "match", question.points))
            elif isinstance(question, MultipleResponseQuestion):
                mapped = question.scoring is not ScoringRule.ALL_OR_NOTHING
                scored.append((question.id, "map" if mapped else "match", question.points))
        if not scored:
            return
        if len(document.questions) == 1 and scored[0][0] == "RESPONSE":
            name = "map_response" if scored[0][1] == "map" else "match_correct"
            self.element(
                root,
                "qti-response-processing",
                {"template": _TEMPLATE_URLS[self.version].format(name=name)},
            )
            return
        processing = self.element(root, "qti-response-processing")
        for response, kind, points in scored:
            if kind == "match":
                condition = self.element(processing, "qti-response-condition")
                branch = self.element(condition, "qti-response-if")
                match = self.element(branch, "qti-match")
                self.element(match, "qti-variable", {"identifier": response})
                self.element(match, "qti-correct", {"identifier": response})
                target = self.element(branch, "qti-set-outcome-value", {"identifier": "SCORE"})
                total = self.element(target, "qti-sum")
                self.element(total, "qti-variable", {"identifier": "SCORE"})
                value = self.element(total, "qti-base-value", {"base-type": "float"})
                value.text = _number(points)
            else:
                target = self.element(processing, "qti-set-outcome-value", {"identifier": "SCORE"})
                total = self.element(target, "qti-sum")
                self.element(total, "qti-variable", {"identifier": "SCORE"})
                self.element(total, "qti-map-response", {"identifier": response})


def _lay_out(root: etree._Element) -> None:
    """Indent the structure for people reading the file, never inside content.

    Whitespace between the body's children and between an interaction's children is not
    content on reading; whitespace inside a prompt, a choice or a rubric would be.
    """
    root.text = "\n  "
    for child in root:
        child.tail = "\n  "
        if etree.QName(child).localname in ("itemBody", "qti-item-body"):
            child.text = "\n    "
            for part in child:
                part.tail = "\n    "
                name = etree.QName(part).localname
                if name.endswith("Interaction") or name.endswith("-interaction"):
                    part.text = "\n      "
                    for option in part:
                        option.tail = "\n      "
                    if len(part):
                        part[-1].tail = "\n    "
            if len(child):
                child[-1].tail = "\n  "
        else:
            etree.indent(child, space="  ", level=1)
    if len(root):
        root[-1].tail = "\n"


def write_item(document: ItemDocument, *, version: QtiVersion = "qti3") -> bytes:
    """The item as a QTI 3.0 (``qti3``) or QTI 2.1 (``qti21``) assessment item file.

    Attachments keep their names as relative paths, so the files belong beside the item file.
    """
    return _Writer(version).write(document)
