"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from exam.checkin import IdentityCheck
from exam.jobs import submit_overdue_forever
from exam.timing import Clock, SystemClock
from vakt.db import create_engine, create_sessionmaker
from vakt.errors import VaktError
from vakt.settings import Settings
from web import errors
from web.dbsession import DBSessionMiddleware
from web.headers import SecurityHeadersMiddleware
from web.oidc import create_oidc_client
from web.rendering import create_templates
from web.routes import auth, bank, blueprints, candidate, exam_api, home, oidc, staff
from web.state import AppState

STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "vakt_session"


def routes() -> list[BaseRoute]:
    """Every route of the application."""
    return [
        *home.routes(),
        *auth.routes(),
        *oidc.routes(),
        *bank.routes(),
        *blueprints.routes(),
        *exam_api.routes(),
        *candidate.routes(),
        *staff.routes(),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    identity_check: IdentityCheck | None = None,
) -> Starlette:
    """Build the ASGI application for these settings (``clock``: the time source, for tests;
    ``identity_check``: what identifies candidates before an exam)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[AppState]:
        engine = create_engine(settings.database_url, pool_pre_ping=True)
        sessionmaker = create_sessionmaker(engine)
        time_source = clock or SystemClock()
        peer_connections: set[Any] = set()
        background: list[asyncio.Task[None]] = []
        if settings.auto_submit_interval_seconds > 0:
            background.append(
                asyncio.create_task(
                    submit_overdue_forever(
                        sessionmaker, time_source, settings.auto_submit_interval_seconds
                    )
                )
            )
        try:
            yield AppState(
                settings=settings,
                engine=engine,
                sessionmaker=sessionmaker,
                templates=create_templates(settings.timezone),
                peer_connections=peer_connections,
                clock=time_source,
                oidc=create_oidc_client(settings),
                identity_check=identity_check,
            )
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            for connection in list(peer_connections):
                with contextlib.suppress(Exception):
                    await connection.close()
            await engine.dispose()

    middleware = [
        Middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie=SESSION_COOKIE,
            max_age=settings.session_max_age_seconds,
            same_site="lax",
            https_only=settings.secure_cookies,
        ),
        Middleware(DBSessionMiddleware),
    ]
    exception_handlers = {
        VaktError: errors.vakt_error,
        HTTPException: errors.http_error,
        Exception: errors.server_error,
    }
    return Starlette(
        debug=False,
        routes=routes(),
        middleware=middleware,
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """An app configured from the environment (for ``uvicorn --factory`` with several workers)."""
    return create_app(Settings())
