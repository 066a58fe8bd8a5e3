"""The item editor's form: field names, parsing into an item document, and prefilling.

The editor works without JavaScript: a case's questions are added with a submit button that
re-shows the form with one more block, and blank option rows are simply ignored.
"""

from __future__ import annotations

import string
from typing import Any

from starlette.datastructures import FormData

from itembank.schemas import ItemDocument, ItemType, ScoringRule

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


def _question(form: FormData, index: int, item_type: str) -> dict[str, Any] | None:
    prefix = f"q{index}."
    if form.get(f"{prefix}remove"):
        return None
    question_type = (
        item_type if item_type != ItemType.CASE else _text(form, f"{prefix}type") or "essay"
    )
    default_id = f"RESPONSE{index + 1}" if item_type == ItemType.CASE else "RESPONSE"
    question: dict[str, Any] = {
        "id": _text(form, f"{prefix}id") or default_id,
        "type": question_type,
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
            question["correct"] = correct[0] if len(correct) == 1 else ""
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
    item_type = _text(form, "type")
    questions = [
        question
        for index in range(max(1, question_count(form)))
        if (question := _question(form, index, item_type)) is not None
    ]
    kept = [name for name in attachments if not form.get(f"remove_file.{name}")]
    return {
        "external_id": _text(form, "external_id"),
        "title": _text(form, "title"),
        "type": item_type,
        "language": _text(form, "language") or "nb",
        "tags": [tag.strip() for tag in _text(form, "tags").split(",") if tag.strip()],
        "stem_html": _text(form, "stem_html"),
        "questions": questions,
        "guide": {"criteria": _criteria(form, ""), "notes_html": _text(form, "guide_notes_html")},
        "attachments": kept,
    }


def editor_state(data: dict[str, Any], *, extra_question: bool = False) -> dict[str, Any]:
    """What the editor template shows: the document (valid or not) with blank rows added."""
    state = {
        "external_id": data.get("external_id", ""),
        "title": data.get("title", ""),
        "type": data.get("type", ItemType.SINGLE_CHOICE.value),
        "language": data.get("language", "nb"),
        "tags": ", ".join(data.get("tags", [])),
        "stem_html": data.get("stem_html", ""),
        "guide_notes_html": data.get("guide", {}).get("notes_html", ""),
        "criteria": _criteria_rows(data.get("guide", {}).get("criteria", [])),
        "attachments": list(data.get("attachments", [])),
        "questions": [],
    }
    questions = list(data.get("questions", [])) or [{"type": state["type"]}]
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
        state["questions"].append(
            {
                "id": question.get("id", "RESPONSE"),
                "type": question.get("type", state["type"]),
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
