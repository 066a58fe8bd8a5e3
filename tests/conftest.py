"""Shared fixtures: a fresh, migrated database per test (SQLite by default, PostgreSQL when
``VAKT_TEST_DATABASE_URL`` names a server), the app, an HTTP client and users for every role.

Each test gets its own database copied from a migrated template, so tests commit for real (as the
application does) and still never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from exam.timing import Clock, FixedClock
from tests.exam.factories import OPENS, Exam, build_exam
from vakt.accounts import Role, User, create_user
from vakt.db import create_engine, create_sessionmaker
from vakt.dbadmin import upgrade
from vakt.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
TESTDATA = SHARED / "testdata"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that every test's database is copied from."""
    server = os.environ.get("VAKT_TEST_DATABASE_URL")
    if not server:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        asyncio.run(_seed_users(url))
        yield url
        return
    name = f"vakt_tpl_{uuid.uuid4().hex[:10]}"
    _pg_execute(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    asyncio.run(_seed_users(url))
    yield url
    _pg_execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_execute(server_url: str, statement: str) -> None:
    """Run one statement on the server's maintenance database (CREATE/DROP DATABASE)."""
    import asyncpg

    url = make_url(server_url)

    async def execute() -> None:
        connection = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password,
            database="postgres",
        )  # fmt: skip
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute())


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database for one test."""
    url = make_url(template_database)
    if url.drivername.startswith("sqlite"):
        assert url.database is not None
        copy = tmp_path / "test.sqlite3"
        shutil.copyfile(url.database, copy)
        yield f"sqlite+aiosqlite:///{copy}"
        return
    name = f"vakt_t_{uuid.uuid4().hex[:12]}"
    _pg_execute(template_database, f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    _pg_execute(template_database, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own database and data folder."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + "x" * 32,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest_asyncio.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The test database's engine."""
    engine = create_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session on the test database; the test commits when it needs to."""
    async with create_sessionmaker(engine)() as session:
        yield session


USERNAMES = [role.value for role in Role] + ["item_writer2", "writer_reviewer"]


async def _seed_users(url: str) -> None:
    """One user per role (username = role name, password ``PASSWORD``), plus a second writer and
    a writer who is also a reviewer. Made once in the template: argon2 is slow on purpose."""
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        for role in Role:
            await create_user(
                session, username=role.value, full_name=role.value.replace("_", " ").title(),
                password=PASSWORD, roles={role},
            )  # fmt: skip
        await create_user(
            session, username="item_writer2", full_name="Second Writer", password=PASSWORD,
            roles={Role.ITEM_WRITER},
        )  # fmt: skip
        await create_user(
            session, username="writer_reviewer", full_name="Writer And Reviewer",
            password=PASSWORD, roles={Role.ITEM_WRITER, Role.ITEM_REVIEWER},
        )  # fmt: skip
        await session.commit()
    await engine.dispose()


@pytest_asyncio.fixture
async def users(session: AsyncSession) -> dict[str, User]:
    """The template's users by username."""
    rows = (await session.scalars(select(User).where(User.username.in_(USERNAMES)))).all()
    return {user.username: user for user in rows}


@pytest.fixture
def clock() -> FixedClock:
    """The exams' clock in the served app: a minute after the test sittings open; a test moves it
    instead of waiting (sessions and sign-in keep the real time)."""
    return FixedClock(OPENS + timedelta(minutes=1))


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Starlette:
    """The application (its lifespan is run by the ``client`` fixture)."""
    from web.app import create_app

    return create_app(settings, clock=clock)


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    """A scheme with a two-part exam, a sitting and two registered candidates (not proctored);
    see ``tests.exam.factories.build_exam``."""
    return await build_exam(session, users)


@pytest_asyncio.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the running app through the ASGI stack."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(
            app=manager.app, client=("127.0.0.1", 50000), raise_app_exceptions=False
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def shared_testdata(*parts: str) -> Path:
    """A path under ../shared/testdata; skips the test when the folder is absent."""
    path = TESTDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found at {path}")
    return path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server_clock() -> Clock | None:
    """The served app's clock: the system's, unless a test module supplies a ``FixedClock``."""
    return None


@pytest.fixture
def live_server(settings: Settings, server_clock: Clock | None) -> Iterator[str]:
    """The application served by uvicorn in a background thread; yields its base URL."""
    from web.app import create_app

    yield from serve(create_app(settings, clock=server_clock))


def serve(app: Starlette) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread until the generator is closed; yields
    its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
