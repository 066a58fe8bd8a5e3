"""The oral answer over HTTP: start and stop marks, the state on the exam page, retakes
refused beyond the scheme's rule, and hostile input refused with a clear 4xx, never a 500."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import FixedClock
from tests.exam.factories import OPENS, Exam, build_oral_exam
from tests.web.helpers import accept_rules, csrf, sign_in
from vakt.accounts import User


@pytest_asyncio.fixture
async def oral_exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    return await build_oral_exam(session, users, opens=OPENS, preparation=5, longest=60)


async def _running(client: httpx.AsyncClient, exam: Exam) -> tuple[dict[str, str], int, str]:
    """Signed in as the candidate with the oral part started: headers, part, the oral base."""
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    headers = {"X-CSRF-Token": await csrf(client, "/"), "Accept-Language": "en"}
    attempt = await client.post(
        f"/api/registrations/{exam.registration_id}/attempt", headers=headers
    )
    attempt_id = attempt.json()["attempt_id"]
    part = await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
    assert part.status_code == 201, part.text
    items = (await client.get(f"/api/attempts/{attempt_id}")).json()["items"]
    part_id = part.json()["id"]
    return headers, part_id, f"/api/parts/{part_id}/oral/{items[0]['item_version_id']}/RESPONSE"


def _mark(stream: int = 0, ms: int = 0, chunk: int = 0) -> dict[str, int]:
    return {"stream": stream, "ms": ms, "chunk": chunk}


def _config(html: str) -> dict[str, Any]:
    return dict(json.loads(html.split('id="exam-config">', 1)[1].split("</script>", 1)[0]))


@pytest.mark.asyncio
async def test_start_stop_and_the_state_on_the_page(
    client: httpx.AsyncClient, oral_exam: Exam
) -> None:
    headers, part_id, base = await _running(client, oral_exam)
    page = await client.get(f"/exam/{oral_exam.registration_id}/take", headers=headers)
    assert 'data-preparation="5"' in page.text and 'data-max="60"' in page.text
    assert "Start preparation" in page.text
    assert _config(page.text)["oral"] == {}

    started = await client.post(f"{base}/start", json={"mark": _mark(0, 2500, 1)}, headers=headers)
    assert started.status_code == 200, started.text
    body = started.json()
    assert (body["take"], body["state"], body["start"], body["end"]) == (
        1, "recording", _mark(0, 2500, 1), None,
    )  # fmt: skip
    stopped = await client.post(
        f"{base}/stop", json={"take": 1, "mark": _mark(0, 99_000, 9)}, headers=headers
    )
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["end"] == _mark(0, 62_500, 9) and stopped.json()["clamped"]

    # Not proctored here, so no chunk reached the server: recorded, not answered.
    answers = (await client.get(f"/api/parts/{part_id}/oral")).json()["answers"]
    assert [(a["take"], a["state"], a["answered"], a["retakes_left"]) for a in answers] == [
        (1, "recorded", False, 0)
    ]
    config = _config((await client.get(f"/exam/{oral_exam.registration_id}/take")).text)
    [state] = config["oral"].values()
    assert state["state"] == "recorded" and not state["answered"]
    assert state["take_detail"]["end"] == _mark(0, 62_500, 9)

    again = await client.post(f"{base}/start", json={"mark": _mark(0, 70_000, 10)}, headers=headers)
    assert again.status_code == 409
    assert "recorded" in again.json()["error"]["message"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"mark": None},
        {"mark": [0, 0, 0]},
        {"mark": {"stream": 10**40, "ms": 0, "chunk": 0}},
        {"mark": {"stream": 0, "ms": 10**40, "chunk": 0}},
        {"mark": {"stream": 0, "ms": "10", "chunk": 0}},
        {"mark": {"stream": -1, "ms": 0, "chunk": 0}},
    ],
)
async def test_a_bad_start_is_refused_with_a_message(
    client: httpx.AsyncClient, oral_exam: Exam, body: dict[str, Any]
) -> None:
    headers, _part_id, base = await _running(client, oral_exam)
    response = await client.post(f"{base}/start", json=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]


@pytest.mark.asyncio
async def test_hostile_ids_and_bodies(client: httpx.AsyncClient, oral_exam: Exam) -> None:
    headers, part_id, base = await _running(client, oral_exam)
    assert (await client.post(f"{base}/start", content=b"[1", headers=headers)).status_code == 400
    for take in (0, 10**20, "1", True, None):
        stop = await client.post(
            f"{base}/stop", json={"take": take, "mark": _mark()}, headers=headers
        )
        assert stop.status_code == 400, (take, stop.text)
    for url in (
        f"/api/parts/{10**30}/oral/1/RESPONSE/start",
        f"/api/parts/{part_id}/oral/{10**30}/RESPONSE/start",
        f"/api/parts/{part_id + 1000}/oral/1/RESPONSE/start",
        base.replace("RESPONSE", "NOPE") + "/start",
    ):
        response = await client.post(url, json={"mark": _mark()}, headers=headers)
        assert response.status_code == 404, (url, response.text)
    never = await client.post(f"{base}/stop", json={"take": 2, "mark": _mark()}, headers=headers)
    assert never.status_code == 404
    assert (await client.get(f"/api/parts/{10**30}/oral")).status_code == 404


@pytest.mark.asyncio
async def test_another_candidate_another_browser_and_a_closed_part(
    client: httpx.AsyncClient, oral_exam: Exam, clock: FixedClock
) -> None:
    headers, part_id, base = await _running(client, oral_exam)
    device_cookies = dict(client.cookies)
    client.cookies.clear()
    await sign_in(client, "kandidat2", "x" * 12)
    other = {"X-CSRF-Token": await csrf(client, "/")}
    response = await client.post(f"{base}/start", json={"mark": _mark()}, headers=other)
    assert response.status_code == 404
    assert (await client.get(f"/api/parts/{part_id}/oral")).status_code == 404

    # The candidate on another browser (a new device cookie): refused.
    client.cookies.clear()
    await sign_in(client, "candidate")
    elsewhere = {"X-CSRF-Token": await csrf(client, "/")}
    response = await client.post(f"{base}/start", json={"mark": _mark()}, headers=elsewhere)
    assert response.status_code == 403, response.text

    client.cookies.clear()
    for name, value in device_cookies.items():
        client.cookies.set(name, value)
    clock.advance(timedelta(minutes=16))
    late = await client.post(f"{base}/start", json={"mark": _mark()}, headers=headers)
    assert late.status_code == 409 and late.json()["error"]["message"]
    clock.advance(timedelta(minutes=-16))
    assert (await client.post(f"/api/parts/{part_id}/submit", headers=headers)).status_code == 200
    closed = await client.post(f"{base}/start", json={"mark": _mark()}, headers=headers)
    assert closed.status_code == 409 and "handed in" in closed.json()["error"]["message"]
