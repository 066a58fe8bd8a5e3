"""The item editor's form: field names, parsing into an item document, and prefilling.

The editor works without JavaScript: a case's questions are added with a submit button that
re-shows the form with one more block, and blank option rows are simply ignored. Each question
block says which type's fields it shows (``q0.shown_type``), and the form which item type it
shows (``shown_type``): when the chosen type differs, the form is shown again with the fields of
the chosen type (keeping what was typed) instead of being saved with fields it never showed.
"""

from __future__ import annotations

import string
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from itembank.checks import SKIPPED_LOCATIONS, document_errors
from itembank.schemas import ItemDocument, ItemType, ScoringRule
from vakt.i18n import Message

ITEM_TYPES = [item_type.value for item_type in ItemType]
QUESTION_TYPES = [item_type.value for item_type in ItemType if item_type is not ItemType.CASE]

BLANK_CHOICE_ROWS = 2
MIN_CHOICE_ROWS = 4
BLANK_CRITERION_ROWS = 1


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(value: str) -> float | str | None:
    if not value:
        return None
    try:
        return float(value.replace(",", "."))
    except ValueError:
        return value  # left for validation to explain


def _integer(value: str) -> int | str | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _criteria(form: FormData, prefix: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    index = 0
    while f"{prefix}g{index}.name" in form:
        name = _text(form, f"{prefix}g{index}.name")
        points = _text(form, f"{prefix}g{index}.points")
        description = _text(form, f"{prefix}g{index}.description")
        if name or points or description:
            rows.append(
                {"name": name, "max_points": _number(points), "description_html": description}
            )
        index += 1
    return rows


def _choices(form: FormData, prefix: str) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    choices: list[dict[str, Any]] = []
    correct: list[str] = []
    mapping: dict[str, Any] = {}
    index = 0
    used = set()
    while f"{prefix}c{index}.html" in form:
        html = _text(form, f"{prefix}c{index}.html")
        choice_id = _text(form, f"{prefix}c{index}.id")
        if html:
            if not choice_id:
                choice_id = next(
                    letter
                    for letter in string.ascii_uppercase + string.ascii_lowercase
                    if letter not in used
                )
            used.add(choice_id)
            choices.append({"id": choice_id, "html": html})
            if form.get(f"{prefix}c{index}.correct") or _text(form, f"{prefix}correct") == str(
                index
            ):
                correct.append(choice_id)
            value = _text(form, f"{prefix}c{index}.value")
            if value:
                mapping[choice_id] = _number(value)
        index += 1
    return choices, correct, mapping


def item_type_of(form: FormData) -> str | None:
    """The item type the form asks for, or None when it names none we know."""
    value = _text(form, "type")
    return value if value in ITEM_TYPES else None


def _question_type(form: FormData, name: str) -> str | None:
    value = _text(form, name)
    return value if value in QUESTION_TYPES else None


def _shown_question_type(form: FormData, index: int, item_type: str | None) -> str:
    """The type whose fields question block ``index`` showed, so that they are read as such."""
    prefix = f"q{index}."
    shown = _question_type(form, f"{prefix}shown_type")
    if shown is not None:
        return shown
    if item_type is not None and item_type != ItemType.CASE:
        return item_type
    chosen = _question_type(form, f"{prefix}type")
    if chosen is not None:
        return chosen
    if f"{prefix}c0.html" in form:
        return ItemType.SINGLE_CHOICE.value
    if f"{prefix}preparation_seconds" in form:
        return ItemType.ORAL.value
    return ItemType.ESSAY.value


def _chosen_question_type(form: FormData, index: int, item_type: str | None) -> str:
    """The type question ``index`` is to have: the item's own, or for a case the one chosen."""
    if item_type is not None and item_type != ItemType.CASE:
        return item_type
    shown = _shown_question_type(form, index, item_type)
    if item_type == ItemType.CASE:
        return _question_type(form, f"q{index}.type") or shown
    return shown


def type_changed(form: FormData) -> bool:
    """True when a type was changed on the form since it was shown: its fields are not the
    ones the new type needs, so the form must be shown again before it can be saved."""
    item_type = item_type_of(form)
    shown_item_type = _text(form, "shown_type")
    if item_type is not None and shown_item_type in ITEM_TYPES and shown_item_type != item_type:
        return True
    for index in range(question_count(form)):
        shown = _question_type(form, f"q{index}.shown_type")
        if shown is not None and shown != _chosen_question_type(form, index, item_type):
            return True
    return False


def _question(form: FormData, index: int, item_type: str | None) -> dict[str, Any] | None:
    prefix = f"q{index}."
    if form.get(f"{prefix}remove"):
        return None
    # Fields are read as the type the block showed; the question gets the type now chosen.
    question_type = _shown_question_type(form, index, item_type)
    default_id = f"RESPONSE{index + 1}" if item_type == ItemType.CASE else "RESPONSE"
    question: dict[str, Any] = {
        "id": _text(form, f"{prefix}id") or default_id,
        "type": _chosen_question_type(form, index, item_type),
        "prompt_html": _text(form, f"{prefix}prompt_html"),
    }
    points = _number(_text(form, f"{prefix}points"))
    if points is not None:
        question["points"] = points
    if question_type in (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_RESPONSE):
        choices, correct, mapping = _choices(form, prefix)
        question["choices"] = choices
        question["shuffle"] = bool(form.get(f"{prefix}shuffle"))
        if question_type == ItemType.SINGLE_CHOICE:
            if len(correct) == 1:
                question["correct"] = correct[0]
        else:
            question["correct"] = correct
            question["scoring"] = _text(form, f"{prefix}scoring") or ScoringRule.PER_OPTION.value
            if mapping:
                question["mapping"] = mapping
            max_choices = _integer(_text(form, f"{prefix}max_choices"))
            if max_choices is not None:
                question["max_choices"] = max_choices
    elif question_type in (ItemType.ESSAY, ItemType.ORAL):
        question["guide"] = {
            "criteria": _criteria(form, prefix),
            "notes_html": _text(form, f"{prefix}guide_notes_html"),
        }
        if question_type == ItemType.ESSAY:
            word_limit = _integer(_text(form, f"{prefix}word_limit"))
            if word_limit is not None:
                question["word_limit"] = word_limit
        else:
            for field in ("preparation_seconds", "max_duration_seconds"):
                value = _integer(_text(form, f"{prefix}{field}"))
                if value is not None:
                    question[field] = value
    return question


def question_count(form: FormData) -> int:
    """How many question blocks the submitted form had."""
    count = 0
    while f"q{count}.prompt_html" in form:
        count += 1
    return count


def document_data(form: FormData, *, attachments: list[str]) -> dict[str, Any]:
    """The item document the editor describes, not yet validated."""
    item_type = item_type_of(form)
    questions = [
        question
        for index in range(max(1, question_count(form)))
        if (question := _question(form, index, item_type)) is not None
    ]
    kept = [name for name in attachments if not form.get(f"remove_file.{name}")]
    return {
        "external_id": _text(form, "external_id"),
        "title": _text(form, "title"),
        "type": item_type or "",
        "language": _text(form, "language") or "nb",
        "tags": [tag.strip() for tag in _text(form, "tags").split(",") if tag.strip()],
        "stem_html": _text(form, "stem_html"),
        "questions": questions,
        "guide": {"criteria": _criteria(form, ""), "notes_html": _text(form, "guide_notes_html")},
        "attachments": kept,
    }


def editor_state(data: dict[str, Any], *, extra_question: bool = False) -> dict[str, Any]:
    """What the editor template shows: the document (valid or not) with blank rows added."""
    item_type = data.get("type", ItemType.SINGLE_CHOICE.value)
    state = {
        "external_id": data.get("external_id", ""),
        "title": data.get("title", ""),
        "type": item_type if item_type in ITEM_TYPES else "",
        "language": data.get("language", "nb"),
        "tags": ", ".join(data.get("tags", [])),
        "stem_html": data.get("stem_html", ""),
        "guide_notes_html": data.get("guide", {}).get("notes_html", ""),
        "criteria": _criteria_rows(data.get("guide", {}).get("criteria", [])),
        "attachments": list(data.get("attachments", [])),
        "questions": [],
    }
    questions = list(data.get("questions", [])) or [{"type": _first_question_type(state["type"])}]
    if extra_question:
        questions.append({"type": ItemType.ESSAY.value, "id": f"RESPONSE{len(questions) + 1}"})
    for question in questions:
        correct = question.get("correct", [])
        correct_set = {correct} if isinstance(correct, str) else set(correct)
        choices = [
            {
                "id": c.get("id", ""),
                "html": c.get("html", ""),
                "correct": c.get("id") in correct_set,
                "value": question.get("mapping", {}).get(c.get("id"), ""),
            }
            for c in question.get("choices", [])
        ]
        blank_rows = max(BLANK_CHOICE_ROWS, MIN_CHOICE_ROWS - len(choices))
        choices += [
            {"id": "", "html": "", "correct": False, "value": ""} for _ in range(blank_rows)
        ]
        guide = question.get("guide", {})
        question_type = question.get("type")
        if state["type"] in QUESTION_TYPES:
            question_type = state["type"]  # only a case holds questions of other types
        elif question_type not in QUESTION_TYPES:
            question_type = ItemType.ESSAY.value
        state["questions"].append(
            {
                "id": question.get("id", "RESPONSE"),
                "type": question_type,
                "prompt_html": question.get("prompt_html", ""),
                "points": question.get("points", 1),
                "choices": choices,
                "shuffle": question.get("shuffle", True),
                "scoring": question.get("scoring", ScoringRule.PER_OPTION.value),
                "max_choices": question.get("max_choices", 0) or "",
                "word_limit": question.get("word_limit") or "",
                "preparation_seconds": question.get("preparation_seconds", 0),
                "max_duration_seconds": question.get("max_duration_seconds", 300),
                "guide_notes_html": guide.get("notes_html", ""),
                "criteria": _criteria_rows(guide.get("criteria", [])),
            }
        )
    return state


def _first_question_type(item_type: str) -> str:
    """The type of a new item's first question: its own, or for a case an open question."""
    return item_type if item_type in QUESTION_TYPES else ItemType.ESSAY.value


def _criteria_rows(criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [
        {
            "name": c.get("name", ""),
            "points": c.get("max_points", ""),
            "description": c.get("description_html", ""),
        }
        for c in criteria
    ]
    return rows + [
        {"name": "", "points": "", "description": ""} for _ in range(BLANK_CRITERION_ROWS)
    ]


def document_state(document: ItemDocument) -> dict[str, Any]:
    """Editor state for a stored document."""
    return editor_state(document.model_dump(mode="json"))


_QUESTION_FIELDS = frozenset(
    {
        "id",
        "type",
        "prompt_html",
        "points",
        "scoring",
        "max_choices",
        "word_limit",
        "preparation_seconds",
        "max_duration_seconds",
    }
)
_CHOICE_TABLE_FIELDS = frozenset(
    {"choices", "correct", "mapping", "mapping_default", "lower_bound", "upper_bound", "shuffle"}
)


def _form_field(location: tuple[int | str, ...], error_type: str) -> str | None:
    """The editor field where a validation error belongs, when the form shows the document it
    failed on (questions and options are numbered as in the document)."""
    parts = [part for part in location if part not in SKIPPED_LOCATIONS]
    if not parts:
        return "stem_html" if error_type == "case_needs_scenario" else None
    head, rest = parts[0], parts[1:]
    if head in ("external_id", "title", "type", "language", "tags", "stem_html"):
        return str(head)
    if head == "guide":
        return "guide_notes_html" if rest[:1] == ["notes_html"] else "criteria"
    if head != "questions" or not rest or not isinstance(rest[0], int):
        return None
    prefix, rest = f"q{rest[0]}.", rest[1:]
    if not rest:
        return prefix + ("type" if error_type.startswith("union_tag") else "choices")
    field = str(rest[0])
    if field == "choices" and len(rest) >= 2 and isinstance(rest[1], int):
        return f"{prefix}c{rest[1]}.html"
    if field in _CHOICE_TABLE_FIELDS:
        return prefix + "choices"
    if field == "guide":
        return prefix + ("guide_notes_html" if rest[1:2] == ["notes_html"] else "criteria")
    return prefix + field if field in _QUESTION_FIELDS else None


def field_errors(exc: ValidationError) -> dict[str, list[Message]]:
    """Each validation error's message under the name of the editor field it belongs to."""
    found: dict[str, list[Message]] = {}
    messages = document_errors(exc)
    for error, message in zip(exc.errors(include_url=False), messages, strict=True):
        name = _form_field(tuple(error["loc"]), error["type"])
        if name is not None:
            found.setdefault(name, []).append(message)
    return found
