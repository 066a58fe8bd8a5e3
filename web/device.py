"""The device cookie that ties a running attempt to one browser (``exam.service.bind_device``)."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

DEVICE_COOKIE = "vakt_device"
DEVICE_COOKIE_MAX_AGE = 30 * 86400


def device_token(request: Request) -> str:
    """This browser's device token; a new one is made (and set by ``remember_device``) if absent."""
    token = request.cookies.get(DEVICE_COOKIE) or getattr(request.state, "new_device_token", None)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
        request.state.new_device_token = token
    return str(token)


def remember_device(request: Request, response: Response) -> Response:
    """Set the device cookie on the response when this request made a new token."""
    token = getattr(request.state, "new_device_token", None)
    if token:
        response.set_cookie(
            DEVICE_COOKIE,
            token,
            max_age=DEVICE_COOKIE_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=request.state.settings.secure_cookies,
        )
    return response
