"""Writing an item document as a QTI 3.0 or 2.1 assessment item.

What QTI has a place for goes where QTI expects it; the rest travels in Vakt's metadata block and
grading guides in scorer-view rubric blocks (``metadata``), which the reader takes out again, so
that a round trip through QTI gives back the same document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from lxml import etree

from itembank.qti.content import append_html, xml_safe
from itembank.qti.metadata import (
    CRITERIA_CLASS,
    GUIDE_ID,
    METADATA_CLASS,
    STEM_CLASS,
    ItemMetadata,
    metadata_of,
)
from itembank.qti.names import (
    CHOICE,
    EXTENDED_TEXT,
    QTI3_NAMESPACE,
    QTI21_NAMESPACE,
    UPLOAD,
    XML_LANG,
    XSI_NAMESPACE,
    QtiVersion,
    camel,
    number,
)
from itembank.qti.tree import append_text
from itembank.schemas import (
    EssayQuestion,
    GradingGuide,
    ItemDocument,
    ItemType,
    MultipleResponseQuestion,
    OralQuestion,
    ScoringRule,
    SingleChoiceQuestion,
)

_SCHEMA_LOCATIONS: dict[QtiVersion, str] = {
    "qti3": f"{QTI3_NAMESPACE} "
    "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0p1_v1p0.xsd",
    "qti21": f"{QTI21_NAMESPACE} http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1p2.xsd",
}
_TEMPLATE_URLS: dict[QtiVersion, str] = {
    "qti3": "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/{name}.xml",
    "qti21": "http://www.imsglobal.org/question/qti_v2p1/rptemplates/{name}",
}
_ORAL_MEDIA_TYPE = "video/webm"


class _Writer:
    """Writes one item document as QTI 3.0 or 2.1; element names are given in QTI 3 terms."""

    def __init__(self, version: QtiVersion) -> None:
        self.version = version
        self.namespace = QTI3_NAMESPACE if version == "qti3" else QTI21_NAMESPACE

    def tag(self, name: str) -> str:
        if self.version == "qti21" and name.startswith("qti-"):
            name = camel(name.removeprefix("qti-"))
        return f"{{{self.namespace}}}{name}"

    def element(
        self, parent: etree._Element, name: str, attributes: Mapping[str, str | None] | None = None
    ) -> etree._Element:
        element = etree.SubElement(parent, self.tag(name))
        for key, value in (attributes or {}).items():
            if value is not None:
                element.set(key if self.version == "qti3" else camel(key), value)
        return element

    def content_holder(self, rubric: etree._Element) -> etree._Element:
        """Where a rubric block's content goes (QTI 3 wants a content body)."""
        if self.version == "qti3":
            return self.element(rubric, "qti-content-body")
        return rubric

    def write(self, document: ItemDocument) -> bytes:
        root = etree.Element(
            self.tag("qti-assessment-item"),
            nsmap={None: self.namespace, "xsi": XSI_NAMESPACE},  # type: ignore[dict-item]
        )
        root.set(f"{{{XSI_NAMESPACE}}}schemaLocation", _SCHEMA_LOCATIONS[self.version])
        root.set("identifier", document.external_id)
        root.set("title", xml_safe(document.title))
        root.set("adaptive", "false")
        root.set("timeDependent" if self.version == "qti21" else "time-dependent", "false")
        root.set(XML_LANG, document.language)
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
                "normal-maximum": number(document.max_points),
                "external-scored": "human" if human and self.version == "qti3" else None,
            },
        )
        body = self.element(root, "qti-item-body")
        if document.stem_html:
            stem = self.element(body, "div", {"class": STEM_CLASS})
            append_html(stem, document.stem_html, self.namespace)
        for question in document.questions:
            self.interaction(body, question)
        for question in document.questions:
            if isinstance(question, EssayQuestion | OralQuestion) and not question.guide.is_empty:
                self.guide(body, question.guide, f"{GUIDE_ID}-{question.id}")
        if not document.guide.is_empty:
            self.guide(body, document.guide, GUIDE_ID)
        self.metadata(body, metadata_of(document, derived))
        self.processing(root, document)
        _lay_out(root)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def declaration(
        self,
        root: etree._Element,
        question: SingleChoiceQuestion | MultipleResponseQuestion | EssayQuestion | OralQuestion,
        derived: set[str],
    ) -> None:
        base_type = {ItemType.ESSAY: "string", ItemType.ORAL: "file"}.get(
            ItemType(question.type), "identifier"
        )
        multiple = isinstance(question, MultipleResponseQuestion)
        cardinality = "multiple" if multiple else "single"
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
                "default-value": number(default),
                "lower-bound": None if lower is None else number(lower),
                "upper-bound": None if upper is None else number(upper),
            },
        )
        for key, mapped in entries.items():
            self.element(mapping, "qti-map-entry", {"map-key": key, "mapped-value": number(mapped)})

    def prompt(self, interaction: etree._Element, prompt_html: str) -> None:
        if prompt_html:
            append_html(self.element(interaction, "qti-prompt"), prompt_html, self.namespace)

    def interaction(
        self,
        body: etree._Element,
        question: SingleChoiceQuestion | MultipleResponseQuestion | EssayQuestion | OralQuestion,
    ) -> None:
        if isinstance(question, SingleChoiceQuestion | MultipleResponseQuestion):
            max_choices = 1 if isinstance(question, SingleChoiceQuestion) else question.max_choices
            interaction = self.element(
                body,
                CHOICE,
                {
                    "response-identifier": question.id,
                    "shuffle": "true" if question.shuffle else "false",
                    "max-choices": str(max_choices),
                },
            )
            self.prompt(interaction, question.prompt_html)
            for choice in question.choices:
                option = self.element(interaction, "qti-simple-choice", {"identifier": choice.id})
                append_html(option, choice.html, self.namespace)
        elif isinstance(question, EssayQuestion):
            interaction = self.element(
                body,
                EXTENDED_TEXT,
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
                body, UPLOAD, {"response-identifier": question.id, "type": _ORAL_MEDIA_TYPE}
            )
            self.prompt(interaction, question.prompt_html)

    def guide(self, body: etree._Element, guide: GradingGuide, identifier: str) -> None:
        rubric = self.element(
            body, "qti-rubric-block", {"id": identifier, "view": "scorer", "use": "scoring"}
        )
        holder = self.content_holder(rubric)
        if guide.notes_html:
            append_html(holder, guide.notes_html, self.namespace)
        if guide.criteria:
            # For people reading the file; the metadata block is what Vakt reads back.
            listing = etree.SubElement(holder, self.tag("div"))
            listing.set("class", CRITERIA_CLASS)
            items = etree.SubElement(listing, self.tag("ol"))
            for criterion in guide.criteria:
                item = etree.SubElement(items, self.tag("li"))
                etree.SubElement(item, self.tag("strong")).text = xml_safe(criterion.name)
                append_text(item, f" ({number(criterion.max_points)}) ")
                append_html(item, criterion.description_html, self.namespace)

    def metadata(self, body: etree._Element, metadata: ItemMetadata) -> None:
        rubric = self.element(body, "qti-rubric-block", {"view": "author", "use": "instructions"})
        holder = self.content_holder(rubric)
        marker = etree.SubElement(holder, self.tag("div"))
        marker.set("class", METADATA_CLASS)
        text = json.dumps(
            metadata.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        # QTI 3 allows data-* attributes on HTML; QTI 2.1 does not, so there it is the text.
        if self.version == "qti3":
            marker.set("data-vakt", xml_safe(text))
        else:
            marker.text = xml_safe(text)

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
                value.text = number(points)
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
