"""The administrators' list of users, where sessions can be ended."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from vakt.accounts import Role, User
from vakt.errors import NotFound
from vakt.i18n import _l
from vakt.sessions import EndReason, SessionPolicy, active_session_counts, end_sessions
from web.endpoints import current_user, db, page
from web.rendering import render

ADMINISTRATORS = (Role.ADMINISTRATOR,)


async def user_list(request: Request) -> Response:
    """Every user with their roles and how many sessions they have in use."""
    session = db(request)
    users = (await session.scalars(select(User).order_by(User.username))).all()
    counts = await active_session_counts(
        session,
        now=request.state.session_clock.now(),
        policy=SessionPolicy.from_settings(request.state.settings),
    )
    return render(request, "staff/users.html", {"users": users, "session_counts": counts})


async def end_user_sessions(request: Request) -> Response:
    """Sign a user out everywhere (a lost laptop, a shared computer, a suspicion)."""
    session = db(request)
    user = await session.get(User, request.path_params["user_id"])
    if user is None:
        raise NotFound(_l("There is no such user."))
    await end_sessions(
        session,
        user.id,
        now=request.state.session_clock.now(),
        reason=EndReason.ENDED_BY_ADMINISTRATOR,
        actor_id=current_user(request).id,
    )
    return RedirectResponse(f"/staff/users#user-{user.id}", status_code=303)


def routes() -> list[BaseRoute]:
    """User administration routes (administrators only)."""
    return [
        page("/staff/users", user_list, roles=ADMINISTRATORS),
        page(
            "/staff/users/{user_id:id}/sessions/end",
            end_user_sessions,
            methods=["POST"],
            roles=ADMINISTRATORS,
        ),
    ]
