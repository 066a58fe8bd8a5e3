"""The reader's language for a request, and translation helpers for templates and errors."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import Request

from vakt.i18n import (
    LANGUAGES,
    Amount,
    LazyText,
    Message,
    Moment,
    format_moment,
    negotiate_language,
    normalise_language,
    translations_for,
)
from vakt.validation import render_message

LANGUAGE_COOKIE = "vakt_lang"


def request_language(request: Request) -> str:
    """The language chosen for this request: the reader's explicit choice, their profile, the
    browser's preference, then the installation's default."""
    cached = getattr(request.state, "language", None)
    if cached:
        return str(cached)
    settings = request.state.settings
    chosen = normalise_language(request.cookies.get(LANGUAGE_COOKIE))
    user = getattr(request.state, "user", None)
    if not chosen and user is not None:
        chosen = normalise_language(user.language)
    if not chosen:
        chosen = negotiate_language(
            request.headers.get("accept-language"), default=settings.default_language
        )
    request.state.language = chosen
    return chosen


def request_translations(request: Request) -> NullTranslations:
    """The catalog for the request's language."""
    return translations_for(request_language(request))


def param_text(value: Any, language: str, timezone: str) -> Any:
    """A message's value as the reader writes it: a time (``Moment``) in the body's time zone,
    a calendar day (a ``date``, already the body's) in full ("27. desember 2026"), a number
    (``Amount``) in the language's format (52,5 or 52.5); other values as they are."""
    if isinstance(value, Amount):
        return format_decimal(value.value, locale=language)
    if isinstance(value, Moment):
        return format_moment(value.at, value.style, timezone, language)
    if isinstance(value, date) and not isinstance(value, datetime):
        return format_date(value, "long", locale=language)
    return value


def translate(
    request: Request, text: Message | LazyText | str, params: dict[str, Any] | None = None
) -> str:
    """Translate a lazy message (plain strings pass through) for the request's reader; times
    and days in it are written the reader's way (``param_text``)."""
    language, zone = request_language(request), request.state.settings.timezone
    if params:
        params = {key: param_text(value, language, zone) for key, value in params.items()}
    elif isinstance(text, Message):
        # A message carried whole (an error's details): its values too.
        params = {key: param_text(value, language, zone) for key, value in text.params.items()}
        text = Message(text.text, params)
    message = Message(text, params) if isinstance(text, LazyText) and params else text
    return render_message(message, request_translations(request))


@pass_context
def template_gettext(context: Context, message: str) -> str:
    """``_()`` / ``{% trans %}`` in templates: translated in the request's language."""
    return str(context["translations"].gettext(message))


@pass_context
def template_ngettext(context: Context, singular: str, plural: str, count: float) -> str:
    """Plural forms in templates (a fractional count such as 1.5 points takes the plural)."""
    whole = int(count) if float(count).is_integer() else 2
    return str(context["translations"].ngettext(singular, plural, whole))


@pass_context
def format_number(context: Context, value: float) -> str:
    """A number as the reader writes it (1,5 in Norwegian, 1.5 in English; 2 not 2.0)."""
    return format_decimal(value, locale=context["lang"])


NO_FIGURE = "—"
"""What a figure the data cannot give is shown as (never "NaN")."""


def figure_text(value: float | None, language: str, digits: int = 2) -> str:
    """A statistic as the reader writes it with ``digits`` decimals (0,20 in Norwegian, 0.20 in
    English); a dash when there is none."""
    if value is None or not math.isfinite(value):
        return NO_FIGURE
    return format_decimal(round(value, digits), format="0." + "0" * digits, locale=language)


def share_text(value: float | None, language: str) -> str:
    """A share as a percentage (83 %, 83%); a dash when there is none."""
    if value is None or not math.isfinite(value):
        return NO_FIGURE
    return format_percent(value, locale=language)


@pass_context
def format_figure(context: Context, value: float | None, digits: int = 2) -> str:
    """The template filter ``figure``: ``figure_text`` in the reader's language."""
    return figure_text(value, context["lang"], digits)


@pass_context
def format_share(context: Context, value: float | None) -> str:
    """The template filter ``share``: ``share_text`` in the reader's language."""
    return share_text(value, context["lang"])


def language_choices() -> dict[str, str]:
    """The languages a reader can pick."""
    return dict(LANGUAGES)
