"""The one application error type. The web layer turns it into a translated 4xx response."""

from __future__ import annotations

from typing import Any

from vakt.i18n import LazyText, Message


class VaktError(Exception):
    """A failure the user can understand and act on; never a bug.

    ``message`` is translated when shown; ``params`` fill its ``{placeholders}``; ``field`` names
    the form field at fault, when there is one.
    """

    status_code = 400
    keeps_writes = False
    """True when what the request wrote before the refusal is to be kept: a record of the
    refusal itself (a refused late answer, a failed sign-in)."""

    def __init__(
        self,
        message: LazyText,
        *,
        field: str | None = None,
        status_code: int | None = None,
        details: list[Message | LazyText | str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message.msgid)
        self.message = message
        self.field = field
        self.params = params
        self.details = details or []
        if status_code is not None:
            self.status_code = status_code

    def __reduce__(self) -> tuple[Any, ...]:
        # Work done in another process (face analysis) raises these too; the default pickling
        # would rebuild the error from its message id alone and lose the rest.
        return (
            _rebuild,
            (type(self), self.message, self.field, self.status_code, self.details, self.params),
        )


def _rebuild(
    kind: type[VaktError],
    message: LazyText,
    field: str | None,
    status_code: int,
    details: list[Message | LazyText | str],
    params: dict[str, Any],
) -> VaktError:
    return kind(message, field=field, status_code=status_code, details=details, **params)


class NotFound(VaktError):
    """The thing asked for does not exist, or the user may not know it exists."""

    status_code = 404


class Forbidden(VaktError):
    """The user is known but their roles do not allow this."""

    status_code = 403


class Conflict(VaktError):
    """The request clashes with the current state (e.g. a workflow step out of order)."""

    status_code = 409


class TooManyRequests(VaktError):
    """Rate limited."""

    status_code = 429
