"""Reading one QTI 3.0 or 2.1/2.2 assessment item into an item document.

The XML is parsed safely (``safe_xml``) and QTI 2.x is renamed into QTI 3 terms (``names``), so
that one reader serves every version. Whatever Vakt cannot represent (other interactions,
feedback, templates, custom scoring, media other than images) is reported per item by name
instead of being dropped. What the item asks and how it scores is read by ``responses``.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from lxml import etree
from pydantic import ValidationError

from itembank.files import safe_file_name
from itembank.qti.content import (
    HTML_HARMLESS,
    HTML_KEPT,
    all_text,
    escape_text,
    inner_html,
    outer_html,
)
from itembank.qti.metadata import (
    CRITERIA_CLASS,
    GUIDE_ID,
    METADATA_CLASS,
    STEM_CLASS,
    ItemMetadata,
    question_metadata,
)
from itembank.qti.names import (
    CHOICE,
    EXTENDED_TEXT,
    UPLOAD,
    XML_LANG,
    item_version_of,
    map_language,
    normalise,
    sanitise_identifier,
    source_name,
)
from itembank.qti.responses import Interaction, ResponseReader
from itembank.qti.results import ParsedItem, Problem, validation_problems
from itembank.qti.safe_xml import UploadRefused, parse_xml
from itembank.qti.tree import classes, inside, remove, unwrap
from itembank.schemas import ItemType, validate_input
from vakt.errors import VaktError
from vakt.i18n import LazyText, _l

_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
_SUPPORTED_INTERACTIONS = {CHOICE, EXTENDED_TEXT, UPLOAD}
_UNSUPPORTED_FEATURES = {
    "qti-template-declaration",
    "qti-template-processing",
    "qti-modal-feedback",
    "qti-assessment-stimulus-ref",
}
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_GRADED_BY_PEOPLE = (ItemType.ESSAY, ItemType.ORAL)
"""Question types with a grading guide."""


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
        self.metadata: ItemMetadata | None = None
        self.item_notes: list[str] = []
        self.question_notes: dict[str, list[str]] = {}
        self.other_notes: list[str] = []
        self.attachments: list[str] = []

    def problem(self, message: LazyText, **params: Any) -> None:
        self.parsed.add_problem(Problem(message, params))

    def name(self, tag: str) -> str:
        return source_name(tag, self.version)

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
        language = root.get(XML_LANG)
        normalise(root)
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
        responses = ResponseReader(root, self.parsed, version=version, metadata=self.metadata)
        kinds = responses.analyse_processing(
            root.find("qti-response-processing"), set(declarations)
        )
        if self.parsed.problems:
            return
        if not interactions:
            self.problem(_l("The item has no interaction, so it asks nothing."))
            return
        read = responses.read_interactions(interactions, declarations, kinds)
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
                    if tag == UPLOAD and not (child.get("type") or "").startswith("video/"):
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
                    interaction == CHOICE and tag == "qti-simple-choice"
                ):
                    visit(child, None)
                elif tag in HTML_KEPT or tag in HTML_HARMLESS or tag in ("object", "param"):
                    visit(child, interaction)
                else:
                    self.problem(_l("Unsupported content: {name}"), name=self.name(tag))

        visit(body, None)
        return interactions

    def convert_objects(self, body: etree._Element) -> None:
        """Turn ``object`` images into ``img``; fall back to an object's images otherwise."""
        for obj in list(body.iter("object")):
            if not inside(obj, body):
                continue
            data = (obj.get("data") or "").strip()
            media_type = (obj.get("type") or "").strip().lower()
            if not media_type:
                media_type = _IMAGE_TYPES.get(posixpath.splitext(data.lower())[1], "")
            if data and media_type in _IMAGE_TYPES.values():
                image = etree.Element("img")
                image.set("src", data)
                alt = " ".join(all_text(obj).split())
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
                    remove(parameter)
                unwrap(obj)
            else:
                self.problem(
                    _l("Unsupported media: {name} ({media_type})"),
                    name=data or "object",
                    media_type=media_type or "?",
                )

    def extract_rubrics(self, body: etree._Element) -> None:
        """Keep candidate rubrics in the content; move every other view into a grading guide."""
        for rubric in list(body.iter("qti-rubric-block")):
            if not inside(rubric, body):
                continue
            for extra in list(rubric.iter("qti-stylesheet", "qti-catalog-info")):
                remove(extra)
            marker = next(
                (div for div in rubric.iter("div") if METADATA_CLASS in classes(div)), None
            )
            if marker is not None:
                self.read_metadata(marker)
                remove(rubric)
                continue
            views = set((rubric.get("view") or "").split())
            content = rubric.find("qti-content-body")
            if "candidate" in views:
                if content is not None:
                    unwrap(content)
                unwrap(rubric)
                continue
            holder = rubric if content is None else content
            for criteria in [div for div in holder if CRITERIA_CLASS in classes(div)]:
                remove(criteria)
            notes = inner_html(holder).strip()
            rubric_id = rubric.get("id") or ""
            if rubric_id == GUIDE_ID:
                self.item_notes.append(notes)
            elif rubric_id.startswith(GUIDE_ID + "-"):
                question = rubric_id.removeprefix(GUIDE_ID + "-")
                self.question_notes.setdefault(question, []).append(notes)
            elif notes:
                label = "-".join(sorted(views)) or "unknown"
                self.other_notes.append(f'<div class="rubric-{label}">{notes}</div>')
            remove(rubric)

    def read_metadata(self, marker: etree._Element) -> None:
        text = marker.get("data-vakt") or all_text(marker)
        try:
            self.metadata = ItemMetadata.model_validate(json.loads(text))
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

    # -- the document

    def split_content(
        self, body: etree._Element, interactions: list[Interaction]
    ) -> tuple[str, list[str]]:
        """The stem, and the content that leads into each question.

        When the interactions sit directly in the body, content between two of them introduces
        the second; the rest is the stem. Otherwise everything around them is the stem.
        """
        for div in [child for child in body if child.tag == "div"]:
            if classes(div) == [STEM_CLASS]:
                unwrap(div)
        leads = [""] * len(interactions)
        if not all(entry.element.getparent() is body for entry in interactions):
            for entry in interactions:
                parent = entry.element.getparent()
                remove(entry.element)
                while parent is not None and parent is not body and len(parent) == 0:
                    if (parent.text or "").strip():
                        break
                    grandparent = parent.getparent()
                    remove(parent)
                    parent = grandparent
            return inner_html(body), leads
        positions = {id(entry.element): index for index, entry in enumerate(interactions)}
        segments: list[list[str]] = [[escape_text(body.text)]]
        for child in body:
            if id(child) in positions:
                segments.append([])
            else:
                segments[-1].append(outer_html(child))
            segments[-1].append(escape_text(child.tail))
        texts = ["".join(segment) for segment in segments]
        for index in range(1, len(interactions)):
            leads[index] = texts[index]
        return texts[0] + texts[-1], leads

    def build(
        self,
        body: etree._Element,
        interactions: list[Interaction],
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
            question_meta = question_metadata(meta, entry.response)
            if question["type"] in _GRADED_BY_PEOPLE:
                notes = "".join(self.question_notes.pop(entry.response, []))
                criteria = [] if question_meta is None else question_meta.criteria
                question["guide"] = {"criteria": criteria, "notes_html": notes}
            if question_meta is not None:
                if question["type"] == ItemType.ESSAY and question_meta.word_limit is not None:
                    question["word_limit"] = question_meta.word_limit
                if question["type"] == ItemType.ORAL:
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
        if len(questions) == 1 and questions[0]["type"] in _GRADED_BY_PEOPLE:
            questions[0]["guide"]["notes_html"] += "".join(self.other_notes)
        else:
            item_notes += self.other_notes
        mapped_language = map_language(xml_lang)
        language = mapped_language
        if meta is not None and meta.language and map_language(meta.language) == mapped_language:
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
