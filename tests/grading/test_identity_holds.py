"""Identity holds: a candidate whose identity a proctor could not confirm has their scripts held
from grading (not claimable, not counted as waiting, not reconciled) and their parts get no
computed result until the identity is confirmed, when what waited is settled; grading learns of
it through ``grading.holds.IdentityHolds`` (proctoring fills it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grading import policy
from grading.claims import claim_next, queue_size
from grading.holds import NoHolds
from grading.independence import NoExaminers
from grading.marking import save_marks, submit_marks
from grading.models import ScriptStatus
from grading.queries import grader_home, reconciliation_screen
from grading.reconcile import reconcile, waiting_for
from proctoring.review import ProctoringIdentityHolds, decide_identity
from tests.exam.factories import OPENS, Exam, build_exam
from tests.grading.factories import (
    HandedIn,
    hand_in,
    new_grader,
    part,
    registration_of,
    scheme_of,
    scripts_of,
    wire_events,
)
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Conflict

LATER = OPENS + timedelta(hours=2)
NOBODY = NoExaminers()


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    wire_events(session)
    return await build_exam(session, users)


@pytest.mark.asyncio
async def test_a_held_candidate_is_not_graded_until_confirmed(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    held_in: HandedIn = await hand_in(session, exam, exam.candidate)
    await hand_in(session, exam, exam.other)
    [held_script] = await scripts_of(session, held_in.knowledge_part_id)
    grader = await new_grader(
        session, "sensor1", scheme_id=await scheme_of(session, exam), admin=exam.admin
    )
    holds = ProctoringIdentityHolds()
    registration_id = await registration_of(session, exam, exam.candidate)
    assert await holds.held_registrations(session) == set()
    assert await queue_size(session, grader, NOBODY, holds) == 2

    await decide_identity(
        session, registration_id=registration_id, confirmed=False,
        grounds="Ansiktet stemmer ikke med legitimasjonen", proctor=users["proctor"], now=LATER,
    )  # fmt: skip
    assert await holds.held_registrations(session) == {registration_id}
    assert await queue_size(session, grader, NOBODY, holds) == 1
    # Grading on its own (no holds told) would hand it out: the hold is proctoring's.
    assert await queue_size(session, grader, NOBODY, NoHolds()) == 2
    first = await claim_next(session, grader=grader, now=LATER, examiners=NOBODY, holds=holds)
    assert first is not None and first.script_id != held_script.id
    assert (
        await claim_next(session, grader=grader, now=LATER, examiners=NOBODY, holds=holds) is None
    )

    # Confirmed later: the script waits for a grader again.
    await decide_identity(
        session, registration_id=registration_id, confirmed=True, grounds="",
        proctor=users["proctor"], now=LATER,
    )  # fmt: skip
    assert await holds.held_registrations(session) == set()
    second = await claim_next(session, grader=grader, now=LATER, examiners=NOBODY, holds=holds)
    assert second is not None and second.script_id == held_script.id


async def _hold(session: AsyncSession, registration_id: int, proctor: User) -> None:
    await decide_identity(
        session, registration_id=registration_id, confirmed=False,
        grounds="Ansiktet stemmer ikke med legitimasjonen", proctor=proctor, now=LATER,
    )  # fmt: skip


async def _confirm(session: AsyncSession, registration_id: int, proctor: User) -> None:
    await decide_identity(
        session, registration_id=registration_id, confirmed=True, grounds="", proctor=proctor,
        now=LATER + timedelta(hours=1),
    )  # fmt: skip


@pytest.mark.asyncio
async def test_a_held_part_gets_no_result_until_the_identity_is_confirmed(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    scheme_id = await scheme_of(session, exam)
    await policy.set_rules(
        session, scheme_id=scheme_id, values={"marks_per_script": "one"}, actor=exam.admin,
        now=OPENS,
    )  # fmt: skip
    registration_id = await registration_of(session, exam, exam.candidate)
    # Held before the hand-in: even the choice part, which needs no grader, waits.
    await _hold(session, registration_id, users["proctor"])
    taken = await hand_in(session, exam, exam.candidate)
    assert (await part(session, taken.choice_part_id)).passed is None
    [script] = await scripts_of(session, taken.knowledge_part_id)
    grader = await new_grader(session, "sensor1", scheme_id=scheme_id, admin=exam.admin)
    holds = ProctoringIdentityHolds()
    assert (
        await claim_next(session, grader=grader, now=LATER, examiners=NOBODY, holds=holds) is None
    )
    # Claimed where the hold was not told (as before it was decided) and marked: the script is
    # final, its part has no result.
    assert await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)
    await save_marks(
        session, code=script.code, grader=grader, marks=[8], comment="", sequence=1, now=LATER
    )
    await submit_marks(session, code=script.code, grader=grader, now=LATER, holds=holds)
    await session.refresh(script)
    assert script.status == ScriptStatus.FINAL
    knowledge = await part(session, taken.knowledge_part_id)
    assert (knowledge.passed, knowledge.score, knowledge.result_recorded_at) == (None, None, None)
    assert not await session.scalar(
        select(AuditEntry.seq).where(AuditEntry.action == "attempt.part_result_computed")
    )

    await _confirm(session, registration_id, users["proctor"])
    knowledge = await part(session, taken.knowledge_part_id)
    assert (knowledge.score, knowledge.max_score, knowledge.passed) == (8.0, 10.0, True)
    choice = await part(session, taken.choice_part_id)
    assert choice.passed is False and choice.score == 0.0
    computed = list(
        await session.scalars(
            select(AuditEntry.entity_id).where(AuditEntry.action == "attempt.part_result_computed")
        )
    )
    assert sorted(computed) == sorted([str(taken.choice_part_id), str(taken.knowledge_part_id)])


@pytest.mark.asyncio
async def test_a_held_script_is_not_reconciled_until_the_identity_is_confirmed(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    taken = await hand_in(session, exam, exam.candidate)
    [script] = await scripts_of(session, taken.knowledge_part_id)
    scheme_id = await scheme_of(session, exam)
    for name, mark in (("sensor1", 3), ("sensor2", 9)):
        grader = await new_grader(session, name, scheme_id=scheme_id, admin=exam.admin)
        assert await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)
        await save_marks(
            session, code=script.code, grader=grader, marks=[mark], comment="", sequence=1,
            now=LATER,
        )  # fmt: skip
        await submit_marks(session, code=script.code, grader=grader, now=LATER)
    lead = await new_grader(session, "leder", scheme_id=scheme_id, admin=exam.admin, lead=True)
    holds = ProctoringIdentityHolds()
    assert [s.id for s in await waiting_for(session, lead, NOBODY, holds)] == [script.id]

    registration_id = await registration_of(session, exam, exam.candidate)
    await _hold(session, registration_id, users["proctor"])
    assert await waiting_for(session, lead, NOBODY, holds) == []
    assert (await grader_home(session, lead, NOBODY, holds)).to_reconcile == []
    with pytest.raises(Conflict, match="held"):
        await reconciliation_screen(
            session, code=script.code, lead=lead, examiners=NOBODY, holds=holds
        )
    with pytest.raises(Conflict, match="held"):
        await reconcile(
            session, code=script.code, lead=lead, final_points=7, grounds="Drøftingen holder.",
            now=LATER, examiners=NOBODY, holds=holds,
        )  # fmt: skip
    await session.refresh(script)
    assert script.status == ScriptStatus.RECONCILIATION
    assert (await part(session, taken.knowledge_part_id)).passed is None

    await _confirm(session, registration_id, users["proctor"])
    assert [s.id for s in await waiting_for(session, lead, NOBODY, holds)] == [script.id]
    await reconcile(
        session, code=script.code, lead=lead, final_points=7, grounds="Drøftingen holder.",
        now=LATER, examiners=NOBODY, holds=holds,
    )  # fmt: skip
    knowledge = await part(session, taken.knowledge_part_id)
    assert (knowledge.score, knowledge.max_score, knowledge.passed) == (7.0, 10.0, True)
