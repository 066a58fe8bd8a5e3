"""The inbox (``/my/inbox``): a person sees their own messages only, in their language, and marks
them as read through a CSRF-protected form."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exam.notices import RESULTS_RELEASED
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import User
from vakt.notifications import Notification, notify

SENT = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


async def _message(session: AsyncSession, user: User, sitting: str) -> int:
    row = await notify(
        session,
        recipient_id=user.id,
        kind=RESULTS_RELEASED,
        params={"sitting": sitting, "released_at": SENT},
        now=SENT,
    )
    await session.commit()
    return row.id


@pytest.mark.asyncio
async def test_the_inbox_shows_own_messages_and_marks_them_read(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    own = await _message(session, users["candidate"], "Sveis 2026")
    await _message(session, users["grader"], "Someone else's sitting")
    await sign_in(client, "candidate")

    page = await client.get("/my/inbox", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Your exam results are ready" in page.text and "Sveis 2026" in page.text
    assert "Someone else" not in page.text
    assert "You have 1 unread message." in page.text
    assert "Unread:" in page.text
    my_page = await client.get("/my", headers={"Accept-Language": "en"})
    assert "Messages: 1 unread" in my_page.text
    norwegian = await client.get("/my/inbox", headers={"Accept-Language": "nb"})
    assert "Eksamensresultatene dine er klare" in norwegian.text

    # Without the form's token: refused, nothing changes.
    refused = await client.post(f"/my/inbox/{own}/read", data={})
    assert refused.status_code == 403
    session.expire_all()
    row = await session.get(Notification, own)
    assert row is not None and row.read_at is None

    marked = await client.post(f"/my/inbox/{own}/read", data={"csrf_token": csrf_from(page.text)})
    assert marked.status_code == 303
    assert marked.headers["location"] == f"/my/inbox?read#message-{own}"
    session.expire_all()
    row = await session.get(Notification, own)
    assert row is not None and row.read_at is not None
    after = await client.get("/my/inbox?read", headers={"Accept-Language": "en"})
    assert "You have 0 unread messages." in after.text and "Unread:" not in after.text
    assert "The message is marked as read." in after.text


@pytest.mark.asyncio
async def test_another_persons_message_and_hostile_ids_are_not_found(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    others = await _message(session, users["grader"], "Someone else's sitting")
    await sign_in(client, "candidate")
    token = csrf_from((await client.get("/my/inbox")).text)
    for target in (str(others), str(10**30), "2147483648", "0", "-1", "abc", "1e3", "%F0%9F%98%80"):
        response = await client.post(f"/my/inbox/{target}/read", data={"csrf_token": token})
        assert response.status_code in (404, 405), (target, response.status_code)
    session.expire_all()
    row = await session.get(Notification, others)
    assert row is not None and row.read_at is None


@pytest.mark.asyncio
async def test_the_inbox_needs_a_sign_in_and_is_there_for_every_role(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    signed_out = await client.get("/my/inbox")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
    await _message(session, users["proctor"], "Sveis 2026")
    await sign_in(client, "proctor")
    page = await client.get("/my/inbox", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Sveis 2026" in page.text
