"""Blind re-grading: a part's open answers graded again as new scripts, by graders who have not
seen the part and never see the earlier marks; the part's result follows the new marks. Refused
for a part still being graded or without open answers; a lead grader who reconciled the first
round does not reconcile the second."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grading.claims import claim_next, queue_size
from grading.independence import NoExaminers
from grading.marking import save_marks, submit_marks
from grading.models import Marking, Script, ScriptStatus
from grading.queries import grader_home, marking_screen
from grading.reconcile import reconcile, to_reconcile, waiting_for
from grading.regrading import BlindRegrading, grading_of, start_regrading
from tests.exam.factories import OPENS, Exam, build_exam
from tests.grading.factories import hand_in, new_grader, part, scheme_of, scripts_of, wire_events
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Conflict, NotFound

LATER = OPENS + timedelta(hours=2)
APPEALED = OPENS + timedelta(days=10)
NOBODY = NoExaminers()
FIRST_COMMENT = "Drøftingen mangler eksempler fra egen arbeidsplass."


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    wire_events(session)
    return await build_exam(session, users)


async def _mark(
    session: AsyncSession, script: Script, grader: User, mark: float, comment: str = ""
) -> None:
    marking = await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)
    assert marking is not None and marking.script_id == script.id
    await save_marks(
        session, code=script.code, grader=grader, marks=[mark], comment=comment, sequence=1,
        now=LATER,
    )  # fmt: skip
    await submit_marks(session, code=script.code, grader=grader, now=LATER)


async def _graded(session: AsyncSession, exam: Exam, marks: tuple[float, ...]) -> tuple[
    Script, list[User]
]:  # fmt: skip
    """The candidate's essay graded by as many graders as ``marks`` (the first comments)."""
    taken = await hand_in(session, exam, exam.candidate)
    [script] = await scripts_of(session, taken.knowledge_part_id)
    script.required_marks = len(marks)
    scheme_id = await scheme_of(session, exam)
    first = []
    for number, mark in enumerate(marks, start=1):
        grader = await new_grader(session, f"first{number}", scheme_id=scheme_id, admin=exam.admin)
        await _mark(session, script, grader, mark, FIRST_COMMENT if number == 1 else "")
        first.append(grader)
    await session.commit()
    assert script.status == ScriptStatus.FINAL
    return script, first


@pytest.mark.asyncio
async def test_a_regrading_is_blind_and_its_marks_decide_the_part(
    session: AsyncSession, exam: Exam
) -> None:
    earlier, [first] = await _graded(session, exam, (4,))
    knowledge = await part(session, earlier.attempt_part_id)
    assert (knowledge.score, knowledge.passed) == (4.0, False)

    [again] = await start_regrading(
        session, earlier.attempt_part_id, actor_id=exam.admin.id, now=APPEALED
    )
    again.required_marks = 1
    await session.commit()
    assert earlier.status == ScriptStatus.SUPERSEDED
    assert (again.grading_round, again.replaces_id, again.status) == (
        2, earlier.id, ScriptStatus.WAITING,
    )  # fmt: skip
    assert again.code != earlier.code
    # The part keeps its earlier result while it is graded again.
    assert (await part(session, earlier.attempt_part_id)).score == 4.0
    assert (await grading_of(session, [earlier.attempt_part_id]))[
        earlier.attempt_part_id
    ].finished is False

    # The first grader has seen the part: the new script is not theirs to grade.
    assert await queue_size(session, first, NOBODY) == 0
    assert await claim_next(session, grader=first, now=APPEALED, examiners=NOBODY) is None

    fresh = await new_grader(
        session, "fresh", scheme_id=await scheme_of(session, exam), admin=exam.admin
    )
    assert await queue_size(session, fresh, NOBODY) == 1
    marking = await claim_next(session, grader=fresh, now=APPEALED, examiners=NOBODY)
    assert marking is not None and marking.script_id == again.id
    # Nothing on the new grader's screen or page leads to the earlier marks.
    screen = await marking_screen(session, code=again.code, grader=fresh)
    shown = repr(screen)
    assert FIRST_COMMENT not in shown and earlier.code not in shown
    assert screen.marking.marks == [] and screen.marking.comment == ""
    home = await grader_home(session, fresh, NOBODY)
    assert earlier.code not in repr(home)

    await save_marks(
        session, code=again.code, grader=fresh, marks=[8], comment="", sequence=1, now=APPEALED
    )
    await submit_marks(session, code=again.code, grader=fresh, now=APPEALED)
    await session.commit()
    knowledge = await part(session, earlier.attempt_part_id)
    assert (knowledge.score, knowledge.passed) == (8.0, True)
    assert earlier.status == ScriptStatus.SUPERSEDED and earlier.final_points == 4.0
    state = (await BlindRegrading().grading_of(session, [earlier.attempt_part_id]))[
        earlier.attempt_part_id
    ]
    assert (state.scripts, state.grading_round, state.finished) == (1, 2, True)
    started = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "grading.regrading_started")
    )
    assert started is not None and started.actor_id == exam.admin.id
    assert started.after is not None and started.after["replaces_id"] == earlier.id


@pytest.mark.asyncio
async def test_a_part_still_graded_or_without_open_answers_is_not_graded_again(
    session: AsyncSession, exam: Exam
) -> None:
    taken = await hand_in(session, exam, exam.candidate)
    with pytest.raises(Conflict, match="scored automatically"):
        await start_regrading(session, taken.choice_part_id, actor_id=exam.admin.id, now=LATER)
    with pytest.raises(Conflict, match="still being graded"):
        await start_regrading(session, taken.knowledge_part_id, actor_id=exam.admin.id, now=LATER)
    [script] = await scripts_of(session, taken.knowledge_part_id)
    assert (script.status, script.grading_round) == (ScriptStatus.WAITING, 1)


@pytest.mark.asyncio
async def test_a_regrading_started_twice_is_refused_the_second_time(
    session: AsyncSession, exam: Exam
) -> None:
    earlier, _ = await _graded(session, exam, (4,))
    await start_regrading(session, earlier.attempt_part_id, actor_id=exam.admin.id, now=APPEALED)
    with pytest.raises(Conflict, match="still being graded"):
        await start_regrading(
            session, earlier.attempt_part_id, actor_id=exam.admin.id, now=APPEALED
        )
    assert len(await scripts_of(session, earlier.attempt_part_id)) == 2


@pytest.mark.asyncio
async def test_a_lead_who_reconciled_the_first_round_does_not_reconcile_the_second(
    session: AsyncSession, exam: Exam
) -> None:
    taken = await hand_in(session, exam, exam.candidate)
    [earlier] = await scripts_of(session, taken.knowledge_part_id)
    scheme_id = await scheme_of(session, exam)
    for name, mark in (("a1", 2), ("a2", 9)):
        grader = await new_grader(session, name, scheme_id=scheme_id, admin=exam.admin)
        await _mark(session, earlier, grader, mark)
    lead = await new_grader(session, "lead1", scheme_id=scheme_id, admin=exam.admin, lead=True)
    await reconcile(
        session, code=earlier.code, lead=lead, final_points=5, grounds="Midt imellom",
        now=LATER, examiners=NOBODY,
    )  # fmt: skip
    [again] = await start_regrading(
        session, earlier.attempt_part_id, actor_id=exam.admin.id, now=APPEALED
    )
    again.required_marks = 2
    for name, mark in (("b1", 1), ("b2", 10)):
        grader = await new_grader(session, name, scheme_id=scheme_id, admin=exam.admin)
        await _mark(session, again, grader, mark)
    await session.commit()
    assert again.status == ScriptStatus.RECONCILIATION
    assert await waiting_for(session, lead, NOBODY) == []
    with pytest.raises(NotFound):
        await to_reconcile(session, code=again.code, lead=lead, examiners=NOBODY)
    other = await new_grader(session, "lead2", scheme_id=scheme_id, admin=exam.admin, lead=True)
    case = await to_reconcile(session, code=again.code, lead=other, examiners=NOBODY)
    # The second round's lead weighs the second round's markings only.
    assert sorted(m.total for m in case.markings) == [1.0, 10.0]
    assert {m.script_id for m in case.markings} == {again.id}
    await reconcile(
        session, code=again.code, lead=other, final_points=7, grounds="Godt nok", now=APPEALED,
        examiners=NOBODY,
    )  # fmt: skip
    assert (await part(session, earlier.attempt_part_id)).score == 7.0
    assert len(list(await session.scalars(select(Marking)))) == 4
