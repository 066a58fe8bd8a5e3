"""Marking by the guide: a mark per criterion within its range, autosaved (an older save never
overwrites a newer one), open to change until submitted; two totals within the tolerance agree by
the scheme's rule, further apart they go to a lead grader."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from grading import policy
from grading.claims import claim_next
from grading.independence import NoExaminers
from grading.marking import save_marks, submit_marks
from grading.models import Marking, MarkingStatus, Script, ScriptStatus
from grading.queries import marking_screen
from tests.exam.factories import OPENS, Exam, build_exam
from tests.grading.factories import hand_in, new_grader, part, scheme_of, scripts_of, wire_events
from vakt import audit
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import create_sessionmaker
from vakt.errors import Conflict, NotFound, VaktError

LATER = OPENS + timedelta(hours=2)
NOBODY = NoExaminers()


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    wire_events(session)
    return await build_exam(session, users)


async def _claimed(session: AsyncSession, exam: Exam, *usernames: str) -> tuple[Script, list[User]]:
    """The candidate's essay handed in, and claimed by a grader of each username."""
    taken = await hand_in(session, exam, exam.candidate)
    [script] = await scripts_of(session, taken.knowledge_part_id)
    scheme_id = await scheme_of(session, exam)
    team = []
    for username in usernames:
        grader = await new_grader(session, username, scheme_id=scheme_id, admin=exam.admin)
        assert await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)
        team.append(grader)
    await session.commit()
    return script, team


async def _mark(
    session: AsyncSession, script: Script, grader: User, marks: list[Any], sequence: int = 1
) -> Marking:
    await save_marks(
        session, code=script.code, grader=grader, marks=marks, comment=f"Vurdert av {sequence}",
        sequence=sequence, now=LATER,
    )  # fmt: skip
    return await submit_marks(session, code=script.code, grader=grader, now=LATER)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("marks", "field", "message"),
    [
        ([11], "marks.0", "from 0 to"),
        ([-0.5], "marks.0", "from 0 to"),
        (["abc"], "marks.0", "must be a number"),
        (["1e309"], "marks.0", "must be a number"),
        ([float("nan")], "marks.0", "must be a number"),
        ([True], "marks.0", "must be a number"),
        ([10**400], "marks.0", "must be a number"),
        ([{"points": 3}], "marks.0", "must be a number"),
        ([], "marks", "one mark for each criterion"),
        ([3, 4], "marks", "one mark for each criterion"),
        ("7", "marks", "one mark for each criterion"),
    ],
)
async def test_a_bad_mark_is_refused_on_its_field_and_nothing_saved_is_lost(
    session: AsyncSession, exam: Exam, marks: Any, field: str, message: str
) -> None:
    script, [grader] = await _claimed(session, exam, "sensor1")
    await save_marks(
        session, code=script.code, grader=grader, marks=[4], comment="Første inntrykk",
        sequence=1, now=LATER,
    )  # fmt: skip
    with pytest.raises(VaktError, match=message) as refused:
        await save_marks(
            session, code=script.code, grader=grader, marks=marks, comment="Endret",
            sequence=2, now=LATER,
        )  # fmt: skip
    assert refused.value.field == field and refused.value.status_code == 400
    screen = await marking_screen(session, code=script.code, grader=grader)
    assert (screen.marking.marks, screen.marking.comment) == ([4.0], "Første inntrykk")


@pytest.mark.asyncio
async def test_marks_are_saved_as_typed_and_an_older_save_never_overwrites_a_newer(
    session: AsyncSession, exam: Exam
) -> None:
    script, [grader] = await _claimed(session, exam, "sensor1")
    await save_marks(
        session, code=script.code, grader=grader, marks=[None], comment="", sequence=1, now=LATER
    )
    await save_marks(
        session, code=script.code, grader=grader, marks=["7,5"], comment="Ny", sequence=3,
        now=LATER,
    )  # fmt: skip
    # The save numbered 2 arrives late: it does not undo number 3.
    await save_marks(
        session, code=script.code, grader=grader, marks=[2], comment="Gammel", sequence=2,
        now=LATER,
    )  # fmt: skip
    screen = await marking_screen(session, code=script.code, grader=grader)
    assert (screen.marking.marks, screen.marking.comment) == ([7.5], "Ny")
    assert screen.marking.sequence == 3
    # Each change of the marks is on the record (saving the same marks again is not a change).
    await save_marks(
        session, code=script.code, grader=grader, marks=[7.5], comment="Ny kommentar",
        sequence=4, now=LATER,
    )  # fmt: skip
    changes = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "grading.marks_changed")
            .order_by(AuditEntry.seq)
        )
    ).all()  # fmt: skip
    assert [(c.actor_id, c.before, c.after) for c in changes] == [
        (grader.id, {"slot": 1, "marks": []}, {"slot": 1, "marks": [None]}),
        (grader.id, {"slot": 1, "marks": [None]}, {"slot": 1, "marks": [7.5]}),
    ]
    assert screen.script.answer.startswith("Mangfold") and screen.script.word_count == 6
    assert screen.script.maxima == [10.0]


@pytest.mark.asyncio
async def test_submitting_needs_every_criterion_and_then_the_marks_are_fixed(
    session: AsyncSession, exam: Exam
) -> None:
    script, [grader] = await _claimed(session, exam, "sensor1")
    await save_marks(
        session, code=script.code, grader=grader, marks=[None], comment="", sequence=1, now=LATER
    )
    with pytest.raises(VaktError, match="has no mark yet") as refused:
        await submit_marks(session, code=script.code, grader=grader, now=LATER)
    assert refused.value.field == "marks.0"

    submitted = await _mark(session, script, grader, [6], sequence=2)
    assert submitted.status == MarkingStatus.SUBMITTED and submitted.total == 6.0
    with pytest.raises(Conflict, match="submitted"):
        await save_marks(
            session, code=script.code, grader=grader, marks=[9], comment="", sequence=3,
            now=LATER,
        )  # fmt: skip
    with pytest.raises(Conflict):
        await submit_marks(session, code=script.code, grader=grader, now=LATER)
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "grading.marks_submitted")
    )
    assert entry is not None and entry.actor_id == grader.id
    assert entry.after == {"slot": 1, "marks": [6.0], "total": 6.0, "comment": "Vurdert av 2"}


@pytest.mark.asyncio
async def test_a_grader_sees_only_their_own_marking(session: AsyncSession, exam: Exam) -> None:
    script, [first, second] = await _claimed(session, exam, "sensor1", "sensor2")
    await _mark(session, script, first, [9])

    # The second grader sees their own empty marking, never the first's nine points.
    screen = await marking_screen(session, code=script.code, grader=second)
    assert screen.marking.grader_id == second.id and screen.marking.marks == []
    outsider = await new_grader(
        session, "sensor3", scheme_id=await scheme_of(session, exam), admin=exam.admin
    )
    with pytest.raises(NotFound):
        await marking_screen(session, code=script.code, grader=outsider)
    with pytest.raises(NotFound):
        await save_marks(
            session, code=script.code, grader=outsider, marks=[1], comment="", sequence=1,
            now=LATER,
        )  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("rule", "first", "second", "final"),
    [
        ("mean", 7, 8, 7.5),
        ("lower", 7, 8, 7.0),
        # Exactly the tolerance apart (20 % of 10 points) still agrees.
        ("mean", 6, 8, 7.0),
        ("lower", 8, 6, 6.0),
    ],
)
async def test_two_marks_within_the_tolerance_agree_by_the_schemes_rule(
    session: AsyncSession, exam: Exam, rule: str, first: int, second: int, final: float
) -> None:
    await policy.set_rules(
        session, scheme_id=await scheme_of(session, exam), values={"final_rule": rule},
        actor=exam.admin, now=OPENS,
    )  # fmt: skip
    script, [one, two] = await _claimed(session, exam, "sensor1", "sensor2")
    await _mark(session, script, one, [first])
    assert script.status == ScriptStatus.WAITING  # one marking is not enough
    assert (await part(session, script.attempt_part_id)).passed is None
    await _mark(session, script, two, [second])

    assert script.status == ScriptStatus.FINAL and script.final_points == final
    knowledge = await part(session, script.attempt_part_id)
    assert (knowledge.score, knowledge.max_score) == (final, 10.0)
    assert knowledge.passed is (final >= 7)
    assert await session.scalar(
        select(AuditEntry.after).where(AuditEntry.action == "grading.script_final")
    ) == {"points": final, "by": rule}


@pytest.mark.asyncio
async def test_two_marks_further_apart_than_the_tolerance_go_to_a_lead_grader(
    session: AsyncSession, exam: Exam
) -> None:
    script, [one, two] = await _claimed(session, exam, "sensor1", "sensor2")
    await _mark(session, script, one, [4])
    await _mark(session, script, two, ["6,5"])

    assert script.status == ScriptStatus.RECONCILIATION and script.final_points is None
    assert (await part(session, script.attempt_part_id)).passed is None
    sent = await session.scalar(
        select(AuditEntry.after).where(AuditEntry.action == "grading.sent_to_reconciliation")
    )
    assert sent == {"totals": [4.0, 6.5], "tolerance": 2.0}


@pytest.mark.asyncio
async def test_the_schemes_tolerance_is_data(session: AsyncSession, exam: Exam) -> None:
    await policy.set_rules(
        session, scheme_id=await scheme_of(session, exam), values={"tolerance_percent": 50},
        actor=exam.admin, now=OPENS,
    )  # fmt: skip
    script, [one, two] = await _claimed(session, exam, "sensor1", "sensor2")
    await _mark(session, script, one, [4])
    await _mark(session, script, two, [8])
    assert script.status == ScriptStatus.FINAL and script.final_points == 6.0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "values",
    [
        {"tolerance_percent": 101},
        {"marks_per_script": "three"},
        {"final_rule": "median"},
        {"claim_minutes": 0},
        {"double_share_percent": 10**40},
        {"unknown": 1},
    ],
)
async def test_rules_out_of_range_are_refused_by_name(
    session: AsyncSession, exam: Exam, values: dict[str, Any]
) -> None:
    with pytest.raises(VaktError) as refused:
        await policy.set_rules(
            session, scheme_id=await scheme_of(session, exam), values=values, actor=exam.admin,
            now=OPENS,
        )  # fmt: skip
    assert refused.value.status_code == 422 and refused.value.field == next(iter(values))


async def _waiting_for_a_lock(session: AsyncSession) -> bool:
    """Whether some other backend of this database waits for a lock (PostgreSQL)."""
    waiting = await session.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
    )
    await session.rollback()
    return bool(waiting)


@pytest.mark.asyncio
async def test_the_last_submit_waits_for_a_claim_holding_its_script_instead_of_deadlocking(
    session: AsyncSession, engine: AsyncEngine, exam: Exam
) -> None:
    """A claim keeps the script rows it locked (also one it skipped after rechecking it) until
    it has appended to the audit log; the submit that makes such a script final must not hold
    the audit log's head while it waits for that row."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite writes one transaction at a time)")
    script, [first, second] = await _claimed(session, exam, "sensor1", "sensor2")
    await _mark(session, script, first, [7])
    await save_marks(
        session, code=script.code, grader=second, marks=[6], comment="", sequence=1, now=LATER
    )
    await session.commit()
    sessionmaker = create_sessionmaker(engine)

    async def submit() -> None:
        async with sessionmaker() as own:
            grader = await own.get(User, second.id)
            assert grader is not None
            await submit_marks(own, code=script.code, grader=grader, now=LATER)
            await own.commit()

    async with sessionmaker() as claim, sessionmaker() as watch:
        # What PostgreSQL leaves a claim holding: the script's row, locked by its pick.
        await claim.execute(select(Script.id).where(Script.id == script.id).with_for_update())
        submitting = asyncio.create_task(submit())
        while not await _waiting_for_a_lock(watch):
            assert not submitting.done(), submitting.exception()
            await asyncio.sleep(0.01)
        # The claim then appends to the audit log and commits: the submit waited for the row,
        # not holding the log's head, so neither is chosen as a deadlock's victim.
        await audit.record(
            claim, actor_id=None, action="test.claimed", entity_type="grading_script",
            entity_id=script.id,
        )  # fmt: skip
        await claim.commit()
        await submitting

    final = await session.scalar(
        select(Script).where(Script.id == script.id).execution_options(populate_existing=True)
    )
    assert final is not None and final.status is ScriptStatus.FINAL
    assert final.final_points == 6.5
