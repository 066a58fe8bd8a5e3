"""Blind re-grading on appeal: the appeal handler has an appealed part graded again; the appeal's
outcome waits for the new marks; the new decision rests on them. Refused for anyone but a handler,
for another registration's part, twice, and once the outcome is recorded; over HTTP with bad and
hostile input."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import appeals, regrading, requirements
from certification.independence import NO_PARTICIPANTS
from certification.models import Appeal, AppealRegrading
from certification.schemas import AppealStatus, DecisionOutcome
from exam.models import Attempt, AttemptPart
from exam.queries import my_registrations
from exam.timing import FixedClock
from grading.claims import claim_next
from grading.independence import NoExaminers
from grading.marking import save_marks, submit_marks
from grading.models import Script, ScriptStatus
from grading.regrading import BlindRegrading
from tests.certification.factories import DECIDED_AT, Ready, ToldReviews, ready_for_decision
from tests.certification.test_appeals import GROUNDS, OSLO, _decided
from tests.grading.factories import new_grader
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import Role, User, create_user
from vakt.audit import AuditEntry
from vakt.errors import Conflict, Forbidden, NotFound

pytestmark = pytest.mark.asyncio
REGRADING = BlindRegrading()
LATER = DECIDED_AT + timedelta(days=3)
ENGLISH = {"Accept-Language": "en"}
POINTS = re.compile(r"[0-9.,]+ of [0-9.,]+ points")


async def _parts(session: AsyncSession, registration_id: int) -> dict[str, AttemptPart]:
    """The registration's handed-in parts by key."""
    attempt_id = await session.scalar(
        select(Attempt.id).where(Attempt.registration_id == registration_id)
    )
    rows = await session.scalars(select(AttemptPart).where(AttemptPart.attempt_id == attempt_id))
    return {p.part_key: p for p in rows}


async def _essay_part(session: AsyncSession, registration_id: int) -> AttemptPart:
    """The part with the essay (the one with scripts)."""
    for attempt_part in (await _parts(session, registration_id)).values():
        if await session.scalar(select(Script.id).where(Script.attempt_part_id == attempt_part.id)):
            return attempt_part
    raise AssertionError("no essay part")


async def _appealed(session: AsyncSession, ready: Ready, users: dict[str, User]) -> Appeal:
    await _decided(session, ready, users, DECIDED_AT)
    appeal = await appeals.file_appeal(
        session, candidate=users["candidate"], registration_id=ready.passed, grounds=GROUNDS,
        now=DECIDED_AT, timezone=OSLO,
    )  # fmt: skip
    await session.commit()
    return appeal


async def _order(session: AsyncSession, users: dict[str, User], appeal: Appeal, part_id: int) -> (
    AppealRegrading
):  # fmt: skip
    return await regrading.order_regrading(
        session, handler=users["administrator"], appeal_id=appeal.id, attempt_part_id=part_id,
        now=LATER, regrading=REGRADING,
    )  # fmt: skip


async def test_the_outcome_and_the_new_decision_rest_on_the_blind_regrading(
    session: AsyncSession, users: dict[str, User], client: httpx.AsyncClient, clock: FixedClock
) -> None:
    ready = await ready_for_decision(session, users)
    appeal = await _appealed(session, ready, users)
    essay = await _essay_part(session, ready.passed)
    case = await requirements.case_of(session, ready.passed, ToldReviews())
    assert [r.key for r in case.requirements if not r.met] == ["appeal"]

    await _order(session, users, appeal, essay.id)
    await session.commit()
    assert appeal.status == AppealStatus.IN_REVIEW
    page = await appeals.appeal_page(session, users["decision_maker"], appeal.id, REGRADING)
    assert page.regrading_unfinished
    [row] = [r for r in page.regrading if r.part.id == essay.id]
    assert row.ordered is not None and row.grading is not None
    assert (row.grading.grading_round, row.grading.finished, row.can_order) == (2, False, False)

    with pytest.raises(Conflict, match="not finished"):
        await appeals.record_outcome(
            session, handler=users["administrator"], appeal_id=appeal.id,
            status=AppealStatus.UPHELD, grounds="Graded again.", now=LATER, regrading=REGRADING,
        )  # fmt: skip

    # The first round's graders have seen the essay; two new graders grade it again.
    built = ready.built
    for grader in (built.first_grader, built.second_grader):
        assert await claim_next(session, grader=grader, now=LATER, examiners=NoExaminers()) is None
    [again] = await session.scalars(
        select(Script).where(Script.attempt_part_id == essay.id, Script.grading_round == 2)
    )
    for name in ("ny1", "ny2")[: again.required_marks]:
        grader = await new_grader(
            session, name, scheme_id=built.scheme_id, admin=users["administrator"]
        )
        marking = await claim_next(session, grader=grader, now=LATER, examiners=NoExaminers())
        assert marking is not None and marking.script_id == again.id
        await save_marks(
            session, code=again.code, grader=grader, marks=[8], comment="", sequence=1, now=LATER
        )
        await submit_marks(session, code=again.code, grader=grader, now=LATER)
    await session.commit()
    assert again.status == ScriptStatus.FINAL
    await session.refresh(essay)
    assert (essay.score, essay.passed) == (8.0, True)  # the new marks count, not the 9 and 9

    # The new result reaches the candidate only with the new decision.
    [view] = [
        v for v in await my_registrations(session, users["candidate"], LATER)
        if v.registration.id == ready.passed
    ]  # fmt: skip
    assert view.under_review and view.passed is None
    # My page says so, and shows neither the earlier points nor the new ones.
    clock.set(LATER)
    await sign_in(client, users["candidate"].username)
    my_page = (await client.get("/my", headers=ENGLISH)).text
    assert "Under review: the result will be sent to you again" in my_page
    assert "Passed" not in my_page and "Not passed" not in my_page
    assert not POINTS.search(my_page)

    await appeals.record_outcome(
        session, handler=users["administrator"], appeal_id=appeal.id,
        status=AppealStatus.UPHELD, grounds="Graded again.", now=LATER, regrading=REGRADING,
    )  # fmt: skip
    second = await create_user(
        session, username="beslutter2", full_name="Andre Beslutter", password="x" * 12,
        roles={Role.DECISION_MAKER},
    )  # fmt: skip
    decision = await appeals.redecide(
        session, decider=second, appeal_id=appeal.id, outcome=DecisionOutcome.CERTIFIED,
        grounds="Passed on the new marks.", now=LATER, reviews=ToldReviews(),
        participants=NO_PARTICIPANTS, timezone=OSLO,
    )  # fmt: skip
    [view] = [
        v for v in await my_registrations(session, users["candidate"], LATER)
        if v.registration.id == ready.passed
    ]  # fmt: skip
    assert not view.under_review and view.passed is True
    await session.commit()
    my_page = (await client.get("/my", headers=ENGLISH)).text
    assert "Under review" not in my_page and "Passed" in my_page
    assert POINTS.search(my_page)
    assert view.attempt is not None and view.attempt.results_released_at == LATER
    details = " ".join(r["detail"] for r in decision.requirements)
    assert f"{essay.score:g} of" in details
    ordered = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "certification.regrading_ordered")
    )
    assert ordered is not None and ordered.actor_id == users["administrator"].id


async def test_only_a_handler_orders_a_regrading_of_the_appealed_attempt_once(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    appeal = await _appealed(session, ready, users)
    essay = await _essay_part(session, ready.passed)
    for role in ("decision_maker", "grader", "proctor", "candidate"):
        with pytest.raises(Forbidden):
            await regrading.order_regrading(
                session, handler=users[role], appeal_id=appeal.id, attempt_part_id=essay.id,
                now=LATER, regrading=REGRADING,
            )  # fmt: skip
    other = await _essay_part(session, ready.failed)
    with pytest.raises(NotFound):
        await _order(session, users, appeal, other.id)
    with pytest.raises(NotFound):
        await _order(session, users, appeal, 10**9)
    choice = next(p for p in (await _parts(session, ready.passed)).values() if p.id != essay.id)
    with pytest.raises(Conflict, match="scored automatically"):
        await _order(session, users, appeal, choice.id)
    await _order(session, users, appeal, essay.id)
    with pytest.raises(Conflict, match="already"):
        await _order(session, users, appeal, essay.id)
    # Nothing of the other registration was touched.
    assert {s.grading_round for s in await session.scalars(
        select(Script).where(Script.attempt_part_id == other.id)
    )} == {1}  # fmt: skip


async def test_no_regrading_once_the_outcome_is_recorded(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    appeal = await _appealed(session, ready, users)
    await appeals.record_outcome(
        session, handler=users["administrator"], appeal_id=appeal.id,
        status=AppealStatus.REJECTED, grounds="The marks stand.", now=LATER, regrading=REGRADING,
    )  # fmt: skip
    essay = await _essay_part(session, ready.passed)
    with pytest.raises(Conflict, match="recorded already"):
        await _order(session, users, appeal, essay.id)


@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        ("", 400, "Choose the part to grade again."),
        ("abc", 400, "Choose the part to grade again."),
        ("9" * 40, 400, "Choose the part to grade again."),
        ("%ED%A0%80", 400, "Choose the part to grade again."),
        ("999999", 404, "The appealed exam has no such part."),
    ],
)
async def test_the_regrading_form_refuses_bad_input_with_a_message(
    session: AsyncSession,
    users: dict[str, User],
    client: httpx.AsyncClient,
    value: str,
    status: int,
    message: str,
) -> None:
    ready = await ready_for_decision(session, users)
    appeal = await _appealed(session, ready, users)
    await sign_in(client, "administrator")
    page = await client.get(f"/appeals/{appeal.id}", headers=ENGLISH)
    assert page.status_code == 200 and "Blind re-grading" in page.text
    # Sent as typed (percent-encoded bytes included: a lone surrogate's UTF-8 form).
    response = await client.post(
        f"/appeals/{appeal.id}/regrading",
        content=f"csrf_token={csrf_from(page.text)}&attempt_part_id={value}".encode(),
        headers={**ENGLISH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == status
    assert message in response.text
    assert "Traceback" not in response.text
    assert await session.scalar(select(AppealRegrading.id)) is None


async def test_the_handler_orders_a_regrading_from_the_appeal_page(
    session: AsyncSession, users: dict[str, User], client: httpx.AsyncClient
) -> None:
    ready = await ready_for_decision(session, users)
    appeal = await _appealed(session, ready, users)
    essay = await _essay_part(session, ready.passed)
    await sign_in(client, "decision_maker")
    page = await client.get(f"/appeals/{appeal.id}", headers=ENGLISH)
    assert "Blind re-grading" in page.text and "Grade again, blindly" not in page.text
    refused = await client.post(
        f"/appeals/{appeal.id}/regrading",
        data={"csrf_token": csrf_from(page.text), "attempt_part_id": str(essay.id)},
        headers=ENGLISH,
    )
    assert refused.status_code == 403
    home = await client.get("/", headers=ENGLISH)
    await client.post("/logout", data={"csrf_token": csrf_from(home.text)})

    await sign_in(client, "administrator")
    page = await client.get(f"/appeals/{appeal.id}", headers=ENGLISH)
    assert "Grade again, blindly" in page.text
    done = await client.post(
        f"/appeals/{appeal.id}/regrading",
        data={"csrf_token": csrf_from(page.text), "attempt_part_id": str(essay.id)},
        headers=ENGLISH,
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "graded again, blindly" in done.text and "Being graded again (round 2)" in done.text
    again = await client.post(
        f"/appeals/{appeal.id}/regrading",
        data={"csrf_token": csrf_from(done.text), "attempt_part_id": str(essay.id)},
        headers=ENGLISH,
    )
    assert again.status_code == 409 and "already" in again.text
