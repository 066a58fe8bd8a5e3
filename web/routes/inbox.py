"""The signed-in person's inbox (``/my/inbox``): the messages Vakt sent them, newest first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from vakt import notifications
from web.endpoints import current_user, db, now, page, path_id
from web.i18n import request_language
from web.rendering import render

READ = "read"
"""Query flag on the inbox after a message was marked as read (the page then says so)."""


async def inbox_page(request: Request) -> Response:
    """GET /my/inbox: the person's messages, written in the language they read the site in."""
    session, user = db(request), current_user(request)
    rows = await notifications.inbox(session, user)
    language, zone = request_language(request), request.state.settings.timezone
    kinds = request.state.notification_kinds
    return render(
        request,
        "account/inbox.html",
        {
            "messages": [(row, notifications.render(row, kinds, language, zone)) for row in rows],
            "unread": await notifications.unread_count(session, user),
            "marked": READ in request.query_params,
        },
    )


async def mark_read(request: Request) -> Response:
    """POST /my/inbox/{id}/read: mark one of the person's own messages as read."""
    notification = await notifications.mark_read(
        db(request),
        user=current_user(request),
        notification_id=path_id(request, "notification_id"),
        now=now(request),
    )
    return RedirectResponse(f"/my/inbox?{READ}#message-{notification.id}", status_code=303)


def routes() -> list[BaseRoute]:
    """Inbox routes (any signed-in person)."""
    return [
        page("/my/inbox", inbox_page),
        page(
            "/my/inbox/{notification_id:id}/read",
            mark_read,
            methods=["POST"],
            name="mark_notification_read",
        ),
    ]
