"""The signed-in person's own account: changing the password, and where they are signed in."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from vakt.accounts import MIN_PASSWORD_LENGTH, LoginThrottle, SignInThrottled
from vakt.errors import VaktError
from vakt.sessions import SessionPolicy, change_password, sessions_of
from web.dbsession import COMMIT_ON_ERROR
from web.endpoints import current_session, current_user, db, form_str, page
from web.i18n import translate
from web.rendering import render
from web.signin import client_address

CHANGED = "changed"
"""Query flag on the page after a password change (the page then says it is done)."""


async def _render(
    request: Request,
    *,
    error: str | None = None,
    error_field: str | None = None,
    status_code: int = 200,
) -> Response:
    user = current_user(request)
    this_session = current_session(request)
    context: dict[str, Any] = {
        "has_password": bool(user.password_hash),
        "min_length": MIN_PASSWORD_LENGTH,
        "changed": CHANGED in request.query_params,
        "error": error,
        "error_field": error_field,
        "sessions": await sessions_of(
            db(request),
            user.id,
            now=request.state.session_clock.now(),
            policy=SessionPolicy.from_settings(request.state.settings),
        ),
        "this_session_id": this_session.id if this_session else None,
    }
    return render(request, "account/password.html", context, status_code=status_code)


async def password_form(request: Request) -> Response:
    """The password form, and the sessions the person has open."""
    return await _render(request)


async def password_submit(request: Request) -> Response:
    """Change the password; every other session of the person ends."""
    form = await request.form()
    # A wrong current password must be counted even though the answer is an error.
    setattr(request.state, COMMIT_ON_ERROR, True)
    try:
        await change_password(
            db(request),
            current_user(request),
            current=form_str(form, "current_password"),
            new=form_str(form, "new_password"),
            repeated=form_str(form, "new_password_again"),
            keep=current_session(request),
            address=client_address(request),
            now=request.state.session_clock.now(),
            throttle=LoginThrottle.from_settings(request.state.settings),
        )
    except VaktError as exc:
        response = await _render(
            request,
            error=translate(request, exc.message, exc.params),
            error_field=exc.field,
            status_code=exc.status_code,
        )
        if isinstance(exc, SignInThrottled):
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    return RedirectResponse(f"/account/password?{CHANGED}", status_code=303)


def routes() -> list[BaseRoute]:
    """Account routes (any signed-in person)."""
    return [
        page("/account/password", password_form),
        page(
            "/account/password",
            password_submit,
            methods=["POST"],
            name="password_submit",
        ),
    ]
