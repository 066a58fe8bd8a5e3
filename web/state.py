"""The typed state the application's lifespan yields (available as ``request.state``)."""

from __future__ import annotations

from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.templating import Jinja2Templates

from exam.checkin import IdentityCheck
from exam.timing import Clock
from vakt.settings import Settings


class AppState(TypedDict):
    """What lives as long as the application: settings, database, templates, live connections."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    templates: Jinja2Templates
    peer_connections: set[Any]
    clock: Clock
    oidc: Any
    """The e-ID client (Authlib), or None when e-ID sign-in is off (``web.oidc``)."""
    identity_check: IdentityCheck | None
    """The identity check before an exam (proctoring); None skips the step."""
