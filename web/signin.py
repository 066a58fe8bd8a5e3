"""Signing a user in, the same for every way in (password, e-ID): a fresh server-side session
and its cookie. Used by the sign-in, e-ID and account routes (no routes here)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vakt import sessions
from vakt.accounts import User
from vakt.sessions import EndReason, SessionPolicy
from web.endpoints import SESSION_ID, csrf_token, db
from web.i18n import LANGUAGE_COOKIE


def client_address(request: Request) -> str:
    """The network address the request came from."""
    return request.client.host if request.client else "unknown"


async def start_session(request: Request, user: User, next_url: str) -> Response:
    """Sign ``user`` in with a fresh session and send them on to ``next_url``.

    The browser gets a new random id (no fixation), and a session it held before is ended, so a
    copy of the old cookie opens nothing. Every way of signing in (password, e-ID) ends here, so
    sessions always look the same.
    """
    session = db(request)
    now = request.state.session_clock.now()
    previous = request.session.get(SESSION_ID)
    if isinstance(previous, str):
        # Found by its id again, not taken from the request's state: e-ID sign-in may have
        # rolled the transaction back since, which leaves loaded rows unusable.
        await sessions.end_session_with_token(
            session, previous, now=now, reason=EndReason.SIGNED_IN_AGAIN, actor_id=user.id
        )
    token = await sessions.start_session(
        session,
        user,
        now=now,
        policy=SessionPolicy.from_settings(request.state.settings),
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    request.session.clear()
    request.session[SESSION_ID] = token
    csrf_token(request)
    request.state.user = user
    response = RedirectResponse(next_url, status_code=303)
    if user.language and not request.cookies.get(LANGUAGE_COOKIE):
        response.set_cookie(LANGUAGE_COOKIE, user.language, max_age=365 * 86400, samesite="lax")
    return response
