"""Complaints about the body's conduct over HTTP: any signed-in person files one (bad input is a
4xx with the message and the text kept), it is numbered, the complainant sees only their own,
the staff answer it in writing and the complainant is notified; others cannot answer."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.models import Complaint
from exam.timing import FixedClock
from tests.certification.factories import DECIDED_AT
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import User

pytestmark = pytest.mark.asyncio
ENGLISH = {"Accept-Language": "en"}
TEXT = "The proctor was rude to me during the check-in."


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DECIDED_AT)


async def _sign_out(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    await client.post("/logout", data={"csrf_token": csrf_from(home.text)})


async def test_a_complaint_is_filed_numbered_answered_and_the_complainant_notified(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    await sign_in(client, "grader")
    form = await client.get("/complaints", headers=ENGLISH)
    assert form.status_code == 200
    token = csrf_from(form.text)
    for text, words in (("", "at least 10"), ("x" * 8001, "at most 8000")):
        bad = await client.post(
            "/complaints", data={"csrf_token": token, "text": text}, headers=ENGLISH
        )
        assert bad.status_code == 422 and words in bad.text
    surrogate = await client.post(
        "/complaints",
        content=f"csrf_token={token}&text=%ED%A0%80".encode(),
        headers={**ENGLISH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert surrogate.status_code == 422
    assert await session.scalar(select(func.count()).select_from(Complaint)) == 0
    filed = await client.post("/complaints", data={"csrf_token": token, "text": TEXT})
    assert filed.status_code == 303
    path = filed.headers["location"].split("?")[0]
    mine = await client.get(filed.headers["location"], headers=ENGLISH)
    number = f"C-{DECIDED_AT.year}-0001"
    assert number in mine.text and TEXT in mine.text
    for hostile in ("99999999999999999999999", "2147483647", "0"):
        assert (await client.get(f"/complaints/{hostile}")).status_code == 404
    assert (await client.get("/staff/complaints")).status_code == 403
    complaint_id = path.rsplit("/", 1)[1]
    answer_path = f"/staff/complaints/{complaint_id}/answer"
    refused = await client.post(answer_path, data={"csrf_token": token, "answer": "No."})
    assert refused.status_code == 403
    await _sign_out(client)

    await sign_in(client, "candidate")
    assert (await client.get(path)).status_code == 404
    await _sign_out(client)

    await sign_in(client, "administrator")
    staff = await client.get("/staff/complaints", headers=ENGLISH)
    assert staff.status_code == 200 and number in staff.text and TEXT in staff.text
    token = csrf_from(staff.text)
    empty = await client.post(
        answer_path, data={"csrf_token": token, "answer": "  "}, headers=ENGLISH
    )
    assert empty.status_code == 422 and "at least 1 characters" in empty.text
    answered = await client.post(
        answer_path, data={"csrf_token": token, "answer": "We have spoken to the proctor."}
    )
    assert answered.status_code == 303
    again = await client.post(
        answer_path, data={"csrf_token": token, "answer": "Again."}, headers=ENGLISH
    )
    assert again.status_code == 409 and "answered already" in again.text
    missing = await client.post(
        "/staff/complaints/2147483647/answer", data={"csrf_token": token, "answer": "x"}
    )
    assert missing.status_code == 404
    await _sign_out(client)

    await sign_in(client, "grader")
    mine = await client.get(path, headers=ENGLISH)
    assert "We have spoken to the proctor." in mine.text
    inbox = await client.get("/my/inbox", headers=ENGLISH)
    assert f"Your complaint {number} has been received" in inbox.text
    assert f"Your complaint {number} has been answered" in inbox.text
