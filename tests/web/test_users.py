"""The administrators' user list: who has sessions, and ending them; nobody else gets in."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from tests.web.helpers import browsers, csrf_from, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry

ENGLISH = {"Accept-Language": "en"}


def _row(html: str, user: User) -> str:
    match = re.search(rf'<tr id="user-{user.id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {user.username}"
    return match.group(1)


@pytest.mark.asyncio
async def test_an_administrator_ends_a_users_sessions(
    app: Starlette, users: dict[str, User], session: AsyncSession
) -> None:
    async with browsers(app, "10.0.0.1", "10.0.0.2", "10.0.0.3") as (admin, laptop, desktop):
        await sign_in(admin, "administrator")
        await sign_in(laptop, "candidate")
        await sign_in(desktop, "candidate")
        page = await admin.get("/staff/users", headers=ENGLISH)
        assert page.status_code == 200
        row = _row(page.text, users["candidate"])
        assert "candidate" in row and "Candidate" in row and "<td>2</td>" in row
        assert "End sessions" in row
        assert "<td>0</td>" in _row(page.text, users["grader"])

        candidate_id = users["candidate"].id
        ended = await admin.post(
            f"/staff/users/{candidate_id}/sessions/end",
            data={"csrf_token": csrf_from(page.text)},
        )
        assert ended.status_code == 303
        assert ended.headers["location"] == f"/staff/users#user-{candidate_id}"
        for browser in (laptop, desktop):
            assert (await browser.get("/my")).status_code == 303
        after = await admin.get("/staff/users")
        assert "<td>0</td>" in _row(after.text, users["candidate"])
        assert (await admin.get("/")).status_code == 200  # the administrator's own goes on

        unknown = await admin.post(
            "/staff/users/999999/sessions/end",
            data={"csrf_token": csrf_from(page.text)},
            headers=ENGLISH,
        )
        assert unknown.status_code == 404 and "There is no such user." in unknown.text
        forged = await admin.post(f"/staff/users/{candidate_id}/sessions/end", data={})
        assert forged.status_code == 403
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "auth.sessions_ended")
    )
    assert entry is not None
    assert entry.actor_id == users["administrator"].id
    assert entry.after == {"reason": "ended_by_administrator", "count": 2}


@pytest.mark.asyncio
async def test_only_administrators_see_the_users(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    assert (await client.get("/staff/users")).status_code == 303  # signed out: to the sign-in
    await sign_in(client, "proctor")
    assert (await client.get("/staff/users")).status_code == 403
    home = await client.get("/")
    refused = await client.post(
        f"/staff/users/{users['candidate'].id}/sessions/end",
        data={"csrf_token": csrf_from(home.text)},
    )
    assert refused.status_code == 403
