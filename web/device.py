"""The device cookie that ties a running attempt to one browser (``exam.devices.bind_device``).

Whenever a request makes a new device token, its answer carries the cookie, whatever the
answer is (``DeviceCookieMiddleware``): an attempt bound to a token its browser never received
would lock that browser out.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exam import devices
from exam.models import Attempt, AttemptStatus
from web.endpoints import csrf_token, current_user

DEVICE_COOKIE = "vakt_device"
DEVICE_COOKIE_MAX_AGE = 30 * 86400
NEW_TOKEN = "new_device_token"  # noqa: S105 - the name of a request state attribute


def device_token(request: Request) -> str:
    """This browser's device token; a new one is made (and set on the answer) if absent."""
    token = request.cookies.get(DEVICE_COOKIE) or getattr(request.state, NEW_TOKEN, None)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
        setattr(request.state, NEW_TOKEN, token)
    return str(token)


async def bind_this_browser(request: Request, attempt: Attempt) -> None:
    """Tie a running attempt to this browser; refused (403) on another computer."""
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return
    token = device_token(request)
    await devices.bind_device(
        request.state.db,
        attempt=attempt,
        device_token=token,
        device_is_new=getattr(request.state, NEW_TOKEN, None) == token,
        # The session's CSRF token is a secret of this sign-in: the same sign-in may bind again
        # when the answer that carried the device cookie was lost.
        sign_in=csrf_token(request),
        actor=current_user(request),
        now=request.state.clock.now(),
    )


class DeviceCookieMiddleware:
    """Sets the device cookie on the answer of every request that made a new device token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                token = (scope.get("state") or {}).get(NEW_TOKEN)
                if token:
                    settings = scope["state"]["settings"]
                    cookie: SimpleCookie = SimpleCookie()
                    cookie[DEVICE_COOKIE] = token
                    morsel = cookie[DEVICE_COOKIE]
                    morsel["max-age"] = DEVICE_COOKIE_MAX_AGE
                    morsel["path"] = "/"
                    morsel["httponly"] = True
                    morsel["samesite"] = "strict"
                    if settings.secure_cookies:
                        morsel["secure"] = True
                    MutableHeaders(scope=message).append("set-cookie", morsel.OutputString())
            await send(message)

        await self.app(scope, receive, send_with_cookie)
