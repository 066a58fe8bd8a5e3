"""One database session per request, committed or rolled back at the boundary.

The commit happens just before the response starts, so a client is never told "done" about work
that did not commit, and a failed commit still becomes a proper error response.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vakt.i18n import _l
from web.i18n import translate

logger = logging.getLogger(__name__)

COMMIT_ON_ERROR = "commit_on_error"
"""Set ``request.state.commit_on_error = True`` to keep writes of a request that answers 4xx
(e.g. a failed login, which must still be counted)."""


class DBSessionMiddleware:
    """Opens ``request.state.db`` for each HTTP request and ends its transaction."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Per-request state must not leak between requests, whatever the server passes in.
        state = scope["state"] = dict(scope.get("state") or {})
        async with state["sessionmaker"]() as session:
            state["db"] = session
            started = False
            failed = False

            async def send_after_commit(message: Message) -> None:
                nonlocal started, failed
                if failed:
                    return  # the error response replaced this one
                if message["type"] == "http.response.start" and not started:
                    started = True
                    keep = message["status"] < 400 or state.get(COMMIT_ON_ERROR, False)
                    try:
                        await (session.commit() if keep else session.rollback())
                    except Exception:
                        logger.exception("commit failed")
                        await session.rollback()
                        failed = True
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 500,
                                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                            }
                        )
                        message_text = translate(
                            Request(scope),
                            _l("The change could not be saved. Please try again."),
                        )
                        await send(
                            {"type": "http.response.body", "body": message_text.encode("utf-8")}
                        )
                        return
                await send(message)

            try:
                await self.app(scope, receive, send_after_commit)
            except Exception:
                await session.rollback()
                raise
