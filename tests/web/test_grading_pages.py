"""The graders' pages: blind grading from the queue to the lead grader's final mark, the oral
answer's video with Range requests, the case's file, conflicts of interest; who is refused, and
that forms keep what was typed when a mark is refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from exam.models import OralTake, OralTakeState
from exam.timing import FixedClock
from grading.models import Marking, ScriptStatus
from tests.exam.factories import OPENS
from tests.web.grading_world import (
    ATTACHMENT,
    VIDEO,
    World,
    assert_blind,
    build_world,
    form_token,
)
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
    """A browser each (in English) for the first grader, the second grader and the lead
    grader."""
    async with browsers(app, "10.0.0.1", "10.0.0.2", "10.0.0.3") as clients:
        for client, username in zip(clients, ("grader", "grader_two", "lead_grader"), strict=True):
            client.headers["Accept-Language"] = "en"
            await sign_in(client, username)
        yield clients


def _code(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/grading/scripts/([A-Z0-9-]+)", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def _claim(client: httpx.AsyncClient, seen: list[httpx.Response]) -> str:
    response = await client.post("/grading/claim", data={"csrf_token": await form_token(client)})
    seen.append(response)
    return _code(response)


async def _mark(
    client: httpx.AsyncClient,
    code: str,
    marks: list[str],
    *,
    action: str = "save",
    confirm: bool = False,
    comment: str = "Godt drøftet.",
) -> httpx.Response:
    page = await client.get(f"/grading/scripts/{code}")
    sequence = re.search(r'name="sequence" id="sequence" value="(\d+)"', page.text)
    assert sequence, page.text
    data = {
        "csrf_token": await form_token(client, f"/grading/scripts/{code}"),
        "sequence": sequence.group(1),
        "comment": comment,
        "action": action,
        **{f"marks.{i}": mark for i, mark in enumerate(marks)},
    }
    if confirm:
        data["confirm"] = "yes"
    return await client.post(f"/grading/scripts/{code}", data=data)


async def _actions(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(AuditEntry.action)))


@pytest.mark.asyncio
async def test_two_graders_and_a_lead_grade_blindly_from_queue_to_final_mark(
    team: list[httpx.AsyncClient], world: World, session: AsyncSession
) -> None:
    first, second, lead = team
    seen: list[httpx.Response] = []

    home = await first.get("/grading")
    seen.append(home)
    assert home.status_code == 200
    assert 'href="/grading" aria-current="page"' in home.text
    assert "2 scripts are waiting for you." in home.text

    essay = await _claim(first, seen)
    assert essay == world.essay.code
    screen = await first.get(f"/grading/scripts/{essay}")
    seen.append(screen)
    assert "Mangfold gir bedre beslutninger" in screen.text
    assert "10 words" in screen.text
    assert "Faglig presisjon (0 to 6 points)" in screen.text
    assert "Sensorveiledningens notater" in screen.text
    assert f'href="/grading/scripts/{essay}/files/notat.pdf"' in screen.text
    assert 'max="6.0"' in screen.text and 'step="0.5"' in screen.text

    saved = await _mark(first, essay, ["5", "3,5"])
    seen.append(saved)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/grading/scripts/{essay}?done=saved"
    again = await first.get(saved.headers["location"])
    seen.append(again)
    assert 'value="5"' in again.text and 'value="3.5"' in again.text
    assert "Your marks are saved." in again.text

    document = await first.get(f"/grading/scripts/{essay}/files/notat.pdf")
    seen.append(document)
    assert document.content == ATTACHMENT[1]
    assert document.headers["content-disposition"] == "inline; filename*=UTF-8''notat.pdf"
    assert "no-store" in document.headers["cache-control"]

    submitted = await _mark(first, essay, ["6", "4"], action="submit", confirm=True)
    seen.append(submitted)
    assert submitted.headers["location"] == f"/grading/scripts/{essay}?done=submitted"
    done = await first.get(f"/grading/scripts/{essay}")
    seen.append(done)
    assert "The marks can no longer change." in done.text
    assert "10 of 10" in done.text
    assert 'id="marking-form"' not in done.text

    oral = await _claim(first, seen)
    assert oral == world.oral.code
    oral_screen = await first.get(f"/grading/scripts/{oral}")
    seen.append(oral_screen)
    assert (
        f'<video id="answer-video" controls preload="metadata" src="/grading/scripts/{oral}/video"'
        in oral_screen.text
    )
    video = await first.get(f"/grading/scripts/{oral}/video")
    seen.append(video)
    assert video.status_code == 200 and video.content == VIDEO
    assert video.headers["accept-ranges"] == "bytes"
    assert video.headers["content-type"].startswith("video/webm")
    assert video.headers["cache-control"] == "private, no-store"
    assert "last-modified" not in video.headers and "etag" not in video.headers
    part = await first.get(f"/grading/scripts/{oral}/video", headers={"Range": "bytes=900-1099"})
    seen.append(part)
    assert part.status_code == 206 and part.content == VIDEO[900:1100]
    assert part.headers["content-range"] == f"bytes 900-1099/{len(VIDEO)}"
    tail = await first.get(f"/grading/scripts/{oral}/video", headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == VIDEO[-100:]
    beyond = await first.get(
        f"/grading/scripts/{oral}/video", headers={"Range": f"bytes={len(VIDEO)}-"}
    )
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(VIDEO)}"

    # The second grader gets the same essay and marks it far lower: a lead grader decides.
    assert await _claim(second, seen) == essay
    low = await _mark(second, essay, ["1", "1"], action="submit", confirm=True)
    assert low.status_code == 303
    await session.refresh(world.essay)
    assert world.essay.status == ScriptStatus.RECONCILIATION

    lead_home = await lead.get("/grading")
    seen.append(lead_home)
    assert f'href="/grading/reconcile/{essay}"' in lead_home.text
    first_home = await first.get("/grading")
    seen.append(first_home)
    assert "/grading/reconcile/" not in first_home.text  # they marked it: not theirs to decide
    assert "10 of 10" in first_home.text

    page = await lead.get(f"/grading/reconcile/{essay}")
    seen.append(page)
    assert page.status_code == 200
    assert "Grader 1" in page.text and "Grader 2" in page.text
    assert "Sensor grader_two" not in page.text and "Grader Grader" not in page.text
    token = await form_token(lead, f"/grading/reconcile/{essay}")
    no_grounds = await lead.post(
        f"/grading/reconcile/{essay}",
        data={"csrf_token": token, "final_points": "6", "grounds": "  "},
    )
    seen.append(no_grounds)
    assert no_grounds.status_code == 400
    assert "Give the grounds for the final mark." in no_grounds.text
    assert (
        'id="grounds" name="grounds" rows="5" required aria-describedby="grounds-hint form-error" aria-invalid="true"'
        in no_grounds.text
    )
    assert 'value="6"' in no_grounds.text
    decided = await lead.post(
        f"/grading/reconcile/{essay}",
        data={
            "csrf_token": token,
            "final_points": "6",
            "grounds": "Drøftingen holder middels nivå.",
        },
    )
    seen.append(decided)
    assert decided.status_code == 303 and decided.headers["location"] == "/grading?done=reconciled"
    await session.refresh(world.essay)
    assert world.essay.status == ScriptStatus.FINAL and world.essay.final_points == 6

    conflicts = await first.get("/grading/conflicts")
    seen.append(conflicts)
    declared = await first.post(
        "/grading/conflicts",
        data={"csrf_token": await form_token(first, "/grading/conflicts"), "employer": "Acme AS"},
    )
    seen.append(declared)
    assert declared.headers["location"] == "/grading/conflicts?done=declared"
    listed = await first.get("/grading/conflicts?done=declared")
    seen.append(listed)
    assert "Acme AS" in listed.text

    for response in seen:
        assert_blind(world, response)
    actions = await _actions(session)
    for action in (
        "grading.script_claimed", "grading.marks_changed", "grading.marks_submitted",
        "grading.file_viewed", "grading.oral_answer_viewed", "grading.sent_to_reconciliation",
        "grading.reconciled", "grading.script_final", "grading.conflict_declared",
    ):  # fmt: skip
        assert action in actions, action


@pytest.mark.asyncio
async def test_a_refused_mark_is_shown_at_its_field_with_what_was_typed_kept(
    team: list[httpx.AsyncClient], world: World, session: AsyncSession
) -> None:
    first = team[0]
    code = await _claim(first, [])
    assert (await _mark(first, code, ["4", "2"])).status_code == 303
    cases = [
        (["7", "2"], "marks.0", "Criterion 1: the mark must be from 0 to 6."),
        (["4", "abc"], "marks.1", "Criterion 2: the mark must be a number."),
        (["1e400", "2"], "marks.0", "Criterion 1: the mark must be a number."),
        (["4", "1" + "0" * 400], "marks.1", "Criterion 2: the mark must be a number."),
        (["-1", "2"], "marks.0", "Criterion 1: the mark must be from 0 to 6."),
    ]
    for typed, field, message in cases:
        response = await _mark(first, code, typed, comment="Ikke tapt")
        assert response.status_code == 400, typed
        assert message in response.text
        index = field.split(".")[1]
        assert re.search(
            rf'id="mark-{index}"[^>]*aria-describedby="mark-{index}-error form-error" aria-invalid="true"',
            response.text,
        ), typed
        for position, value in enumerate(typed):
            assert f'id="mark-{position}" name="marks.{position}"' in response.text
            assert f'value="{value}"' in response.text
        assert "Ikke tapt" in response.text
    unconfirmed = await _mark(first, code, ["5", "2"], action="submit")
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm" in unconfirmed.text
    assert 'id="confirm" name="confirm" value="yes"' in unconfirmed.text
    broken = await first.post(
        f"/grading/scripts/{code}",
        content=b"csrf_token=" + (await form_token(first, f"/grading/scripts/{code}")).encode()
        + b"&sequence=99&marks.0=1&marks.1=1&comment=%00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert broken.status_code == 400
    # Nothing refused replaced what was saved.
    marking = await session.scalar(select(Marking).where(Marking.script_id == world.essay.id))
    assert marking is not None
    await session.refresh(marking)
    assert marking.marks == [4, 2] and marking.submitted_at is None


@pytest.mark.asyncio
async def test_nobody_but_its_grader_reaches_a_script(
    team: list[httpx.AsyncClient], world: World, app: Starlette
) -> None:
    first, second, lead = team
    code = await _claim(first, [])
    for client in (second, lead):
        for path in (
            f"/grading/scripts/{code}",
            f"/grading/scripts/{code}/files/notat.pdf",
            f"/grading/scripts/{world.oral.code}/video",
            f"/grading/reconcile/{code}",
            f"/api/grading/scripts/{code}",
        ):
            response = await client.get(path)
            assert response.status_code in (403, 404), (path, response.status_code)
            assert response.status_code == 404 or path.startswith("/grading/reconcile")
        token = await form_token(client)
        refused = await client.post(
            f"/grading/scripts/{code}",
            data={"csrf_token": token, "sequence": "5", "marks.0": "1", "marks.1": "1"},
        )
        assert refused.status_code == 404
    missing = await first.get("/grading/scripts/NOSUCHCODE12345")
    assert missing.status_code == 404
    no_csrf = await first.post(f"/grading/scripts/{code}", data={"sequence": "9", "marks.0": "1"})
    assert no_csrf.status_code == 403
    assert (await first.post("/grading/claim", data={})).status_code == 403
    assert (await first.post("/grading/conflicts", data={"employer": "X"})).status_code == 403

    async with browsers(app, "10.0.1.1") as [other]:
        other.headers["Accept-Language"] = "en"
        for username in ("proctor", "item_writer", "administrator"):
            await sign_in(other, username)
            for path in ("/grading", "/grading/conflicts", f"/grading/scripts/{code}"):
                assert (await other.get(path)).status_code == 403, (username, path)
            assert (await other.get("/api/grading/queue")).status_code == 403
            await other.post("/logout", data={"csrf_token": await form_token(other, "/")})


@pytest.mark.asyncio
async def test_a_candidate_is_refused_the_grading_pages(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    await sign_in(client, "candidate")
    for path in ("/grading", "/grading/conflicts", "/api/grading/queue", "/grading/scripts/X"):
        assert (await client.get(path)).status_code == 403


@pytest.mark.asyncio
async def test_an_unqualified_grader_is_told_so_and_the_empty_queue_is_explained(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    client.headers["Accept-Language"] = "en"
    await sign_in(client, "grader")
    home = await client.get("/grading")
    assert home.status_code == 200 and "0 scripts are waiting for you." in home.text
    claimed = await client.post("/grading/claim", data={"csrf_token": await form_token(client)})
    assert claimed.status_code == 403
    assert "You are not qualified to grade any scheme yet." in claimed.text
    assert 'id="claim-next"' in claimed.text


@pytest.mark.asyncio
async def test_an_empty_queue_says_so(
    team: list[httpx.AsyncClient], world: World, session: AsyncSession
) -> None:
    first = team[0]
    await _claim(first, [])
    await _claim(first, [])
    empty = await first.post("/grading/claim", data={"csrf_token": await form_token(first)})
    assert empty.status_code == 409
    assert "No script is waiting for you right now." in empty.text
    norwegian = {"Accept-Language": "nb"}
    home = await first.get("/grading", headers=norwegian)
    assert "0 besvarelser venter på deg." in home.text and "Ta neste besvarelse" in home.text
    screen = await first.get(f"/grading/scripts/{world.essay.code}", headers=norwegian)
    assert "Faglig presisjon (0 til 6 poeng)" in screen.text and "10 ord" in screen.text
    oral = await first.get(f"/grading/scripts/{world.oral.code}", headers=norwegian)
    assert oral.status_code == 200 and "Send inn poeng" in oral.text


@pytest.mark.asyncio
async def test_conflicts_are_declared_with_clear_errors(
    team: list[httpx.AsyncClient], world: World, session: AsyncSession
) -> None:
    first = team[0]
    token = await form_token(first, "/grading/conflicts")
    empty = await first.post("/grading/conflicts", data={"csrf_token": token})
    assert empty.status_code == 400
    assert "Name the candidate or the employer" in empty.text
    assert 'id="candidate-username" name="candidate_username"' in empty.text
    assert 'aria-invalid="true"' in empty.text
    unknown = await first.post(
        "/grading/conflicts",
        data={"csrf_token": token, "candidate_username": "nobody_here", "note": "Nabo"},
    )
    assert unknown.status_code == 400 and "There is no candidate nobody_here." in unknown.text
    assert "Nabo" in unknown.text
    named = await first.post(
        "/grading/conflicts",
        data={"csrf_token": token, "candidate_username": world.candidate.username},
    )
    assert named.status_code == 303
    twice = await first.post(
        "/grading/conflicts",
        data={"csrf_token": token, "candidate_username": world.candidate.username},
    )
    assert twice.status_code == 409 and "You have declared this conflict already." in twice.text
    # Their scripts are no longer given to this grader.
    home = await first.get("/grading")
    assert "0 scripts are waiting for you." in home.text


@pytest.mark.asyncio
async def test_the_oral_answer_plays_from_its_start_mark_to_its_end_mark(
    team: list[httpx.AsyncClient], world: World, session: AsyncSession
) -> None:
    session.add(
        OralTake(
            attempt_part_id=world.oral.attempt_part_id, item_version_id=world.oral.item_version_id,
            question_id=world.oral.question_id, take=1, state=OralTakeState.RECORDED,
            started_at=OPENS, start_stream=0, start_ms=1500, start_chunk=1, stopped_at=OPENS,
            end_stream=0, end_ms=4500, end_chunk=2,
        )
    )  # fmt: skip
    await session.commit()
    first, seen = team[0], []
    essay = await _claim(first, seen)
    assert essay == world.essay.code
    await _mark(first, essay, ["6", "4"], action="submit", confirm=True)
    assert await _claim(first, seen) == world.oral.code
    screen = await first.get(f"/grading/scripts/{world.oral.code}")
    assert f'src="/grading/scripts/{world.oral.code}/video#t=1.5,4.5"' in screen.text
    assert 'data-start="1.5" data-end="4.5"' in screen.text
    assert "from 1.5 s to 4.5 s of the recording" in screen.text
    assert '<script src="/static/js/review.js" defer></script>' in screen.text
