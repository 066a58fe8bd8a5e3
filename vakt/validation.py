"""Validation errors from pydantic, told in the reader's language.

Each domain's validators raise ``PydanticCustomError(code, english_template, context)``; the
domain registers a translatable template per code. Pydantic's own error types (missing, too
long, not a number...) are translated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from vakt.i18n import LazyText, Message, _l

GENERIC_MESSAGES: dict[str, LazyText] = {
    "missing": _l("is required"),
    "string_too_short": _l("is too short (at least {min_length} characters)"),
    "string_too_long": _l("is too long (at most {max_length} characters)"),
    "too_short": _l("needs at least {min_length} entries"),
    "too_long": _l("may have at most {max_length} entries"),
    "greater_than": _l("must be greater than {gt}"),
    "greater_than_equal": _l("must be at least {ge}"),
    "less_than": _l("must be less than {lt}"),
    "less_than_equal": _l("must be at most {le}"),
    "int_parsing": _l("must be a whole number"),
    "int_from_float": _l("must be a whole number"),
    "float_parsing": _l("must be a number"),
    "enum": _l("must be one of: {expected}"),
    "literal_error": _l("must be one of: {expected}"),
    "union_tag_invalid": _l("has an unknown type"),
    "string_pattern_mismatch": _l("has characters that are not allowed"),
    "extra_forbidden": _l("is not a known field"),
    "string_type": _l("must be text"),
    "bool_parsing": _l("must be yes or no"),
    "dict_type": _l("must be a mapping of names to values"),
    "list_type": _l("must be a list"),
    "model_type": _l("must be an object with the fields the API describes"),
    "model_attributes_type": _l("must be an object with the fields the API describes"),
    "int_type": _l("must be a whole number"),
    "float_type": _l("must be a number"),
    "bool_type": _l("must be yes or no"),
    "datetime_type": _l("must be a date and time"),
    "datetime_parsing": _l("must be a date and time (ISO 8601)"),
    "datetime_from_date_parsing": _l("must be a date and time (ISO 8601)"),
    "timezone_aware": _l("must be a date and time with a time zone"),
    "none_required": _l("must be empty"),
}


def error_messages(
    exc: ValidationError,
    custom: Mapping[str, LazyText] | None = None,
    labels: Mapping[str, LazyText] | None = None,
    skip: frozenset[str] = frozenset(),
) -> list[Message]:
    """One translatable message per error, naming the field the way a person would.

    ``custom`` translates the domain's own error codes, ``labels`` names fields (``name[]``
    names a numbered entry of a list, with ``{number}``), ``skip`` drops location parts that mean
    nothing to a person (such as the tag of a union).
    """
    messages: list[Message] = []
    for error in exc.errors(include_url=False):
        context: dict[str, Any] = {
            key: (", ".join(map(str, value)) if isinstance(value, list | tuple) else value)
            for key, value in (error.get("ctx") or {}).items()
        }
        template = (custom or {}).get(error["type"]) or GENERIC_MESSAGES.get(error["type"])
        problem = (
            Message(template, context)
            if template
            else Message(_l("{problem}"), {"problem": error["msg"]})
        )
        messages.append(
            Message(
                _l("{field}: {problem}"),
                {
                    "field": _FieldPath(tuple(error["loc"]), labels or {}, skip),
                    "problem": problem,
                },
            )
        )
    return messages


class _FieldPath:
    """A location like ``questions.0.choices.2.html``, shown as 'Question 1, option 3, text'."""

    def __init__(
        self,
        location: tuple[int | str, ...],
        labels: Mapping[str, LazyText],
        skip: frozenset[str],
    ) -> None:
        self.location = location
        self.labels = labels
        self.skip = skip


def render_message(message: Message | LazyText | str, translations: Any) -> str:
    """Translate a message whose parameters may themselves be messages or field paths."""
    if isinstance(message, str):
        return message
    if isinstance(message, LazyText):
        return message.render(translations)
    params = {key: _render_param(value, translations) for key, value in message.params.items()}
    return message.text.render(translations, params)


def _render_param(value: Any, translations: Any) -> Any:
    if isinstance(value, Message | LazyText):
        return render_message(value, translations)
    if isinstance(value, _FieldPath):
        parts: list[str] = []
        location = [part for part in value.location if part not in value.skip]
        index = 0
        while index < len(location):
            part = location[index]
            following = location[index + 1] if index + 1 < len(location) else None
            if isinstance(part, str) and isinstance(following, int):
                label = value.labels.get(f"{part}[]")
                if label is not None:
                    parts.append(label.render(translations, {"number": following + 1}))
                    index += 2
                    continue
            label = value.labels.get(str(part))
            parts.append(label.render(translations) if label else str(part))
            index += 1
        return ", ".join(parts)
    return value
