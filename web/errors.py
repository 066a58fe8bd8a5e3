"""Error responses: a clear message in the reader's language, as a page or as JSON; never a
traceback."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy.exc
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from vakt.errors import VaktError
from vakt.i18n import LazyText, _l
from web.dbsession import COMMIT_ON_ERROR
from web.endpoints import NotSignedIn
from web.i18n import translate
from web.rendering import render

logger = logging.getLogger(__name__)

HTTP_MESSAGES: dict[int, LazyText] = {
    400: _l("The request could not be understood."),
    401: _l("Please sign in."),
    403: _l("You do not have access to this."),
    404: _l("The page you asked for does not exist."),
    405: _l("This action is not available here."),
    413: _l("The upload is too large."),
    429: _l("Too many requests. Wait a little and try again."),
    503: _l(
        "The server is very busy right now. Try again in a moment; "
        "nothing that was saved before is lost."
    ),
    500: _l("Something went wrong on our side. Nothing you did caused it; please try again."),
}
TITLES: dict[int, LazyText] = {
    401: _l("Sign-in needed"),
    403: _l("No access"),
    404: _l("Not found"),
    500: _l("Server error"),
    503: _l("Busy"),
}
BUSY_RETRY_AFTER_SECONDS = 5


def wants_json(request: Request) -> bool:
    """True for API calls and clients that ask for JSON."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    field: str | None = None,
    details: list[str] | None = None,
    code: str = "error",
) -> Response:
    """The same error as JSON for programs or as a page for people."""
    if wants_json(request):
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        if field:
            body["error"]["field"] = field
        if details:
            body["error"]["details"] = details
        return JSONResponse(body, status_code=status)
    title = translate(request, TITLES.get(status, _l("Something is not right")))
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message, "details": details or []},
        status_code=status,
    )


async def vakt_error(request: Request, exc: Exception) -> Response:
    """A domain error: its own message, translated."""
    assert isinstance(exc, VaktError)
    if isinstance(exc, NotSignedIn) and not wants_json(request):
        return RedirectResponse("/login", status_code=303)
    if exc.keeps_writes:
        setattr(request.state, COMMIT_ON_ERROR, True)
    return error_response(
        request,
        exc.status_code,
        translate(request, exc.message, exc.params),
        field=exc.field,
        details=[translate(request, d) for d in exc.details],
        code=type(exc).__name__,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's HTTP errors (404 for unknown paths, 405, malformed forms)."""
    assert isinstance(exc, HTTPException)
    message = HTTP_MESSAGES.get(exc.status_code, HTTP_MESSAGES[400])
    return error_response(
        request, exc.status_code, translate(request, message), code=f"http_{exc.status_code}"
    )


async def server_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: logged in full, shown to the reader only as a plain apology."""
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # The request's database session is gone by now; show the page without account details.
    request.state.user = None
    return error_response(request, 500, translate(request, HTTP_MESSAGES[500]), code="server_error")


DATABASE_LOST = _l(
    "The server lost its connection to the database for a moment. Try again; "
    "nothing that was saved before is lost."
)


async def database_error(request: Request, exc: Exception) -> Response:
    """A database error. A connection found dead (the database restarted, or dropped it) fails
    only this request: SQLAlchemy has renewed the pool, so it is a 503 to try again at once. A
    wait for a lock that ran out (SQLite's busy timeout under many writers, a PostgreSQL
    deadlock or lock timeout) is an overloaded server: a 503 to try again in a while. Anything
    else is unexpected (a 500)."""
    assert isinstance(exc, sqlalchemy.exc.DBAPIError)
    if _lock_wait_ran_out(exc):
        return await database_busy(request, exc)
    if not exc.connection_invalidated:
        return await server_error(request, exc)
    logger.warning("database connection lost on %s %s", request.method, request.url.path)
    return _try_again(request, DATABASE_LOST, retry_after_seconds=1)


_LOCK_SQLSTATES = frozenset({"40P01", "55P03"})
"""PostgreSQL's deadlock_detected and lock_not_available."""


def _lock_wait_ran_out(exc: sqlalchemy.exc.DBAPIError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in _LOCK_SQLSTATES:
        return True
    return isinstance(exc, sqlalchemy.exc.OperationalError) and "database is locked" in str(
        exc.orig
    )


async def database_busy(request: Request, exc: Exception) -> Response:
    """Every database connection stayed taken for the pool's whole timeout: the server is
    overloaded. A 503 with Retry-After, not a 500: the exam page keeps the answer and sends it
    again, and a person is told to try again rather than that something broke."""
    logger.warning(
        "no database connection free on %s %s: %s", request.method, request.url.path, exc
    )
    return _try_again(request, HTTP_MESSAGES[503], retry_after_seconds=BUSY_RETRY_AFTER_SECONDS)


def _try_again(request: Request, message: LazyText, *, retry_after_seconds: int) -> Response:
    # The request's database session cannot be used; show the answer without account details.
    request.state.user = None
    response = error_response(request, 503, translate(request, message), code="busy")
    response.headers["Retry-After"] = str(retry_after_seconds)
    return response
