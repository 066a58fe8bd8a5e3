"""The public pages, open without sign-in: verifying a certificate by its number (what the
QR code on the PDF opens) and a scheme's register of valid certificates.

Against scraping the register or guessing numbers, every request to these pages is counted
per client address in the database (so the limit holds across every worker process); past the
limit the answer is a 429 with Retry-After. The client address is the one uvicorn gives:
``vakt serve`` runs uvicorn with proxy headers on, and uvicorn trusts X-Forwarded-For only
from the addresses in FORWARDED_ALLOW_IPS (by default 127.0.0.1, a reverse proxy on the same
machine); from anywhere else the header is ignored and the connection's address counts."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from certification import verification
from certification.certificates import local_date
from vakt import ratelimit
from vakt.errors import VaktError
from vakt.i18n import _l
from web.dbsession import COMMIT_ON_ERROR
from web.endpoints import db, now, page
from web.errors import error_response
from web.i18n import translate
from web.rendering import render
from web.signin import client_address

RATE_SCOPE = "public"
TOO_MANY = _l("You have made many requests in a short time. Wait {seconds} seconds and try again.")


async def _refused(request: Request) -> Response | None:
    """A 429 with Retry-After once this client has used up the window's requests."""
    settings = request.state.settings
    verdict = await ratelimit.hit(
        db(request),
        key=ratelimit.client_key(RATE_SCOPE, client_address(request)),
        limit=settings.public_requests_per_window,
        window_seconds=settings.public_window_seconds,
        now=request.state.session_clock.now(),
    )
    # The count is kept whatever the answer: a 404 for a guessed number counts most of all
    # (these pages write nothing else).
    setattr(request.state, COMMIT_ON_ERROR, True)
    if verdict.allowed:
        return None
    message = translate(request, TOO_MANY, {"seconds": verdict.retry_after_seconds})
    response = error_response(request, 429, message, code="rate_limited")
    response.headers["Retry-After"] = str(verdict.retry_after_seconds)
    return response


def _today(request: Request) -> date:
    return local_date(now(request), request.state.settings.timezone)


def _form(
    request: Request, *, number: str = "", error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "certification/verify_form.html",
        {"number": number, "error": error},
        status_code=status_code,
    )


async def verify_form(request: Request) -> Response:
    """GET /verify: the form to verify a certificate by its number (``?number=`` looks it up)."""
    if refused := await _refused(request):
        return refused
    typed = request.query_params.get("number", "")
    if not typed.strip():
        return _form(request)
    try:
        number = verification.normalise_number(typed)
    except VaktError as exc:
        message = translate(request, exc.message, exc.params)
        return _form(request, number=typed[:100], error=message, status_code=exc.status_code)
    return RedirectResponse(f"/verify/{quote(number, safe='')}", status_code=303)


async def verify(request: Request) -> Response:
    """GET /verify/{number}: the certificate's holder, scheme, validity and status; nothing
    else about the person. An unknown number: a 404 page with the form to try again."""
    if refused := await _refused(request):
        return refused
    try:
        shown = await verification.verify(
            db(request), request.path_params["number"], _today(request)
        )
    except VaktError as exc:
        message = translate(request, exc.message, exc.params)
        return _form(request, error=message, status_code=exc.status_code)
    return render(request, "certification/verify.html", {"certificate": shown})


async def register(request: Request) -> Response:
    """GET /register/{scheme}: the scheme's valid certificates, searched by name or number
    (``?q=``); a 404 page saying so when the scheme keeps no public register."""
    if refused := await _refused(request):
        return refused
    try:
        shown = await verification.public_register(
            db(request),
            request.path_params["scheme"],
            request.query_params.get("q", ""),
            _today(request),
        )
    except VaktError as exc:
        message = translate(request, exc.message, exc.params)
        return error_response(request, exc.status_code, message, field=exc.field)
    return render(request, "certification/register.html", {"register": shown})


def routes() -> list[BaseRoute]:
    """The public verification and register pages (no sign-in)."""
    return [
        page("/verify", verify_form, login=False),
        page("/verify/{number}", verify, login=False),
        page("/register/{scheme}", register, login=False),
    ]
