"""Claiming scripts: only qualified graders, never a script of a candidate they are in conflict
with or proctored, never more graders than a script needs (also under concurrency), and a claim
not finished in time goes back to the queue."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam.models import AttemptPart
from grading import graders, marking
from grading.claims import claim_next, queue_size
from grading.independence import NoExaminers
from grading.models import Marking, Script, ScriptKind
from grading.scripts import expire_claims, new_code
from proctoring.involvement import ProctoringInvolvement, note_involvement
from tests.exam.factories import OPENS, Exam, build_exam
from tests.grading.factories import (
    HandedIn,
    hand_in,
    new_grader,
    registration_of,
    scheme_of,
    scripts_of,
    wire_events,
)
from vakt.accounts import Role, User, create_user
from vakt.audit import AuditEntry
from vakt.db import create_sessionmaker
from vakt.errors import Conflict, Forbidden, VaktError

LATER = OPENS + timedelta(hours=2)
NOBODY = NoExaminers()


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    wire_events(session)
    return await build_exam(session, users)


@pytest_asyncio.fixture
async def handed_in(session: AsyncSession, exam: Exam) -> tuple[HandedIn, HandedIn]:
    """Both candidates' attempts handed in: one essay script each, the first's first."""
    return (
        await hand_in(session, exam, exam.candidate),
        await hand_in(session, exam, exam.other),
    )


@pytest.mark.asyncio
async def test_only_a_qualified_grader_claims(
    session: AsyncSession, exam: Exam, handed_in: tuple[HandedIn, HandedIn], users: dict[str, User]
) -> None:
    unqualified = await new_grader(session, "sensor1", scheme_id=None, admin=exam.admin)
    with pytest.raises(Forbidden, match="not qualified to grade any scheme"):
        await claim_next(session, grader=unqualified, now=LATER, examiners=NOBODY)
    with pytest.raises(Forbidden):
        await claim_next(session, grader=users["proctor"], now=LATER, examiners=NOBODY)
    # Nobody but the staff qualifies a grader, and only a user with the grader role.
    with pytest.raises(Forbidden):
        await graders.qualify(
            session, grader_id=unqualified.id, scheme_id=await scheme_of(session, exam),
            actor=unqualified, now=LATER,
        )  # fmt: skip
    with pytest.raises(Exception, match="grader role"):
        await graders.qualify(
            session, grader_id=users["proctor"].id, scheme_id=await scheme_of(session, exam),
            actor=exam.admin, now=LATER,
        )  # fmt: skip


@pytest.mark.asyncio
async def test_a_script_goes_to_as_many_graders_as_it_needs_each_once(
    session: AsyncSession, exam: Exam, handed_in: tuple[HandedIn, HandedIn]
) -> None:
    scheme_id = await scheme_of(session, exam)
    first, second, third = [
        await new_grader(session, f"sensor{n}", scheme_id=scheme_id, admin=exam.admin)
        for n in (1, 2, 3)
    ]
    [script_a] = await scripts_of(session, handed_in[0].knowledge_part_id)
    [script_b] = await scripts_of(session, handed_in[1].knowledge_part_id)

    a1 = await claim_next(session, grader=first, now=LATER, examiners=NOBODY)
    a2 = await claim_next(session, grader=second, now=LATER, examiners=NOBODY)
    # The oldest script first; a grader never gets the same script twice.
    assert a1 is not None and a2 is not None
    assert (a1.script_id, a1.slot, a2.script_id, a2.slot) == (script_a.id, 1, script_a.id, 2)
    b1 = await claim_next(session, grader=first, now=LATER, examiners=NOBODY)
    assert b1 is not None and b1.script_id == script_b.id
    assert await claim_next(session, grader=first, now=LATER, examiners=NOBODY) is None
    # The third grader finds script A full and takes B's second place.
    b2 = await claim_next(session, grader=third, now=LATER, examiners=NOBODY)
    assert b2 is not None and (b2.script_id, b2.slot) == (script_b.id, 2)
    assert await claim_next(session, grader=third, now=LATER, examiners=NOBODY) is None
    assert b2.expires_at == LATER + timedelta(minutes=120)
    claimed = await session.scalar(
        select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "grading.script_claimed"
        )
    )  # fmt: skip
    assert claimed == 4


@pytest.mark.asyncio
async def test_a_grader_qualified_for_a_tag_gets_only_items_with_it(
    session: AsyncSession, exam: Exam, handed_in: tuple[HandedIn, HandedIn]
) -> None:
    scheme_id = await scheme_of(session, exam)
    # The exam's essays are tagged "strategi" (tests.itembank.factories.essay).
    strategist = await new_grader(
        session, "sensor1", scheme_id=scheme_id, admin=exam.admin, tag="strategi"
    )
    other_field = await new_grader(
        session, "sensor2", scheme_id=scheme_id, admin=exam.admin, tag="jus"
    )
    assert await queue_size(session, strategist, NOBODY) == 2
    assert await queue_size(session, other_field, NOBODY) == 0
    assert await claim_next(session, grader=other_field, now=LATER, examiners=NOBODY) is None
    assert await claim_next(session, grader=strategist, now=LATER, examiners=NOBODY) is not None


@pytest.mark.asyncio
async def test_a_grader_never_gets_a_candidate_they_declared_a_conflict_with(
    session: AsyncSession, exam: Exam, handed_in: tuple[HandedIn, HandedIn]
) -> None:
    scheme_id = await scheme_of(session, exam)
    grader = await new_grader(session, "sensor1", scheme_id=scheme_id, admin=exam.admin)
    await graders.declare_conflict(
        session, grader=grader, now=LATER, candidate_username=exam.candidate.username.upper(),
        note="Min svigerinne",
    )  # fmt: skip
    [script_b] = await scripts_of(session, handed_in[1].knowledge_part_id)

    assert await queue_size(session, grader, NOBODY) == 1
    claimed = await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)
    assert claimed is not None and claimed.script_id == script_b.id
    assert await claim_next(session, grader=grader, now=LATER, examiners=NOBODY) is None
    declared = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "grading.conflict_declared")
    )
    assert declared is not None and declared.actor_id == grader.id


@pytest.mark.asyncio
async def test_a_conflict_with_an_employer_excludes_everyone_working_there(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    exam.candidate.employer = "Mangfold  AS"
    await session.flush()
    await hand_in(session, exam, exam.candidate)
    await hand_in(session, exam, exam.other)
    grader = await new_grader(
        session, "sensor1", scheme_id=await scheme_of(session, exam), admin=exam.admin
    )
    # Written differently from the candidate's record: case and spaces do not matter.
    await graders.declare_conflict(session, grader=grader, now=LATER, employer=" mangfold as ")

    claimed = await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)
    other_script = (await session.scalars(select(Script).order_by(Script.id))).all()[1]
    assert claimed is not None and claimed.script_id == other_script.id
    assert await claim_next(session, grader=grader, now=LATER, examiners=NOBODY) is None


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({}, "candidate_username", "Name the candidate or the employer"),
        ({"candidate_username": "ingen-slik"}, "candidate_username", "There is no candidate"),
        ({"candidate_username": "proctor"}, "candidate_username", "There is no candidate"),
        ({"employer": "x" * 201}, "employer", "too long"),
        ({"employer": "   "}, "candidate_username", "Name the candidate or the employer"),
    ],
)
async def test_a_conflict_that_names_nobody_is_refused(
    session: AsyncSession, exam: Exam, fields: dict[str, str], field: str, message: str
) -> None:
    grader = await new_grader(session, "sensor1", scheme_id=None, admin=exam.admin)
    with pytest.raises(VaktError, match=message) as refused:
        await graders.declare_conflict(session, grader=grader, now=LATER, **fields)
    assert refused.value.field == field
    if "candidate_username" in fields:
        assert refused.value.params == {"who": fields["candidate_username"]}


@pytest.mark.asyncio
async def test_the_same_conflict_twice_is_refused(session: AsyncSession, exam: Exam) -> None:
    grader = await new_grader(session, "sensor1", scheme_id=None, admin=exam.admin)
    await graders.declare_conflict(session, grader=grader, now=LATER, employer="Firma AS")
    with pytest.raises(Conflict):
        await graders.declare_conflict(session, grader=grader, now=LATER, employer="Firma AS")


@pytest.mark.asyncio
async def test_nobody_grades_a_candidate_they_proctored(
    session: AsyncSession, exam: Exam, handed_in: tuple[HandedIn, HandedIn]
) -> None:
    # A proctor who also grades: they looked at the first candidate's proctoring.
    both = await create_user(
        session, username="vakt-sensor", full_name="Vakt og sensor", password=None,
        roles={Role.GRADER, Role.PROCTOR},
    )  # fmt: skip
    await graders.qualify(
        session, grader_id=both.id, scheme_id=await scheme_of(session, exam), actor=exam.admin,
        now=LATER,
    )  # fmt: skip
    await note_involvement(
        session, registration_id=await registration_of(session, exam, exam.candidate),
        proctor=both, now=LATER,
    )  # fmt: skip
    [script_b] = await scripts_of(session, handed_in[1].knowledge_part_id)

    examiners = ProctoringInvolvement()
    assert await queue_size(session, both, examiners) == 1
    claimed = await claim_next(session, grader=both, now=LATER, examiners=examiners)
    assert claimed is not None and claimed.script_id == script_b.id
    assert await claim_next(session, grader=both, now=LATER, examiners=examiners) is None


@pytest.mark.asyncio
async def test_a_claim_not_finished_in_time_goes_back_to_the_queue(
    session: AsyncSession, exam: Exam, handed_in: tuple[HandedIn, HandedIn]
) -> None:
    scheme_id = await scheme_of(session, exam)
    slow = await new_grader(session, "sensor1", scheme_id=scheme_id, admin=exam.admin)
    claim = await claim_next(session, grader=slow, now=LATER, examiners=NOBODY)
    assert claim is not None
    script = await session.get(Script, claim.script_id)
    assert script is not None
    await marking.save_marks(
        session, code=script.code, grader=slow, marks=[6], comment="Halvveis", sequence=1,
        now=LATER,
    )  # fmt: skip
    await session.commit()

    # Not yet: the claim lasts the scheme's 120 minutes.
    assert await expire_claims(session, now=claim.expires_at) == 0
    assert await expire_claims(session, now=claim.expires_at + timedelta(seconds=1)) == 1
    await session.commit()
    await session.refresh(script)
    assert script.taken_marks == 0
    assert await session.scalar(select(func.count()).select_from(Marking)) == 0
    expired = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "grading.claim_expired")
    )
    assert expired is not None and expired.before == {"grader_id": slow.id, "marks": [6.0]}

    # The late grader is told so, and the script is offered again (to them too).
    with pytest.raises(Exception, match="No such script"):
        await marking.save_marks(
            session, code=script.code, grader=slow, marks=[7], comment="", sequence=2,
            now=claim.expires_at + timedelta(minutes=1),
        )  # fmt: skip
    again = await claim_next(
        session, grader=slow, now=claim.expires_at + timedelta(minutes=1), examiners=NOBODY
    )
    assert again is not None and again.script_id == script.id and again.slot == 1


@pytest.mark.asyncio
async def test_saving_on_a_claim_that_ran_out_is_refused_with_a_reason(
    session: AsyncSession, exam: Exam, handed_in: tuple[HandedIn, HandedIn]
) -> None:
    grader = await new_grader(
        session, "sensor1", scheme_id=await scheme_of(session, exam), admin=exam.admin
    )
    claim = await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)
    assert claim is not None
    script = await session.get(Script, claim.script_id)
    assert script is not None
    # The expiry job has not run yet: the grader still learns that the claim is over.
    with pytest.raises(Conflict, match="ran out"):
        await marking.save_marks(
            session, code=script.code, grader=grader, marks=[7], comment="", sequence=1,
            now=claim.expires_at + timedelta(seconds=1),
        )  # fmt: skip


async def _queue_of(session: AsyncSession, exam: Exam, size: int) -> None:
    """``size`` scripts needing two graders each, on one handed-in part (claiming reads no
    answer, so they can share one)."""
    taken = await hand_in(session, exam, exam.candidate)
    part = await session.get(AttemptPart, taken.knowledge_part_id)
    [model] = await scripts_of(session, taken.knowledge_part_id)
    assert part is not None
    for number in range(size - 1):
        session.add(
            Script(
                code=new_code(), scheme_id=model.scheme_id, sitting_id=model.sitting_id,
                registration_id=model.registration_id, attempt_part_id=part.id,
                item_version_id=model.item_version_id, question_id=f"Q{number}",
                kind=ScriptKind.ESSAY, max_points=10, required_marks=2,
            )
        )  # fmt: skip
    await session.commit()


@pytest.mark.asyncio
async def test_twenty_graders_claiming_at_once_never_over_assign(
    session: AsyncSession, engine: AsyncEngine, exam: Exam
) -> None:
    scripts = 30
    await _queue_of(session, exam, scripts)
    scheme_id = await scheme_of(session, exam)
    team = [
        await new_grader(session, f"sensor{n:02}", scheme_id=scheme_id, admin=exam.admin)
        for n in range(20)
    ]
    await session.commit()
    sessionmaker = create_sessionmaker(engine)
    start = asyncio.Event()

    async def grade_until_done(grader: User) -> int:
        claims = 0
        await start.wait()
        while True:
            async with sessionmaker() as own:
                claimed = await claim_next(own, grader=grader, now=LATER, examiners=NOBODY)
                await own.commit()
                if claimed is not None:
                    claims += 1
                    continue
                # Nothing handed out: either nothing is left for this grader, or (PostgreSQL)
                # what is left was locked by a claim still committing; the count tells which.
                if await queue_size(own, grader, NOBODY) == 0:
                    return claims

    workers = [asyncio.create_task(grade_until_done(grader)) for grader in team]
    start.set()
    claims = await asyncio.gather(*workers)

    assert sum(claims) == scripts * 2
    per_script = (
        await session.execute(
            select(Marking.script_id, func.count(), func.count(func.distinct(Marking.grader_id)))
            .group_by(Marking.script_id)
        )
    ).all()  # fmt: skip
    assert len(per_script) == scripts
    assert all(count == 2 and graders_ == 2 for _, count, graders_ in per_script)
    taken = (await session.scalars(select(Script.taken_marks).execution_options(
        populate_existing=True))).all()  # fmt: skip
    assert set(taken) == {2}


@pytest.mark.asyncio
async def test_a_slot_freed_by_an_expired_claim_is_given_again_whichever_it_was(
    session: AsyncSession, exam: Exam, handed_in: tuple[HandedIn, HandedIn]
) -> None:
    scheme_id = await scheme_of(session, exam)
    first, second, third, fourth = [
        await new_grader(session, f"sensor{n}", scheme_id=scheme_id, admin=exam.admin)
        for n in (1, 2, 3, 4)
    ]
    [script_a] = await scripts_of(session, handed_in[0].knowledge_part_id)
    early = await claim_next(session, grader=first, now=LATER, examiners=NOBODY)
    late = await claim_next(
        session, grader=second, now=LATER + timedelta(minutes=30), examiners=NOBODY
    )
    assert early is not None and late is not None
    assert (early.script_id, early.slot, late.script_id, late.slot) == (
        script_a.id, 1, script_a.id, 2,
    )  # fmt: skip
    # Slot 1 runs out while slot 2 is still held: the next grader gets slot 1 back.
    assert await expire_claims(session, now=early.expires_at + timedelta(seconds=1)) == 1
    again = await claim_next(session, grader=third, now=early.expires_at, examiners=NOBODY)
    assert again is not None and (again.script_id, again.slot) == (script_a.id, 1)
    # Now slot 2 runs out while slot 1 is held: the next grader gets slot 2.
    assert await expire_claims(session, now=late.expires_at + timedelta(seconds=1)) == 1
    last = await claim_next(session, grader=fourth, now=late.expires_at, examiners=NOBODY)
    assert last is not None and (last.script_id, last.slot) == (script_a.id, 2)
    await session.refresh(script_a)
    assert script_a.taken_marks == 2
