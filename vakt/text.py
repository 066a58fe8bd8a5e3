"""What counts as text: the one rule every way in applies (forms, JSON, imports, the CLI)."""

from __future__ import annotations

import re

from vakt.i18n import _l

_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
"""Control characters other than tab and line breaks (a database refuses NUL, XML refuses the
others), and halves of a UTF-16 surrogate pair, which are not characters at all."""


def unstorable_text(text: str) -> bool:
    """True for text that cannot be stored, hashed for a receipt or written out again."""
    return _UNSTORABLE.search(text) is not None


UNSTORABLE_TEXT = _l(
    "The text holds characters that cannot be stored (control characters such as NUL, or "
    "broken Unicode). Remove them and try again."
)
"""What a person is told when text breaks the rule, wherever it came in."""


def storable(text: str, field: str) -> str:
    """``text`` when it can be stored; else a 400 naming the field (for services that take text
    from more than one way in)."""
    from vakt.errors import VaktError

    if unstorable_text(text):
        raise VaktError(UNSTORABLE_TEXT, field=field)
    return text
