"""The graders' JSON API: the queue, claiming, a script's screen (never whose it is), autosaving
marks with per-field refusals, submitting, and a lead grader's reconciliation; CSRF, roles, and
the audit log. Every answer fits the schema the OpenAPI description names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from exam.timing import FixedClock
from grading import schemas
from grading.models import Marking
from tests.exam.factories import OPENS
from tests.web.grading_world import VIDEO, World, assert_blind, build_world, form_token
from tests.web.helpers import browsers, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.settings import Settings

LATER = OPENS + timedelta(hours=2)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(LATER)


@pytest_asyncio.fixture
async def world(session: AsyncSession, users: dict[str, User], settings: Settings) -> World:
    return await build_world(session, users, settings.data_dir)


@pytest_asyncio.fixture
async def team(app: Starlette, world: World) -> AsyncIterator[list[httpx.AsyncClient]]:
    """The first grader, the second grader and the lead grader, each with a CSRF header."""
    async with browsers(app, "10.0.0.1", "10.0.0.2", "10.0.0.3") as clients:
        for client, username in zip(clients, ("grader", "grader_two", "lead_grader"), strict=True):
            client.headers["Accept-Language"] = "en"
            await sign_in(client, username)
            client.headers["X-CSRF-Token"] = await form_token(client)
        yield clients


async def _claim(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/grading/claims")
    assert response.status_code == 201, response.text
    return schemas.ClaimedScript.model_validate(response.json()).code


async def _put(client: httpx.AsyncClient, code: str, body: Any) -> httpx.Response:
    raw = body if isinstance(body, bytes) else None
    if raw is not None:
        return await client.put(
            f"/api/grading/scripts/{code}/marks",
            content=raw,
            headers={"Content-Type": "application/json"},
        )
    return await client.put(f"/api/grading/scripts/{code}/marks", json=body)


async def _count(session: AsyncSession, action: str) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
        or 0
    )


@pytest.mark.asyncio
async def test_a_grader_marks_through_the_api_and_never_learns_whose_answer_it_is(
    team: list[httpx.AsyncClient], world: World, session: AsyncSession
) -> None:
    first, second, lead = team
    seen: list[httpx.Response] = []
    queue = await first.get("/api/grading/queue")
    seen.append(queue)
    assert schemas.GradingQueue.model_validate(queue.json()).waiting == 2

    code = await _claim(first)
    assert code == world.essay.code
    view = await first.get(f"/api/grading/scripts/{code}")
    seen.append(view)
    screen = schemas.ScriptView.model_validate(view.json())
    assert screen.answer.startswith("Mangfold gir") and screen.word_count == 10
    assert screen.maxima == [6, 4] and [c.name for c in screen.criteria] == [
        "Faglig presisjon",
        "Struktur",
    ]
    assert screen.attachments == [f"/grading/scripts/{code}/files/notat.pdf"]
    assert screen.marks == [] and screen.video is None

    saved = await _put(first, code, {"marks": [5, "3,5"], "comment": "Bra", "sequence": 1})
    seen.append(saved)
    assert saved.status_code == 200, saved.text
    assert schemas.MarksSaved.model_validate(saved.json()).marks == [5, 3.5]
    stale = await _put(first, code, {"marks": [0, 0], "comment": "", "sequence": 1})
    assert stale.json()["marks"] == [5, 3.5]  # an older save never overwrites a newer one

    oral = await _claim(first)
    oral_view = schemas.ScriptView.model_validate(
        (await first.get(f"/api/grading/scripts/{oral}")).json()
    )
    assert oral_view.video == f"/grading/scripts/{oral}/video"
    assert len(oral_view.maxima) == 3
    video = await first.get(oral_view.video, headers={"Range": "bytes=0-9"})
    seen.append(video)
    assert video.status_code == 206 and video.content == VIDEO[:10]

    empty = await first.post("/api/grading/claims")
    assert empty.status_code == 409
    assert empty.json()["error"]["message"] == "No script is waiting for you right now."

    submitted = await first.post(f"/api/grading/scripts/{code}/submit")
    seen.append(submitted)
    assert submitted.status_code == 200
    assert schemas.MarksSubmitted.model_validate(submitted.json()).total == 8.5
    again = await first.post(f"/api/grading/scripts/{code}/submit")
    assert again.status_code == 409
    late = await _put(first, code, {"marks": [1, 1], "comment": "", "sequence": 9})
    assert late.status_code == 409

    assert await _claim(second) == code
    await _put(second, code, {"marks": [1, 0], "comment": "Svakt", "sequence": 1})
    assert (await second.post(f"/api/grading/scripts/{code}/submit")).status_code == 200

    waiting = await lead.get("/api/grading/reconciliations")
    seen.append(waiting)
    listed = schemas.Reconciliations.model_validate(waiting.json())
    assert [s.code for s in listed.scripts] == [code]
    assert (await first.get("/api/grading/reconciliations")).json() == {"scripts": []}
    for body, field in (
        ({"final_points": "x", "grounds": "Fordi"}, "final_points"),
        ({"final_points": 11, "grounds": "Fordi"}, "final_points"),
        ({"final_points": 5, "grounds": "  "}, "grounds"),
        ({"final_points": 5}, "grounds"),
    ):
        refused = await lead.post(f"/api/grading/reconciliations/{code}", json=body)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["field"] == field
    refused = await first.post(
        f"/api/grading/reconciliations/{code}", json={"final_points": 5, "grounds": "Mitt"}
    )
    assert refused.status_code == 403
    decided = await lead.post(
        f"/api/grading/reconciliations/{code}",
        json={"final_points": "5,5", "grounds": "Middels drøfting."},
    )
    seen.append(decided)
    assert decided.status_code == 200, decided.text
    assert schemas.Reconciled.model_validate(decided.json()).final_points == 5.5
    twice = await lead.post(
        f"/api/grading/reconciliations/{code}", json={"final_points": 5, "grounds": "Igjen"}
    )
    assert twice.status_code == 404  # no longer in reconciliation

    for response in seen:
        assert_blind(world, response)
    for action in (
        "grading.script_claimed", "grading.marks_changed", "grading.marks_submitted",
        "grading.oral_answer_viewed", "grading.reconciled",
    ):  # fmt: skip
        assert await _count(session, action) >= 1, action


@pytest.mark.asyncio
async def test_refused_marks_name_their_field_and_lose_nothing(
    team: list[httpx.AsyncClient], world: World, session: AsyncSession
) -> None:
    first = team[0]
    code = await _claim(first)
    assert (await _put(first, code, {"marks": [4, 2], "sequence": 1})).status_code == 200
    cases: list[tuple[Any, int, str | None, str]] = [
        ({"marks": [7, 2], "sequence": 2}, 422, "marks.0", "the mark must be from 0 to 6."),
        ({"marks": [4, "abc"], "sequence": 2}, 422, "marks.1", "must be a number"),
        ({"marks": [-0.5, 1], "sequence": 2}, 422, "marks.0", "from 0 to 6"),
        ({"marks": [4, True], "sequence": 2}, 422, "marks.1", "must be a number"),
        ({"marks": [4, 2, 1], "sequence": 2}, 422, "marks", "one mark for each criterion"),
        ({"marks": [4], "sequence": 2}, 422, "marks", "one mark for each criterion"),
        ({"marks": "4,2", "sequence": 2}, 422, "marks", "one mark for each criterion"),
        ({"comment": "x", "sequence": 2}, 422, "marks", "marks is required"),
        ({"marks": [4, 2]}, 422, "sequence", "sequence"),
        ({"marks": [4, 2], "sequence": "2"}, 422, "sequence", "sequence"),
        ({"marks": [4, 2], "sequence": 2, "comment": 5}, 422, "comment", "text"),
        ({"marks": [4, 2], "sequence": 2, "comment": "x" * 10_001}, 422, "comment", "10000"),
        (b'{"marks": [1e400, 2], "sequence": 2}', 400, "marks.0", "not finite"),
        (b'{"marks": [1' + b"0" * 400 + b', 2], "sequence": 2}', 400, "marks.0", "too large"),
        (b'{"marks": [4, 2], "sequence": 2, "comment": "\\ud800"}', 400, "comment", ""),
        (b'{"marks": [4, 2], "sequence": 1e400}', 400, "sequence", "not finite"),
        (b"not json", 400, None, "not valid JSON"),
    ]
    for body, status, field, words in cases:
        response = await _put(first, code, body)
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert error.get("field") == field, (body, error)
        assert words in error["message"], (body, error)
    submit_empty = await first.put(
        f"/api/grading/scripts/{code}/marks", json={"marks": [4, None], "sequence": 3}
    )
    assert submit_empty.status_code == 200
    missing = await first.post(f"/api/grading/scripts/{code}/submit")
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "marks.1"
    assert "Criterion 2 has no mark yet." in missing.json()["error"]["message"]
    marking = await session.scalar(select(Marking).where(Marking.script_id == world.essay.id))
    assert marking is not None
    await session.refresh(marking)
    assert marking.marks == [4, None] and marking.submitted_at is None


@pytest.mark.asyncio
async def test_the_api_refuses_others_scripts_missing_csrf_and_other_roles(
    team: list[httpx.AsyncClient], world: World, app: Starlette
) -> None:
    first, second, _lead = team
    code = await _claim(first)
    for response in (
        await second.get(f"/api/grading/scripts/{code}"),
        await _put(second, code, {"marks": [1, 1], "sequence": 5}),
        await second.post(f"/api/grading/scripts/{code}/submit"),
        await second.get("/api/grading/scripts/NO-SUCH"),
    ):
        assert response.status_code == 404
        assert "candidate" not in response.text.lower()
    token = first.headers.pop("X-CSRF-Token")
    assert (await first.post("/api/grading/claims")).status_code == 403
    assert (await _put(first, code, {"marks": [1, 1], "sequence": 5})).status_code == 403
    assert (await first.post(f"/api/grading/scripts/{code}/submit")).status_code == 403
    first.headers["X-CSRF-Token"] = token
    async with browsers(app, "10.0.1.1") as [other]:
        assert (await other.get("/api/grading/queue")).status_code == 401
        for username in ("proctor", "item_writer", "decision_maker"):
            await sign_in(other, username)
            other.headers["X-CSRF-Token"] = await form_token(other, "/")
            assert (await other.get("/api/grading/queue")).status_code == 403
            assert (await other.post("/api/grading/claims")).status_code == 403
            assert (await other.get("/api/grading/reconciliations")).status_code == 403
            await other.post("/logout")
            del other.headers["X-CSRF-Token"]
