"""Flags for review over HTTP: kept on the server with the answers, idempotent by sequence,
audited; only on the candidate's own running part; bad input refused with a clear 4xx."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import FixedClock
from tests.exam.factories import Exam
from tests.web.helpers import accept_rules, csrf, sign_in
from vakt.audit import AuditEntry


async def _running_part(
    client: httpx.AsyncClient, exam: Exam, language: str = "en"
) -> tuple[dict[str, str], int, int, list[dict[str, Any]]]:
    """Sign in as the candidate and start the first part: headers, attempt, part, items."""
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    headers = {"X-CSRF-Token": await csrf(client, "/"), "Accept-Language": language}
    attempt_id = (
        await client.post(f"/api/registrations/{exam.registration_id}/attempt", headers=headers)
    ).json()["attempt_id"]
    part = await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
    assert part.status_code == 201, part.text
    items = (await client.get(f"/api/attempts/{attempt_id}")).json()["items"]
    return headers, attempt_id, part.json()["id"], items


@pytest.mark.asyncio
async def test_flags_are_kept_on_the_server_and_shown_with_the_exam(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession
) -> None:
    headers, attempt_id, part_id, items = await _running_part(client, exam)
    first, second = items[0]["item_version_id"], items[1]["item_version_id"]
    url = f"/api/parts/{part_id}/flags/{first}"

    flagged = await client.put(url, json={"flagged": True, "sequence": 5}, headers=headers)
    assert flagged.status_code == 200, flagged.text
    assert flagged.json() == {"applied": True, "flagged": True, "sequence": 5}
    # Sent twice (a retry after a lost answer): nothing changes.
    again = await client.put(url, json={"flagged": True, "sequence": 5}, headers=headers)
    assert again.json() == {"applied": False, "flagged": True, "sequence": 5}
    # An older change arriving late does not take the flag away.
    older = await client.put(url, json={"flagged": False, "sequence": 4}, headers=headers)
    assert older.json() == {"applied": False, "flagged": True, "sequence": 5}
    other = f"/api/parts/{part_id}/flags/{second}"
    assert (await client.put(other, json={"flagged": True, "sequence": 1}, headers=headers)).json()[
        "applied"
    ]
    unflagged = await client.put(other, json={"flagged": False, "sequence": 2}, headers=headers)
    assert unflagged.json() == {"applied": True, "flagged": False, "sequence": 2}

    state = await client.get(f"/api/attempts/{attempt_id}")
    assert state.json()["flagged"] == [first]
    page = await client.get(f"/exam/{exam.registration_id}/take")
    config = json.loads(page.text.split('id="exam-config">', 1)[1].split("</script>", 1)[0])
    assert config["flags"] == {
        str(first): {"flagged": True, "sequence": 5},
        str(second): {"flagged": False, "sequence": 2},
    }
    actions = (
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.in_(["attempt.flag_item", "attempt.unflag_item"]))
            .order_by(AuditEntry.seq)
        )
    ).all()
    assert actions == ["attempt.flag_item", "attempt.flag_item", "attempt.unflag_item"]


@pytest.mark.asyncio
async def test_another_candidates_part_is_not_found(client: httpx.AsyncClient, exam: Exam) -> None:
    _headers, _attempt_id, part_id, items = await _running_part(client, exam)
    client.cookies.clear()
    await sign_in(client, "kandidat2", "x" * 12)
    headers = {"X-CSRF-Token": await csrf(client, "/")}
    response = await client.put(
        f"/api/parts/{part_id}/flags/{items[0]['item_version_id']}",
        json={"flagged": True, "sequence": 1},
        headers=headers,
    )
    assert response.status_code == 404
    client.cookies.clear()
    await sign_in(client, "grader")
    headers = {"X-CSRF-Token": await csrf(client, "/")}
    response = await client.put(
        f"/api/parts/{part_id}/flags/{items[0]['item_version_id']}",
        json={"flagged": True, "sequence": 1},
        headers=headers,
    )
    assert response.status_code == 403


@pytest.mark.asyncio
async def test_a_closed_part_refuses_flags_with_a_message(
    client: httpx.AsyncClient, exam: Exam, clock: FixedClock
) -> None:
    headers, _attempt_id, part_id, items = await _running_part(client, exam, "nb")
    url = f"/api/parts/{part_id}/flags/{items[0]['item_version_id']}"
    clock.advance(timedelta(minutes=31))
    late = await client.put(url, json={"flagged": True, "sequence": 1}, headers=headers)
    assert late.status_code == 409
    assert late.json()["error"]["message"]
    clock.advance(timedelta(minutes=-31))
    assert (await client.post(f"/api/parts/{part_id}/submit", headers=headers)).status_code == 200
    handed_in = await client.put(url, json={"flagged": True, "sequence": 2}, headers=headers)
    assert handed_in.status_code == 409
    assert handed_in.json()["error"]["message"]
    assert "Traceback" not in handed_in.text


@pytest.mark.asyncio
async def test_the_handed_in_message_in_english(client: httpx.AsyncClient, exam: Exam) -> None:
    headers, _attempt_id, part_id, items = await _running_part(client, exam)
    assert (await client.post(f"/api/parts/{part_id}/submit", headers=headers)).status_code == 200
    response = await client.put(
        f"/api/parts/{part_id}/flags/{items[0]['item_version_id']}",
        json={"flagged": True, "sequence": 1},
        headers=headers,
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "This part has been handed in; flags can no longer change."
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b"[1]", None),
        (b"null", None),
        (b'{"sequence": 1}', "flagged"),
        (b'{"flagged": "yes", "sequence": 1}', "flagged"),
        (b'{"flagged": 1, "sequence": 1}', "flagged"),
        (b'{"flagged": null, "sequence": 1}', "flagged"),
        (b'{"flagged": true}', "sequence"),
        (b'{"flagged": true, "sequence": "1"}', "sequence"),
        (b'{"flagged": true, "sequence": true}', "sequence"),
        (b'{"flagged": true, "sequence": 1.5}', "sequence"),
        (b'{"flagged": true, "sequence": -1}', "sequence"),
        (b'{"flagged": true, "sequence": 99999999999999999999999}', "sequence"),
        (b'{"flagged": true, "sequence": 1, "note": "\\ud800"}', None),
    ],
)
async def test_bad_flags_are_clear_400s(
    client: httpx.AsyncClient, exam: Exam, body: bytes, field: str | None
) -> None:
    headers, _attempt_id, part_id, items = await _running_part(client, exam, "nb")
    response = await client.put(
        f"/api/parts/{part_id}/flags/{items[0]['item_version_id']}",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )
    if body.startswith(b'{"flagged": true, "sequence": 1, "note"'):
        # Fields the API does not know are ignored or refused, never a 500.
        assert response.status_code in (200, 400), response.text
        return
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"] and "Traceback" not in response.text
    if field:
        assert error["field"] == field


@pytest.mark.asyncio
@pytest.mark.parametrize("version", ["0", "999999", "99999999999999999999999", "abc", "-1"])
async def test_an_item_not_on_the_part_is_not_found(
    client: httpx.AsyncClient, exam: Exam, version: str
) -> None:
    headers, _attempt_id, part_id, _items = await _running_part(client, exam)
    response = await client.put(
        f"/api/parts/{part_id}/flags/{version}",
        json={"flagged": True, "sequence": 1},
        headers=headers,
    )
    assert response.status_code == 404
    assert "Traceback" not in response.text


@pytest.mark.asyncio
async def test_an_item_of_the_next_part_is_not_found(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession
) -> None:
    from exam.models import Attempt
    from itembank.models import ExamFormItem

    headers, attempt_id, part_id, _items = await _running_part(client, exam)
    attempt = await session.get(Attempt, attempt_id)
    assert attempt is not None
    later = await session.scalar(
        select(ExamFormItem.item_version_id).where(
            ExamFormItem.form_id == attempt.form_id, ExamFormItem.part_index == 1
        )
    )
    assert later is not None
    response = await client.put(
        f"/api/parts/{part_id}/flags/{later}",
        json={"flagged": True, "sequence": 1},
        headers=headers,
    )
    assert response.status_code == 404


@pytest.mark.asyncio
async def test_flags_need_the_csrf_token(client: httpx.AsyncClient, exam: Exam) -> None:
    _headers, _attempt_id, part_id, items = await _running_part(client, exam)
    response = await client.put(
        f"/api/parts/{part_id}/flags/{items[0]['item_version_id']}",
        json={"flagged": True, "sequence": 1},
    )
    assert response.status_code == 403
