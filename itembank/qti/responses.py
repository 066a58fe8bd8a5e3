"""Reading what an item asks and how it scores: interactions, response declarations (correct
responses, mappings) and response processing.

Only what a correct response or a mapping can say is taken: the standard templates, or custom
processing that compares a response with its correct response or maps it. Anything else is
reported by name, never guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from itembank.qti.content import inner_html
from itembank.qti.metadata import ItemMetadata, question_metadata
from itembank.qti.names import CHOICE, EXTENDED_TEXT, source_name
from itembank.qti.results import ParsedItem, Problem
from itembank.schemas import ItemType, ScoringRule
from vakt.i18n import LazyText, _l

_PROCESSING_ELEMENTS = {
    "qti-response-processing", "qti-response-condition", "qti-response-if",
    "qti-response-else-if", "qti-response-else", "qti-set-outcome-value", "qti-match",
    "qti-correct", "qti-variable", "qti-map-response", "qti-base-value", "qti-sum",
    "qti-is-null", "qti-not", "qti-and", "qti-or",
}  # fmt: skip


@dataclass
class Interaction:
    """An interaction and the question (not yet validated) read from it."""

    element: etree._Element
    response: str
    question: dict[str, Any]


class ResponseReader:
    """Reads the interactions of one item (already renamed into QTI 3 terms); each step notes
    its problems in ``parsed`` and goes on."""

    def __init__(
        self,
        root: etree._Element,
        parsed: ParsedItem,
        *,
        version: str,
        metadata: ItemMetadata | None,
    ) -> None:
        self.root = root
        self.parsed = parsed
        self.version = version
        self.metadata = metadata

    def problem(self, message: LazyText, **params: Any) -> None:
        """Note a problem of the item."""
        self.parsed.add_problem(Problem(message, params))

    def name(self, tag: str) -> str:
        """An element's name as the source spells it."""
        return source_name(tag, self.version)

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

    def read_interactions(
        self,
        elements: list[etree._Element],
        declarations: dict[str, etree._Element],
        kinds: dict[str, str],
    ) -> list[Interaction]:
        """The question each interaction asks, with its key and points."""
        read: list[Interaction] = []
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
                "prompt_html": "" if prompt is None else inner_html(prompt).strip(),
            }
            if element.tag == CHOICE:
                self.read_choice(element, declaration, kinds.get(response), question)
            elif element.tag == EXTENDED_TEXT:
                question["type"] = ItemType.ESSAY.value
                expected = self.integer(element.get("expected-length"), "expected-length")
                if expected:
                    question["expected_length"] = expected
            else:
                question["type"] = ItemType.ORAL.value
            read.append(Interaction(element, response, question))
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
        """Fill in a choice question: its options, key and scoring rule."""
        response = question["id"]
        question["choices"] = [
            {"id": (choice.get("identifier") or "").strip(), "html": inner_html(choice).strip()}
            for choice in element.findall("qti-simple-choice")
        ]
        question["shuffle"] = (element.get("shuffle") or "").strip() == "true"
        correct = [
            (value.text or "").strip()
            for value in declaration.findall("qti-correct-response/qti-value")
        ]
        mapping, default, lower, upper = self.mapping(declaration)
        meta = question_metadata(self.metadata, response)
        if (declaration.get("cardinality") or "single") == "single":
            question["type"] = ItemType.SINGLE_CHOICE.value
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
        question["type"] = ItemType.MULTIPLE_RESPONSE.value
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
        """A declaration's mapping: (values by option, default, lower bound, upper bound)."""
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
        """The most the item's score can be, when its SCORE outcome says."""
        for outcome in self.root.findall("qti-outcome-declaration"):
            if outcome.get("identifier") == "SCORE":
                value = self.decimal(outcome.get("normal-maximum"), "normal-maximum")
                return value if value is not None and value > 0 else None
        return None

    def points(self, entry: Interaction, count: int, normal_maximum: float | None) -> float:
        """The points of a question: Vakt's metadata, else the item's maximum shared, else the
        mapping's upper bound, else 1."""
        meta = question_metadata(self.metadata, entry.response)
        if meta is not None and meta.points is not None:
            return meta.points
        if normal_maximum is not None:
            # The outcome bounds the whole item; shared equally when it holds several questions.
            return normal_maximum / count
        upper = entry.question.get("upper_bound")
        if entry.question.get("mapping") and isinstance(upper, float) and upper > 0:
            return upper
        return 1.0

    def decimal(self, value: str | None, where: str) -> float | None:
        """A number attribute, or None (with a problem noted when it is no number)."""
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
        """A whole-number attribute, or None (with a problem noted when it is no number)."""
        if value is None or not value.strip():
            return None
        try:
            return int(value)
        except ValueError:
            self.problem(
                _l("The value {value} of {where} is not a number."), value=value[:40], where=where
            )
            return None
