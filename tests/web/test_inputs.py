"""The door: broken text, control characters, numbers no browser can hold and JSON nested deeper
than any request get a clear 4xx, through the API, the forms, the query string and the path;
nothing of it reaches a service, so a hand-in or a state request can never fail on it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import AnswerSave
from exam.timing import FixedClock
from tests.exam.factories import Exam
from tests.web.helpers import accept_rules, csrf, sign_in


@pytest_asyncio.fixture
async def essay(
    client: httpx.AsyncClient, exam: Exam, clock: FixedClock
) -> tuple[str, dict[str, str], int]:
    """Through the API: start, hand in the first part, and start the second (an essay) after the
    break; the essay's save URL, the request headers and the attempt id."""
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    headers = {"X-CSRF-Token": await csrf(client, "/"), "Accept-Language": "en"}
    started = await client.post(
        f"/api/registrations/{exam.registration_id}/attempt", headers=headers
    )
    attempt_id = started.json()["attempt_id"]
    first = await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
    await client.post(f"/api/parts/{first.json()['id']}/submit", headers=headers)
    clock.advance(timedelta(minutes=11))
    part = await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
    assert part.status_code == 201, part.text
    state = (await client.get(f"/api/attempts/{attempt_id}")).json()
    item = state["items"][0]
    question = item["questions"][0]
    assert question["type"] == "essay"
    url = f"/api/parts/{part.json()['id']}/answers/{item['item_version_id']}/{question['id']}"
    return url, headers, attempt_id


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"sequence": 50, "value": "a\\ud800b"}', None),  # a lone surrogate
        (b'{"sequence": 50, "value": "a\\udfffb"}', None),
        (b'{"sequence": 50, "value": "nul \\u0000 here"}', None),
        (b'{"sequence": 50, "value": "bell \\u0007"}', None),
        (b'{"sequence": 50, "value": "ok", "\\ud800": 1}', None),
        (b'{"sequence": 9223372036854775807, "value": "x"}', None),
        (b'{"sequence": 99999999999999999999999999, "value": "x"}', None),
        (b'{"sequence": ' + b"9" * 5000 + b', "value": "x"}', None),
        (b'{"sequence": NaN, "value": "x"}', None),
        (b'{"sequence": 1, "value": 1e999}', None),
        (b'{"sequence": 1, "value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None),
        (b'{"sequence": 1, "value": ' + b"[" * 40 + b"]" * 40 + b"}", None),
        (b'{"sequence": 1, "value": "x", "changed_at": "yesterday"}', "changed_at"),
        (b'{"sequence": 1, "value": "x", "changed_at": "2026-12-10T09:00:00"}', "changed_at"),
    ],
)
async def test_hostile_answers_are_refused_at_the_door(
    client: httpx.AsyncClient,
    essay: tuple[str, dict[str, str], int],
    session: AsyncSession,
    body: bytes,
    field: str | None,
) -> None:
    url, headers, attempt_id = essay
    response = await client.put(
        url, content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"] and "Traceback" not in response.text
    if field:
        assert error["field"] == field
    assert await session.scalar(select(AnswerSave.id)) is None  # nothing reached the service
    # The attempt is as readable as before: one candidate's text can break nothing.
    assert (await client.get(f"/api/attempts/{attempt_id}")).status_code == 200


@pytest.mark.asyncio
async def test_a_sequence_far_ahead_of_the_clock_would_freeze_the_answer_and_is_refused(
    client: httpx.AsyncClient, essay: tuple[str, dict[str, str], int], clock: FixedClock
) -> None:
    url, headers, _attempt_id = essay
    now_ms = int(clock.now().timestamp() * 1000)
    ahead = await client.put(
        url, json={"sequence": now_ms + 3_600_000, "value": "x"}, headers=headers
    )
    assert ahead.status_code == 400 and ahead.json()["error"]["field"] == "sequence"
    in_step = await client.put(url, json={"sequence": now_ms, "value": "ok"}, headers=headers)
    assert in_step.status_code == 200 and in_step.json()["applied"]
    later = await client.put(url, json={"sequence": now_ms + 1, "value": "later"}, headers=headers)
    assert later.json()["applied"]


@pytest.mark.asyncio
async def test_valid_text_of_every_script_is_kept_as_typed(
    client: httpx.AsyncClient, essay: tuple[str, dict[str, str], int]
) -> None:
    url, headers, attempt_id = essay
    text = "Blåbærsyltetøy, ĉu, 日本語, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀\ttab\nnew line\r\n"
    saved = await client.put(url, json={"sequence": 1, "value": text}, headers=headers)
    assert saved.status_code == 200
    state = (await client.get(f"/api/attempts/{attempt_id}")).json()
    assert text in [answer["value"] for answer in state["answers"].values()]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path",
    [
        "/api/attempts/99999999999999999999999",
        "/api/attempts/2147483648",
        "/api/parts/18446744073709551616/submit",
        "/items/99999999999999999999",
        "/exam/99999999999999999999999/take",
        "/proctor/registrations/9223372036854775808",
    ],
)
async def test_ids_no_row_can_have_are_404(client: httpx.AsyncClient, path: str) -> None:
    await sign_in(client, "administrator")
    response = await client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 404, response.text


@pytest.mark.asyncio
async def test_control_characters_in_the_query_path_and_forms_are_refused(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "item_writer")
    query = await client.get("/items", params={"q": "a\x00b"}, headers={"Accept-Language": "en"})
    assert query.status_code == 400 and "cannot be stored" in query.text
    path = await client.get("/items/versions/1/files/a%00b.png")
    assert path.status_code in (400, 404) and "Traceback" not in path.text
    token = await csrf(client, "/")
    login = await client.post(
        "/language", data={"language": "nb\x00", "next": "/", "csrf_token": token}
    )
    assert login.status_code == 400


@pytest.mark.asyncio
async def test_refusals_name_fields_not_internal_classes(
    client: httpx.AsyncClient, essay: tuple[str, dict[str, str], int]
) -> None:
    url, headers, _attempt_id = essay
    part_id = url.split("/")[3]
    for body in (b"[]", b'{"last_index": "x"}', b'{"last_index": 1, "extra": 2}'):
        response = await client.post(
            f"/api/parts/{part_id}/recording/finish",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        message = response.json()["error"]["message"]
        assert "RecordingFinish" not in message and "instance of" not in message, message
        assert message.startswith("The request is not valid:")
