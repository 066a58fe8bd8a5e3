"""The candidate's exam API over HTTP: start, state, save, hand in; bad input; other roles and
other candidates refused; the key and the grading guide never in any answer."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from exam.timing import FixedClock
from tests.exam.factories import Exam
from tests.web.helpers import accept_rules, csrf, sign_in
from vakt.accounts import User

SECRETS = ('"correct"', '"mapping"', '"guide"', "Hemmelig sensorveiledning", '"tags"')


def _no_secrets(response: httpx.Response) -> None:
    for secret in SECRETS:
        assert secret not in response.text, secret


@pytest.mark.asyncio
async def test_a_candidate_takes_a_part_through_the_api(
    client: httpx.AsyncClient, exam: Exam, clock: FixedClock
) -> None:
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    headers = {"X-CSRF-Token": await csrf(client, "/"), "Accept-Language": "en"}
    started = await client.post(
        f"/api/registrations/{exam.registration_id}/attempt", headers=headers
    )
    assert started.status_code == 201, started.text
    attempt_id = started.json()["attempt_id"]
    state = await client.get(f"/api/attempts/{attempt_id}")
    assert state.json()["current_part"] is None
    part = await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
    assert part.status_code == 201
    part_id = part.json()["id"]
    state = await client.get(f"/api/attempts/{attempt_id}")
    body = state.json()
    _no_secrets(state)
    assert body["current_part"] == 0 and len(body["items"]) == 3
    assert body["parts"][0]["deadline"] == (clock.now() + timedelta(minutes=30)).isoformat()
    item = body["items"][0]
    question = item["questions"][0]
    url = f"/api/parts/{part_id}/answers/{item['item_version_id']}/{question['id']}"
    choice = question["choices"][0]["id"]
    value = choice if question["type"] == "single_choice" else [choice]
    saved = await client.put(url, json={"sequence": 2, "value": value}, headers=headers)
    assert saved.status_code == 200 and saved.json()["applied"] is True
    older = await client.put(url, json={"sequence": 1, "value": value}, headers=headers)
    assert older.json() == {
        "applied": False,
        "sequence": 2,
        "saved_at": older.json()["saved_at"],
        "delivered_late": False,
    }
    state = await client.get(f"/api/attempts/{attempt_id}")
    assert state.json()["answers"][f"{item['item_version_id']}/{question['id']}"]["value"] == value
    handed_in = await client.post(f"/api/parts/{part_id}/submit", headers=headers)
    assert handed_in.status_code == 200 and len(handed_in.json()["receipt"]) == 64
    _no_secrets(handed_in)
    late = await client.put(url, json={"sequence": 3, "value": value}, headers=headers)
    assert late.status_code == 409
    assert "handed in" in late.json()["error"]["message"]
    time = await client.get("/api/time")
    assert time.json()["server_time"] == clock.now().isoformat()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b"[1]", None),
        (b'{"value": "A"}', "sequence"),
        (b'{"sequence": "1", "value": "A"}', "sequence"),
        (b'{"sequence": true, "value": "A"}', "sequence"),
        (b'{"sequence": 1}', "value"),
        (b'{"sequence": 1, "value": {"x": 1}}', "value"),
        (b'{"sequence": -1, "value": null}', "sequence"),
    ],
)
async def test_bad_saves_are_clear_400s(
    client: httpx.AsyncClient, exam: Exam, body: bytes, field: str | None
) -> None:
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    headers = {
        "X-CSRF-Token": await csrf(client, "/"),
        "content-type": "application/json",
        "Accept-Language": "nb",
    }
    attempt_id = (
        await client.post(f"/api/registrations/{exam.registration_id}/attempt", headers=headers)
    ).json()["attempt_id"]
    part_id = (await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)).json()[
        "id"
    ]
    state = (await client.get(f"/api/attempts/{attempt_id}")).json()
    item = state["items"][0]
    response = await client.put(
        f"/api/parts/{part_id}/answers/{item['item_version_id']}/RESPONSE",
        content=body,
        headers=headers,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] and "Traceback" not in response.text
    if field:
        assert error["field"] == field


@pytest.mark.asyncio
async def test_other_candidates_and_other_roles_are_refused(
    client: httpx.AsyncClient, exam: Exam, users: dict[str, User]
) -> None:
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    headers = {"X-CSRF-Token": await csrf(client, "/")}
    attempt_id = (
        await client.post(f"/api/registrations/{exam.registration_id}/attempt", headers=headers)
    ).json()["attempt_id"]
    part_id = (await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)).json()[
        "id"
    ]
    client.cookies.clear()
    await sign_in(client, "kandidat2", "x" * 12)
    headers = {"X-CSRF-Token": await csrf(client, "/")}
    assert (await client.get(f"/api/attempts/{attempt_id}")).status_code == 404
    assert (
        await client.post(f"/api/registrations/{exam.registration_id}/attempt", headers=headers)
    ).status_code == 404
    assert (await client.post(f"/api/parts/{part_id}/submit", headers=headers)).status_code == 404
    client.cookies.clear()
    await sign_in(client, "grader")
    assert (await client.get(f"/api/attempts/{attempt_id}")).status_code == 403
