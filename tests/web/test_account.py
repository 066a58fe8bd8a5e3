"""The account page over HTTP: changing the password signs the person out everywhere else;
bad input gets a clear answer; e-ID accounts have no password to change."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from exam.timing import FixedClock
from tests.conftest import PASSWORD
from tests.web.helpers import browsers, csrf, csrf_from, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.oidc import sign_in_external
from vakt.sessions import SessionPolicy, start_session
from vakt.settings import Settings
from web.endpoints import SESSION_ID

ENGLISH = {"Accept-Language": "en"}
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def session_clock() -> FixedClock:
    return FixedClock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))


@pytest.fixture
def app(settings: Settings, session_clock: FixedClock) -> Starlette:
    from web.app import create_app

    return create_app(settings, session_clock=session_clock)


async def _change(
    client: httpx.AsyncClient, current: str, new: str, again: str | None = None
) -> httpx.Response:
    token = await csrf(client, "/account/password")
    return await client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
        },
        headers=ENGLISH,
    )


@pytest.mark.asyncio
async def test_a_password_change_signs_out_every_other_browser(
    app: Starlette, users: dict[str, User], session: AsyncSession
) -> None:
    async with browsers(app, "10.0.0.1", "10.0.0.2") as (here, elsewhere):
        await sign_in(here, "grader")
        await sign_in(elsewhere, "grader")
        page = await here.get("/account/password", headers=ENGLISH)
        assert page.status_code == 200
        assert 'autocomplete="current-password"' in page.text
        assert "Where you are signed in" in page.text and "10.0.0.2" in page.text
        assert "(this browser)" in page.text

        changed = await _change(here, PASSWORD, NEW_PASSWORD)
        assert changed.status_code == 303
        done = await here.get(changed.headers["location"], headers=ENGLISH)
        assert "Your password has been changed" in done.text
        assert "10.0.0.2" not in done.text  # that session is over

        assert (await elsewhere.get("/")).status_code == 303
        assert (await here.get("/")).status_code == 200
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "auth.password_changed")
    )
    assert entry is not None and entry.actor_id == users["grader"].id

    # The new password signs in; the old one does not.
    async with browsers(app, "10.0.0.3") as (later,):
        await sign_in(later, "grader", NEW_PASSWORD)
        token = await csrf(later)
        old = await later.post(
            "/login", data={"username": "grader", "password": PASSWORD, "csrf_token": token}
        )
        assert old.status_code == 401


@pytest.mark.asyncio
async def test_bad_input_is_a_clear_4xx(client: httpx.AsyncClient, users: dict[str, User]) -> None:
    await sign_in(client, "grader")
    wrong = await _change(client, "not the password", NEW_PASSWORD)
    assert wrong.status_code == 400
    assert "The current password is wrong." in wrong.text
    assert 'id="current-password"' in wrong.text and 'aria-invalid="true"' in wrong.text
    differ = await _change(client, PASSWORD, NEW_PASSWORD, "another passphrase")
    assert differ.status_code == 400 and "The two new passwords are not the same." in differ.text
    short = await _change(client, PASSWORD, "kort")
    assert short.status_code == 400 and "at least 10 characters" in short.text
    norwegian = await client.post(
        "/account/password",
        data={"csrf_token": await csrf(client, "/account/password")},
        headers={"Accept-Language": "nb"},
    )
    assert norwegian.status_code == 400 and "minst 10 tegn" in norwegian.text
    assert (await client.get("/")).status_code == 200  # still signed in
    no_token = await client.post("/account/password", data={"current_password": PASSWORD})
    assert no_token.status_code == 403


@pytest.mark.asyncio
async def test_guessing_the_current_password_is_slowed_down(
    client: httpx.AsyncClient, users: dict[str, User], session_clock: FixedClock
) -> None:
    await sign_in(client, "grader")
    for attempt in range(5):
        assert (await _change(client, f"guess {attempt}", NEW_PASSWORD)).status_code == 400
    waiting = await _change(client, PASSWORD, NEW_PASSWORD)
    assert waiting.status_code == 429
    assert waiting.headers["retry-after"] == "1"
    assert "Try again after 12:00:01" in waiting.text  # Oslo time in May: UTC+2
    session_clock.advance(timedelta(seconds=1))
    assert (await _change(client, PASSWORD, NEW_PASSWORD)).status_code == 303


@pytest.mark.asyncio
async def test_an_e_id_account_is_told_it_has_no_password(
    client: httpx.AsyncClient, session: AsyncSession, session_clock: FixedClock, settings: Settings
) -> None:
    # Signed in as e-ID sign-in does it (tests/web/test_oidc.py runs the whole flow against a
    # provider): the account, a session row, and the signed cookie naming it.
    user = await sign_in_external(
        session, {"iss": "https://eid.example", "sub": "kari", "name": "Kari"}, address="x"
    )
    token = await start_session(
        session, user, now=session_clock.now(), policy=SessionPolicy.from_settings(settings),
        address="127.0.0.1", user_agent="test",
    )  # fmt: skip
    await session.commit()
    payload = base64.b64encode(json.dumps({SESSION_ID: token, "csrf": "t"}).encode())
    client.cookies.set("vakt_session", TimestampSigner(settings.secret_key).sign(payload).decode())
    page = await client.get("/account/password", headers=ENGLISH)
    assert page.status_code == 200
    assert "Your account has no password: you sign in with e-ID." in page.text
    assert 'name="current_password"' not in page.text
    refused = await client.post(
        "/account/password",
        data={"csrf_token": csrf_from(page.text), "current_password": "", "new_password": "x"},
        headers=ENGLISH,
    )
    assert refused.status_code == 409
    assert "no password" in refused.text
