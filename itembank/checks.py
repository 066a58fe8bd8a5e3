"""The checks an item document's fields meet, and how their failures read to a person.

New content (the editor, the API, imports) is validated with the ``new_content`` context and meets
every check; stored versions are read without it, so that a version stored before a check was
added still reads (``itembank.schemas``).
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import AfterValidator, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from itembank.html import clean_html, shows_something
from vakt.errors import VaktError
from vakt.i18n import LazyText, Message, _l
from vakt.text import UNSTORABLE_TEXT, unstorable_text
from vakt.validation import error_messages

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,79}$")
TAG = re.compile(r"^[\w][\w .:/\-]{0,79}$", re.UNICODE)

ERROR_MESSAGES: dict[str, LazyText] = {
    "bad_identifier": _l("must start with a letter and use only letters, digits, _ . or -"),
    "duplicate_option": _l("the same option appears twice"),
    "correct_not_option": _l("the correct answer ({correct}) must be one of the options"),
    "mapping_unknown_option": _l("values are given for options that do not exist: {options}"),
    "mapping_missing": _l("the mapped scoring rule needs a value for at least one option"),
    "max_choices_too_small": _l(
        "the maximum number of choices is smaller than the number of correct options"
    ),
    "bad_tag": _l("the tag {tag} has characters a tag may not have"),
    "duplicate_question": _l("two questions have the same id"),
    "case_needs_scenario": _l("a case needs a scenario"),
    "one_question_only": _l("only a case may have more than one question"),
    "question_type_mismatch": _l("the question must be of the item's type ({item_type})"),
    "html_shows_nothing": _l(
        "shows nothing once unsafe or unsupported markup (such as video, style or script) "
        "is removed"
    ),
    "control_characters": _l("holds control characters (such as NUL) that text may not contain"),
    "not_finite": _l("must be a finite number"),
    "max_choices_too_large": _l(
        "the maximum number of choices is larger than the number of options"
    ),
    # Pydantic's own error types that item documents meet and the generic texts do not cover.
    "string_unicode": _l("holds characters that are not valid text"),
    "model_type": _l("must be a mapping of names to values"),
    "union_tag_not_found": _l("needs a type"),
}
"""Translatable texts for the item document's validation error codes."""

FIELD_LABELS: dict[str, LazyText] = {
    "external_id": _l("Item id"),
    "title": _l("Title"),
    "type": _l("Type"),
    "language": _l("Language"),
    "tags": _l("Tags"),
    "stem_html": _l("Text / scenario"),
    "questions": _l("Questions"),
    "questions[]": _l("Question {number}"),
    "choices": _l("Options"),
    "choices[]": _l("Option {number}"),
    "criteria[]": _l("Criterion {number}"),
    "prompt_html": _l("Question text"),
    "points": _l("Points"),
    "correct": _l("Correct answer"),
    "html": _l("Text"),
    "id": _l("Id"),
    "word_limit": _l("Word limit"),
    "max_choices": _l("Maximum choices"),
    "guide": _l("Grading guide"),
    "name": _l("Name"),
    "max_points": _l("Points"),
    "mapping": _l("Option values"),
    "preparation_seconds": _l("Preparation time (seconds)"),
    "max_duration_seconds": _l("Maximum answer length (seconds)"),
}
"""How item document fields are named to a person."""

SKIPPED_LOCATIONS = frozenset({"single_choice", "multiple_response", "essay", "oral"})
"""Union tags in error locations, which mean nothing to a person."""


def document_errors(exc: ValidationError) -> list[Message]:
    """One translatable message per place an item document fails validation, naming the field
    the way a person would."""
    return error_messages(exc, ERROR_MESSAGES, FIELD_LABELS, SKIPPED_LOCATIONS)


def refuse_unstorable(value: str, field: str) -> None:
    """Refuse text no database keeps as it is (``vakt.text``), naming the field it came in."""
    if unstorable_text(value):
        raise VaktError(UNSTORABLE_TEXT, field=field)


def check_error(code: str, **context: object) -> PydanticCustomError:
    """The validation error for one of this module's error codes."""
    return PydanticCustomError(code, ERROR_MESSAGES[code].msgid, context)


NEW_CONTENT = "new_content"
"""Validation context key: the document is new content, so every rule applies."""


def is_new_content(info: ValidationInfo) -> bool:
    """Whether the document being validated is new content (every rule applies)."""
    return bool(isinstance(info.context, dict) and info.context.get(NEW_CONTENT))


def _finite(value: float, info: ValidationInfo) -> float:
    # JSON has no infinity or NaN: PostgreSQL refuses to store them and scoring cannot use them.
    if is_new_content(info) and not math.isfinite(value):
        raise check_error("not_finite")
    return value


FiniteNumber = Annotated[float, AfterValidator(_finite)]


def _plain_text(value: str, info: ValidationInfo) -> str:
    if is_new_content(info) and unstorable_text(value):
        raise check_error("control_characters")
    return value


PlainText = Annotated[str, AfterValidator(_plain_text)]


def clean_optional_html(value: str, info: ValidationInfo) -> str:
    """Clean an HTML field that may be empty; new content that cleans to nothing visible is
    refused rather than silently stored empty."""
    cleaned = clean_html(value) if value else ""
    if is_new_content(info) and value and not shows_something(cleaned):
        raise check_error("html_shows_nothing")
    return cleaned


def clean_required_html(value: str, info: ValidationInfo) -> str:
    """Clean an HTML field that must show something (an option's text)."""
    cleaned = clean_html(value) if value else ""
    if is_new_content(info):
        if not value:
            raise PydanticCustomError(
                "string_too_short",
                "String should have at least {min_length} character",
                {"min_length": 1},
            )
        if not shows_something(cleaned):
            raise check_error("html_shows_nothing")
    return cleaned
