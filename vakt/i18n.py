"""The translation layer: gettext catalogs (Babel) for Norwegian bokmål and English.

Source strings are English. Code marks them with ``_l`` (lazy: translated when shown, in the
reader's language); templates use ``{% trans %}`` / ``_()``. Catalogs are the ``.po`` files under
``vakt/locale``; they are compiled in memory when first used, so no binary files are kept.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES: dict[str, str] = {"nb": "Norsk bokmål", "en": "English"}
DEFAULT_LANGUAGE = "nb"


@dataclass(frozen=True)
class LazyText:
    """A message id that is translated only when it reaches a reader."""

    msgid: str

    def render(self, translations: NullTranslations, params: dict[str, Any] | None = None) -> str:
        """Translate into the reader's language and fill in ``{name}`` placeholders."""
        text = translations.gettext(self.msgid)
        return text.format(**params) if params else text

    def __str__(self) -> str:
        return self.msgid


@dataclass(frozen=True)
class Message:
    """A lazy text with the values for its placeholders."""

    text: LazyText
    params: dict[str, Any]

    def render(self, translations: NullTranslations) -> str:
        """Translate and fill in."""
        return self.text.render(translations, self.params)


@dataclass(frozen=True)
class Moment:
    """A point in time in a message. Services keep UTC and know nothing of the reader; the time is
    written in the body's time zone and the reader's language when the message is shown.

    ``style``: "time" (22:44:59), "date" (4. des. 2026), "short" or "medium" (date and time).
    """

    at: datetime
    style: str = "short"

    def __str__(self) -> str:
        return self.at.isoformat()


@dataclass(frozen=True)
class Amount:
    """A number in a message (points, a score). Services keep the value; it is written the
    reader's way when the message is shown (52,5 in Norwegian, 52.5 in English)."""

    value: float

    def __str__(self) -> str:
        return f"{self.value:g}"


def _l(msgid: str) -> LazyText:
    """Mark a string for translation at the time it is shown."""
    return LazyText(msgid)


def normalise_language(value: str | None) -> str | None:
    """Map a language tag (``nb-NO``, ``no``, ``en-GB``) to a supported language, or None."""
    if not value:
        return None
    primary = value.strip().lower().replace("_", "-").split("-")[0]
    if primary in ("no", "nn", "nb"):
        return "nb"
    return primary if primary in LANGUAGES else None


def negotiate_language(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Pick the best supported language from an Accept-Language header."""
    if not accept_language:
        return default
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = normalise_language(tag)
        if language and quality > 0:
            weighted.append((-quality, position, language))
    return sorted(weighted)[0][2] if weighted else default


@cache
def translations_for(language: str) -> NullTranslations:
    """The compiled catalog for a language (English falls back to the source strings)."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    po_file = resources.files("vakt") / "locale" / language / "LC_MESSAGES" / "messages.po"
    if not po_file.is_file():
        return NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def format_moment(moment: datetime, style: str, timezone: str, language: str) -> str:
    """A stored (UTC) time as a person reads it: in ``timezone``, written the ``language``'s way.

    ``style``: "time" (hours, minutes, seconds), "date", or a Babel date-time format such as
    "short" and "medium"."""
    zone = ZoneInfo(timezone)
    if style == "time":
        return format_time(moment, "HH:mm:ss", tzinfo=zone, locale=language)
    if style == "date":
        return format_date(moment.astimezone(zone).date(), "medium", locale=language)
    return format_datetime(moment, style, tzinfo=zone, locale=language)
