"""One browser per attempt, and no browser locked out by an answer it never received: the
device cookie comes with every answer that binds, and a start whose answer was lost can be
tried again by the same sign-in."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exam import devices
from exam.timing import FixedClock
from tests.exam.factories import Exam
from tests.web.helpers import accept_rules, csrf, sign_in
from web.device import DEVICE_COOKIE


async def _signed_in(client: httpx.AsyncClient, exam: Exam) -> dict[str, str]:
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    return {"X-CSRF-Token": await csrf(client, "/")}


@pytest.mark.asyncio
async def test_a_start_whose_answer_was_lost_can_be_tried_again(
    client: httpx.AsyncClient, exam: Exam
) -> None:
    headers = await _signed_in(client, exam)
    client.cookies.delete(DEVICE_COOKIE)  # a browser that never had the cookie
    start = f"/api/registrations/{exam.registration_id}/attempt"
    first = await client.post(start, headers=headers)
    assert first.status_code == 201 and DEVICE_COOKIE in first.headers["set-cookie"]
    # The answer never reached the browser (the server crashed while sending it): the browser
    # still has no device cookie, and the same sign-in tries again.
    client.cookies.delete(DEVICE_COOKIE)
    again = await client.post(start, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    # This time the browser has it, and uses it: the binding is confirmed.
    state = await client.get(f"/api/attempts/{first.json()['attempt_id']}")
    assert state.status_code == 200

    # Someone else with the password, in another browser and another sign-in, is refused.
    first_browser = httpx.Cookies(client.cookies)
    client.cookies.clear()
    other_headers = await _signed_in(client, exam)
    assert (await client.post(start, headers=other_headers)).status_code == 403
    # And once the binding is confirmed, even the same sign-in needs the staff's permission.
    client.cookies = first_browser
    client.cookies.delete(DEVICE_COOKIE)
    assert (await client.post(start, headers=headers)).status_code == 403


@pytest.mark.asyncio
async def test_continuing_on_another_computer_hands_that_computer_its_cookie(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    headers = await _signed_in(client, exam)
    started = await client.post(
        f"/api/registrations/{exam.registration_id}/attempt", headers=headers
    )
    attempt_id = started.json()["attempt_id"]
    assert (await client.get(f"/api/attempts/{attempt_id}")).status_code == 200
    staff = exam.admin
    await devices.allow_resume(
        session, attempt_id=attempt_id, actor=staff, reason="PC-en stoppet", now=clock.now()
    )
    await session.commit()

    first_browser = httpx.Cookies(client.cookies)
    client.cookies.clear()  # the second computer
    await _signed_in(client, exam)
    # Whatever request uses the permission carries the new cookie, even a JSON one.
    taken = await client.get(f"/api/attempts/{attempt_id}")
    assert taken.status_code == 200
    assert DEVICE_COOKIE in taken.headers.get("set-cookie", "")
    assert (await client.get(f"/api/attempts/{attempt_id}")).status_code == 200
    client.cookies = first_browser
    assert (await client.get(f"/api/attempts/{attempt_id}")).status_code == 403
