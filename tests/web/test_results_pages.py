"""The decision maker's results pages over HTTP: the overview, an attempt's results part by part,
overriding a part's result with grounds (refused without them, for everyone else, with broken
input), and the override shown on the decision maker's page, the staff's sitting page and the
candidate's My page with the points; every override audited, graders never named."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import results
from exam.models import Attempt, AttemptPart, Registration
from exam.reviews import NO_REVIEWS
from exam.timing import FixedClock
from tests.exam.factories import OPENS
from tests.grading.graded_sitting import (
    GradedSitting,
    build_sitting,
    graded_sitting,
    take_exam,
    wire_events,
)
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import MAX_ROW_ID
from vakt.errors import VaktError
from vakt.i18n import format_moment

ENGLISH = {"Accept-Language": "en"}
NOW = OPENS + timedelta(hours=10)
GROUNDS = "Kandidaten brukte et ikke tillatt hjelpemiddel i denne delen."


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def _parts(session: AsyncSession, candidate_id: int) -> tuple[int, list[AttemptPart]]:
    """The candidate's attempt and its parts, in order, as the database has them now."""
    attempt = await session.scalar(
        select(Attempt)
        .join(Registration, Registration.id == Attempt.registration_id)
        .where(Registration.candidate_id == candidate_id)
    )
    assert attempt is not None
    parts = list(
        await session.scalars(
            select(AttemptPart)
            .where(AttemptPart.attempt_id == attempt.id)
            .order_by(AttemptPart.part_index)
            .execution_options(populate_existing=True)
        )
    )
    return attempt.id, parts


async def _overrides(session: AsyncSession) -> list[AuditEntry]:
    return list(
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "attempt.part_result_overridden")
        )
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("username", ["administrator", "grader", "candidate", "proctor"])
async def test_only_the_decision_maker_sees_and_overrides_results(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], username: str
) -> None:
    wire_events(session)
    built = await build_sitting(session, users, candidates=1)
    await take_exam(session, built, users["candidate"], ("A", "A", "A"))
    attempt_id, parts = await _parts(session, users["candidate"].id)
    await sign_in(client, username)
    for path in ("/results", f"/results/attempts/{attempt_id}"):
        refused = await client.get(path, headers=ENGLISH)
        assert refused.status_code == 403, path
    token = csrf_from((await client.get("/")).text)
    refused = await client.post(
        f"/results/parts/{parts[0].id}/override",
        data={"result": "not_passed", "grounds": GROUNDS, "csrf_token": token},
        headers=ENGLISH,
    )
    assert refused.status_code == 403
    _attempt_id, after = await _parts(session, users["candidate"].id)
    assert after[0].passed is True and after[0].result_override_at is None
    assert not await _overrides(session)


@pytest.mark.asyncio
async def test_the_decision_maker_is_refused_the_staff_pages(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    built = await build_sitting(session, users, candidates=1)
    await sign_in(client, "decision_maker")
    for path in (
        f"/staff/sittings/{built.sitting_id}",
        f"/staff/sittings/{built.sitting_id}/grading",
        f"/staff/sittings/{built.sitting_id}/statistics",
        f"/staff/schemes/{built.scheme_id}/grading",
        "/staff/sittings",
    ):
        assert (await client.get(path)).status_code == 403, path
    home = await client.get("/", headers=ENGLISH)
    assert 'href="/results"' in home.text


@pytest.mark.asyncio
async def test_the_overview_and_an_attempt_show_points_pass_marks_and_results(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)
    last = built.candidates[-1]  # two of three choices right: 66.7 %, under the 70 % pass mark
    attempt_id, _parts_of_last = await _parts(session, last.id)
    await sign_in(client, "decision_maker")
    overview = await client.get("/results", headers=ENGLISH)
    assert overview.status_code == 200
    assert "Kvalitet: Kvalitetsprøve" in overview.text
    assert f'<a href="/results/attempts/{attempt_id}">Kandidat 5</a>' in overview.text
    assert overview.text.count("2 of 2") == len(built.candidates)
    page = await client.get(f"/results/attempts/{attempt_id}", headers=ENGLISH)
    assert page.status_code == 200
    text = page.text
    assert "Results of Kandidat 5" in text
    assert "2 of 3 points (66.7 %)" in text and "Pass mark</dt><dd>70 %" in text
    results_shown = re.findall(r'<dd class="part-result">([^<]+)</dd>', text)
    assert results_shown == ["not passed", "not passed"]
    assert "2 of 10 points (20 %)" in text  # the essay: marked 2 and 2 of 10
    assert "<strong>Not passed</strong>" in text
    for grader in (built.first_grader, built.second_grader):
        assert grader.full_name not in text.replace("Grader</", "")
    assert "Andre Sensor" not in text and "grader2" not in text
    for missing in ("/results/attempts/999999", f"/results/attempts/{MAX_ROW_ID + 1}"):
        assert (await client.get(missing)).status_code == 404


@pytest.mark.asyncio
async def test_a_part_waiting_for_grading_says_so(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    wire_events(session)
    built = await build_sitting(session, users, candidates=1)
    await take_exam(session, built, users["candidate"], ("A", "A", None))
    attempt_id, _parts_of = await _parts(session, users["candidate"].id)
    await sign_in(client, "decision_maker")
    overview = await client.get("/results", headers=ENGLISH)
    assert "1 of 2" in overview.text
    text = (await client.get(f"/results/attempts/{attempt_id}", headers=ENGLISH)).text
    assert re.findall(r'<dd class="part-result">([^<]+)</dd>', text) == [
        "not passed",
        "awaiting grading",
    ]
    assert "Not every part has a result yet." in text


async def _override_everywhere(
    client: httpx.AsyncClient, session: AsyncSession, built: GradedSitting, users: dict[str, User]
) -> tuple[int, int]:
    """The decision maker fails the first candidate's essay part (9 of 10 points)."""
    candidate = users["candidate"]
    attempt_id, parts = await _parts(session, candidate.id)
    essay = parts[1]
    assert essay.passed is True and essay.score == 9
    await sign_in(client, "decision_maker")
    page = await client.get(f"/results/attempts/{attempt_id}", headers=ENGLISH)
    done = await client.post(
        f"/results/parts/{essay.id}/override",
        data={"result": "not_passed", "grounds": f"  {GROUNDS} ", "csrf_token": csrf_from(page.text)},
    )  # fmt: skip
    assert done.status_code == 303
    assert (
        done.headers["location"]
        == f"/results/attempts/{attempt_id}?saved={essay.id}#part-{essay.id}"
    )
    return attempt_id, essay.id


@pytest.mark.asyncio
async def test_an_override_is_audited_and_shown_on_all_three_pages(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)
    decider_id = users["decision_maker"].id
    attempt_id, part_id = await _override_everywhere(client, session, built, users)
    when = format_moment(NOW, "short", "Europe/Oslo", "en")
    page = await client.get(f"/results/attempts/{attempt_id}?saved={part_id}", headers=ENGLISH)
    text = page.text
    assert "The result has been overridden." in text
    assert f"Set by Decision Maker, {when}. Grounds: {GROUNDS}" in text
    assert re.findall(r'<dd class="part-result">([^<]+)</dd>', text) == ["passed", "not passed"]
    assert "9 of 10 points (90 %)" in text  # the points stay what they were
    [entry] = await _overrides(session)
    assert entry.actor_id == decider_id and entry.entity_id == str(part_id)
    assert entry.before == {"passed": True}
    assert entry.after == {"passed": False, "grounds": GROUNDS}
    _attempt, parts = await _parts(session, users["candidate"].id)
    assert parts[1].passed is False and parts[1].result_override_grounds == GROUNDS

    # The staff's sitting page names the decision maker, when, and why.
    await client.post("/logout", data={"csrf_token": csrf_from(text)})
    await sign_in(client, "administrator")
    staff = await client.get(f"/staff/sittings/{built.sitting_id}", headers=ENGLISH)
    assert f"overridden by the decision maker Decision Maker, {when}: {GROUNDS}" in staff.text
    assert f"/staff/attempts/{attempt_id}/release" not in staff.text

    # The decision maker releases the result "not passed" (administrators no longer do).
    await client.post("/logout", data={"csrf_token": csrf_from(staff.text)})
    await sign_in(client, "decision_maker")
    registration_id = await session.scalar(
        select(Attempt.registration_id).where(Attempt.id == attempt_id)
    )
    case = await client.get(f"/decisions/registrations/{registration_id}", headers=ENGLISH)
    released = await client.post(
        f"/decisions/registrations/{registration_id}/release",
        data={"csrf_token": csrf_from(case.text)},
    )
    assert released.status_code == 303

    # The candidate sees the points, the result, that it was overridden and why; no grader.
    await client.post("/logout", data={"csrf_token": csrf_from(case.text)})
    await sign_in(client, "candidate")
    my = (await client.get("/my", headers=ENGLISH)).text
    assert "Flervalg: 3 of 3 points, passed" in my
    assert "Kunnskap: 9 of 10 points, not passed" in my
    assert (
        f"The result was set by the decision maker ({when}), not by the points. Grounds: {GROUNDS}"
    ) in my
    assert "<strong>Not passed</strong>" in my
    assert "Andre Sensor" not in my and "Decision Maker" not in my


@pytest.mark.asyncio
async def test_the_candidate_sees_points_only_once_results_are_released(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    await graded_sitting(session, users)
    await sign_in(client, "candidate")
    my = (await client.get("/my", headers=ENGLISH)).text
    assert "Not released yet." in my and "of 10 points" not in my


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "status", "message", "field"),
    [
        ({"result": "passed", "grounds": ""}, 400, "Give the grounds for the override.", "grounds"),
        ({"result": "passed", "grounds": " \n "}, 400, "Give the grounds", "grounds"),
        ({"result": "passed"}, 400, "Give the grounds for the override.", "grounds"),
        ({"grounds": GROUNDS}, 400, "Choose passed or not passed.", "result"),
        ({"result": "maybe", "grounds": GROUNDS}, 400, "Choose passed or not passed.", "result"),
    ],
)
async def test_an_override_without_grounds_or_a_result_is_refused_at_the_field(
    client: httpx.AsyncClient,
    session: AsyncSession,
    users: dict[str, User],
    data: dict[str, str],
    status: int,
    message: str,
    field: str,
) -> None:
    wire_events(session)
    built = await build_sitting(session, users, candidates=1)
    await take_exam(session, built, users["candidate"], ("A", "A", "A"))
    attempt_id, parts = await _parts(session, users["candidate"].id)
    part_id = parts[0].id
    await sign_in(client, "decision_maker")
    page = await client.get(f"/results/attempts/{attempt_id}", headers=ENGLISH)
    refused = await client.post(
        f"/results/parts/{part_id}/override",
        data={**data, "csrf_token": csrf_from(page.text)},
        headers=ENGLISH,
    )
    assert refused.status_code == status and message in refused.text
    assert f'id="override-error-{part_id}"' in refused.text
    if field == "grounds":
        tag = re.search(rf'<textarea id="grounds-{part_id}"[^>]*>', refused.text)
        assert tag is not None and 'aria-invalid="true"' in tag.group(0)
        if data.get("result") == "passed":
            assert f'id="passed-{part_id}" name="result" value="passed" checked' in refused.text
    else:
        assert f'<textarea id="grounds-{part_id}"' in refused.text and GROUNDS in refused.text
        assert 'role="radiogroup" aria-invalid="true"' in refused.text
    assert not await _overrides(session)


@pytest.mark.asyncio
async def test_broken_input_other_ids_and_a_missing_token_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    wire_events(session)
    built = await build_sitting(session, users, candidates=1)
    await take_exam(session, built, users["candidate"], ("A", "A", "A"))
    attempt_id, parts = await _parts(session, users["candidate"].id)
    await sign_in(client, "decision_maker")
    token = csrf_from((await client.get(f"/results/attempts/{attempt_id}")).text)
    path = f"/results/parts/{parts[0].id}/override"
    form = {"result": "not_passed", "grounds": GROUNDS, "csrf_token": token}
    nul = await client.post(path, data={**form, "grounds": "grunn\x00"}, headers=ENGLISH)
    assert nul.status_code == 400 and "cannot be stored" in nul.text
    assert (await client.post(path, data={**form, "csrf_token": "wrong"})).status_code == 403
    no_token = await client.post(path, data={"result": "passed", "grounds": GROUNDS})
    assert no_token.status_code == 403
    for other in ("999999", str(MAX_ROW_ID + 1), str(10**400)):
        missing = await client.post(f"/results/parts/{other}/override", data=form)
        assert missing.status_code == 404, other
    assert not await _overrides(session)
    # The service refuses half a surrogate pair however it comes in (a form cannot carry one).
    with pytest.raises(VaktError) as broken:
        await results.override_part_result(
            session, attempt_part_id=parts[0].id, passed=False, grounds="grunn\ud800",
            actor=users["decision_maker"], now=NOW, reviews=NO_REVIEWS,
        )  # fmt: skip
    assert broken.value.status_code == 400 and broken.value.field == "grounds"
