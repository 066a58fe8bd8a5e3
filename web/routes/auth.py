"""Signing in and out, and choosing the language."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from vakt.accounts import LoginThrottle, SignInThrottled, authenticate
from vakt.errors import VaktError
from vakt.i18n import LANGUAGES, _l
from vakt.sessions import EndReason, end_session
from web.dbsession import COMMIT_ON_ERROR
from web.endpoints import (
    current_session,
    current_user,
    db,
    form_str,
    page,
    safe_next,
)
from web.i18n import LANGUAGE_COOKIE, translate
from web.oidc import eid_button_label
from web.rendering import render
from web.signin import client_address, start_session


async def login_form(request: Request) -> Response:
    """The sign-in page."""
    return render(
        request,
        "login.html",
        {
            "next": safe_next(request.query_params.get("next")),
            "eid_label": eid_button_label(request),
        },
    )


async def login(request: Request) -> Response:
    """Check the password; on success start a fresh session (no fixation)."""
    form = await request.form()
    username = form_str(form, "username")
    next_url = safe_next(form_str(form, "next"))
    settings = request.state.settings
    # Failed attempts must be remembered even though the answer is an error.
    setattr(request.state, COMMIT_ON_ERROR, True)
    try:
        if not username.strip() or not form_str(form, "password"):
            raise VaktError(_l("Enter your username and password."))
        user = await authenticate(
            db(request),
            username=username,
            password=form_str(form, "password"),
            address=client_address(request),
            now=request.state.session_clock.now(),
            throttle=LoginThrottle.from_settings(settings),
        )
    except VaktError as exc:
        response = render(
            request,
            "login.html",
            {
                "next": next_url,
                "username": username,
                "error": translate(request, exc.message, exc.params),
                "eid_label": eid_button_label(request),
            },
            status_code=exc.status_code,
        )
        if isinstance(exc, SignInThrottled):
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    return await start_session(request, user, next_url)


async def logout(request: Request) -> Response:
    """End the session, on the server too: a copy of the cookie opens nothing afterwards."""
    row = current_session(request)
    if row is not None:
        await end_session(
            db(request),
            row,
            now=request.state.session_clock.now(),
            reason=EndReason.SIGNED_OUT,
            actor_id=current_user(request).id,
        )
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def set_language(request: Request) -> Response:
    """Remember the reader's language choice in a cookie (works signed in or out)."""
    form = await request.form()
    language = form_str(form, "language")
    if language not in LANGUAGES:
        raise VaktError(_l("Unknown language."), field="language")
    response = RedirectResponse(safe_next(form_str(form, "next")), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=365 * 86400,
        samesite="lax",
        secure=request.state.settings.secure_cookies,
    )
    return response


def routes() -> list[BaseRoute]:
    """Sign-in routes."""
    return [
        page("/login", login_form, login=False),
        page("/login", login, methods=["POST"], login=False, name="login_submit"),
        page("/logout", logout, methods=["POST"]),
        page("/language", set_language, methods=["POST"], login=False),
    ]
