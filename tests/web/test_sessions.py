"""Sessions over HTTP: signing out ends the session on the server, a new sign-in gets a new id,
idle and absolute timeouts, a candidate mid-exam stays signed in, and one query per request."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from exam.timing import FixedClock
from tests.exam.factories import OPENS, Exam
from tests.web.helpers import accept_rules, browsers, csrf, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.sessions import UserSession, token_digest
from vakt.settings import Settings

COOKIE = "vakt_session"


@pytest.fixture
def clock() -> FixedClock:
    """Exam time and session time in one clock, moved by the tests instead of waiting."""
    return FixedClock(OPENS + timedelta(minutes=1))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No background jobs: the statements a request makes are counted, and only its own count.
    return settings.model_copy(
        update={
            "auto_submit_interval_seconds": 0,
            "proctoring_watch_interval_seconds": 0,
            "retention_interval_seconds": 0,
        }
    )


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Starlette:
    from web.app import create_app

    return create_app(settings, clock=clock, session_clock=clock)


def _cookie_content(client: httpx.AsyncClient) -> dict[str, Any]:
    """What the signed session cookie carries (its first part is base64 JSON)."""
    value = client.cookies[COOKIE]
    payload = value.split(".")[0]
    content: dict[str, Any] = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return content


async def _sign_out(client: httpx.AsyncClient) -> None:
    response = await client.post("/logout", data={"csrf_token": await csrf(client, "/")})
    assert response.status_code == 303


@pytest.mark.asyncio
async def test_a_copied_cookie_opens_nothing_after_signing_out(
    client: httpx.AsyncClient, users: dict[str, User], session: AsyncSession
) -> None:
    await sign_in(client, "candidate")
    copied = client.cookies[COOKIE]
    assert (await client.get("/my")).status_code == 200
    await _sign_out(client)

    client.cookies.set(COOKIE, copied)
    page = await client.get("/my")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/my"
    client.cookies.set(COOKIE, copied)
    api = await client.get("/api/attempts/1", headers={"Accept-Language": "en"})
    assert api.status_code == 401
    assert api.json()["error"]["message"] == "Please sign in."

    row = await session.scalar(select(UserSession))
    assert row is not None and row.ended_reason == "signed_out"
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "auth.session_ended")
    )
    assert entry is not None and entry.actor_id == users["candidate"].id


@pytest.mark.asyncio
async def test_the_cookie_holds_only_a_random_id_that_each_sign_in_renews(
    client: httpx.AsyncClient, users: dict[str, User], session: AsyncSession
) -> None:
    await client.get("/login")
    before = _cookie_content(client)
    assert set(before) == {"csrf"}
    await sign_in(client, "candidate")
    first = _cookie_content(client)
    assert set(first) == {"sid", "csrf"}  # no user id: the server knows whose it is
    assert first["csrf"] != before["csrf"]  # the CSRF token belongs to the session
    copied = client.cookies[COOKIE]

    # Signing in again in the same browser gets a new id; the old one is ended.
    await sign_in(client, "candidate")
    second = _cookie_content(client)
    assert second["sid"] != first["sid"]
    assert second["csrf"] != first["csrf"]
    assert (await client.get("/my")).status_code == 200
    client.cookies.set(COOKIE, copied)
    assert (await client.get("/my")).status_code == 303

    rows = (await session.scalars(select(UserSession).order_by(UserSession.id))).all()
    assert [row.token_digest for row in rows] == [
        token_digest(first["sid"]),
        token_digest(second["sid"]),
    ]
    assert [row.ended_reason for row in rows] == ["signed_in_again", None]
    assert rows[1].address == "127.0.0.1" and "python-httpx" in rows[1].user_agent


@pytest.mark.asyncio
async def test_a_forged_session_id_is_signed_out(
    client: httpx.AsyncClient, users: dict[str, User], settings: Settings
) -> None:
    # Even with the signing key, an id the server did not hand out opens nothing.
    from itsdangerous import TimestampSigner

    payload = base64.b64encode(json.dumps({"sid": "guessed", "csrf": "x"}).encode())
    forged = TimestampSigner(settings.secret_key).sign(payload).decode()
    client.cookies.set(COOKIE, forged)
    assert (await client.get("/")).status_code == 303


@pytest.mark.asyncio
async def test_idle_timeout(
    client: httpx.AsyncClient, users: dict[str, User], clock: FixedClock
) -> None:
    await sign_in(client, "item_writer")
    for _ in range(3):
        clock.advance(timedelta(minutes=29))
        assert (await client.get("/")).status_code == 200
    clock.advance(timedelta(minutes=30, seconds=1))
    page = await client.get("/items")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/items"
    assert "sid" not in _cookie_content(client)  # the browser stops sending a dead id


@pytest.mark.asyncio
async def test_absolute_timeout(
    client: httpx.AsyncClient, users: dict[str, User], clock: FixedClock
) -> None:
    await sign_in(client, "item_writer")
    for _ in range(23):  # busy all the time, for 7 h 40 min
        clock.advance(timedelta(minutes=20))
        assert (await client.get("/")).status_code == 200
    clock.advance(timedelta(minutes=20))  # 8 h after signing in
    assert (await client.get("/")).status_code == 303


@pytest.mark.asyncio
async def test_a_candidate_mid_exam_is_not_signed_out_for_idleness(
    app: Starlette, exam: Exam, clock: FixedClock
) -> None:
    async with browsers(app, "10.0.0.1", "10.0.0.2") as (candidate, other):
        await sign_in(candidate, "candidate")
        await sign_in(other, "kandidat2", "x" * 12)
        await accept_rules(candidate, exam.registration_id)
        started = await candidate.post(
            f"/api/registrations/{exam.registration_id}/attempt",
            headers={"X-CSRF-Token": await csrf(candidate, "/")},
        )
        assert started.status_code == 201, started.text
        attempt_id = started.json()["attempt_id"]

        # Reading a long case without a request that needs the sign-in.
        clock.advance(timedelta(minutes=45))
        assert (await candidate.get(f"/api/attempts/{attempt_id}")).status_code == 200
        assert (await candidate.get("/my")).status_code == 200
        # Someone without an exam in progress is signed out after the same pause.
        assert (await other.get("/my")).status_code == 303


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement sent to any database while the test runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(Engine, "before_cursor_execute", record)
    yield sent
    event.remove(Engine, "before_cursor_execute", record)


@pytest.mark.asyncio
async def test_one_query_per_request_and_last_seen_written_once_a_minute(
    client: httpx.AsyncClient,
    users: dict[str, User],
    clock: FixedClock,
    session: AsyncSession,
    statements: list[str],
) -> None:
    await sign_in(client, "writer_reviewer")
    signed_in_at = clock.now()
    for _ in range(3):
        statements.clear()
        clock.advance(timedelta(seconds=15))
        page = await client.get("/", headers={"Accept-Language": "en"})
        assert page.status_code == 200 and "Item reviewer, Item writer" in page.text
        # The session, the user and the roles in one query, and nothing written.
        assert len(statements) == 1, statements
        assert statements[0].lstrip().upper().startswith("SELECT")
    row = await session.scalar(select(UserSession))
    assert row is not None and row.last_seen_at == signed_in_at

    statements.clear()
    clock.advance(timedelta(seconds=15))  # a minute after signing in
    assert (await client.get("/")).status_code == 200
    assert [s.lstrip().split()[0].upper() for s in statements] == ["SELECT", "UPDATE"]
    await session.refresh(row)
    assert row.last_seen_at == clock.now()


@pytest.mark.asyncio
async def test_open_api_routes_do_not_look_up_the_session(
    client: httpx.AsyncClient, users: dict[str, User], statements: list[str]
) -> None:
    await sign_in(client, "candidate")
    statements.clear()
    assert (await client.get("/api/time")).status_code == 200
    assert statements == []
