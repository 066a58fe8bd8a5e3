"""Reconciliation: two totals too far apart go to an independent lead grader of the scheme, who
sees both markings and sets the final mark with grounds; the part's result follows."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grading import graders
from grading.claims import claim_next
from grading.independence import NoExaminers
from grading.marking import save_marks, submit_marks
from grading.models import Script, ScriptStatus
from grading.queries import reconciliation_screen, visible_script
from grading.reconcile import reconcile, waiting_for
from proctoring.involvement import ProctoringInvolvement, note_involvement
from tests.exam.factories import OPENS, Exam, build_exam
from tests.grading.factories import hand_in, new_grader, part, scheme_of, scripts_of, wire_events
from vakt.accounts import Role, User
from vakt.audit import AuditEntry
from vakt.errors import Forbidden, NotFound, VaktError

LATER = OPENS + timedelta(hours=2)
NOBODY = NoExaminers()


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    wire_events(session)
    return await build_exam(session, users)


async def _disputed(session: AsyncSession, exam: Exam) -> tuple[Script, User, User, User]:
    """The candidate's essay marked 3 and 9 of 10 by two graders; a lead grader qualified."""
    taken = await hand_in(session, exam, exam.candidate)
    [script] = await scripts_of(session, taken.knowledge_part_id)
    scheme_id = await scheme_of(session, exam)
    one, two = [
        await new_grader(session, name, scheme_id=scheme_id, admin=exam.admin)
        for name in ("sensor1", "sensor2")
    ]
    for grader, mark in ((one, 3), (two, 9)):
        assert await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)
        await save_marks(
            session, code=script.code, grader=grader, marks=[mark], comment=f"{mark} poeng",
            sequence=1, now=LATER,
        )  # fmt: skip
        await submit_marks(session, code=script.code, grader=grader, now=LATER)
    lead = await new_grader(session, "leder", scheme_id=scheme_id, admin=exam.admin, lead=True)
    await session.commit()
    assert script.status == ScriptStatus.RECONCILIATION
    return script, one, two, lead


@pytest.mark.asyncio
async def test_the_lead_sees_both_markings_and_sets_the_final_mark_with_grounds(
    session: AsyncSession, exam: Exam
) -> None:
    script, _, _, lead = await _disputed(session, exam)
    assert [s.code for s in await waiting_for(session, lead, NOBODY)] == [script.code]
    screen = await reconciliation_screen(session, code=script.code, lead=lead, examiners=NOBODY)
    assert [(m.slot, m.total, m.comment) for m in screen.markings] == [
        (1, 3.0, "3 poeng"),
        (2, 9.0, "9 poeng"),
    ]
    # The lead may open what the script's graders open (its files, its video).
    assert (await visible_script(session, code=script.code, viewer=lead, examiners=NOBODY)).id

    await reconcile(
        session, code=script.code, lead=lead, final_points="7", grounds="  Drøftingen holder. ",
        now=LATER, examiners=NOBODY,
    )  # fmt: skip
    assert script.status == ScriptStatus.FINAL and script.final_points == 7.0
    knowledge = await part(session, script.attempt_part_id)
    assert (knowledge.score, knowledge.max_score, knowledge.passed) == (7.0, 10.0, True)
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "grading.reconciled")
    )
    assert entry is not None and entry.actor_id == lead.id
    assert entry.after == {"totals": [3.0, 9.0], "final": 7.0, "grounds": "Drøftingen holder."}
    assert await waiting_for(session, lead, NOBODY) == []
    with pytest.raises(NotFound):  # settled: nothing more to reconcile
        await reconcile(
            session, code=script.code, lead=lead, final_points=8, grounds="Igjen", now=LATER,
            examiners=NOBODY,
        )  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("final_points", "grounds", "field", "message"),
    [
        ("sju", "Begrunnelse", "final_points", "must be a number"),
        (10.5, "Begrunnelse", "final_points", "from 0 to"),
        (-1, "Begrunnelse", "final_points", "from 0 to"),
        (10**400, "Begrunnelse", "final_points", "must be a number"),
        (7, "   ", "grounds", "Give the grounds"),
        (7, "Halv\ud800", "grounds", "cannot be stored"),
    ],
)
async def test_a_final_mark_without_a_valid_number_or_grounds_is_refused(
    session: AsyncSession,
    exam: Exam,
    final_points: object,
    grounds: str,
    field: str,
    message: str,
) -> None:
    script, _, _, lead = await _disputed(session, exam)
    with pytest.raises(VaktError, match=message) as refused:
        await reconcile(
            session, code=script.code, lead=lead, final_points=final_points, grounds=grounds,
            now=LATER, examiners=NOBODY,
        )  # fmt: skip
    assert refused.value.field == field
    assert script.status == ScriptStatus.RECONCILIATION


@pytest.mark.asyncio
async def test_only_an_independent_lead_grader_reconciles(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    script, one, _, lead = await _disputed(session, exam)
    scheme_id = await scheme_of(session, exam)

    def attempt(by: User, examiners: object = NOBODY) -> object:
        return reconcile(
            session, code=script.code, lead=by, final_points=6, grounds="Fordi", now=LATER,
            examiners=examiners,  # type: ignore[arg-type]
        )  # fmt: skip

    # A grader who does not lead the scheme, or leads another, is refused outright.
    with pytest.raises(Forbidden, match="lead grader"):
        await attempt(one)
    with pytest.raises(Forbidden):
        await attempt(users["administrator"])
    # A lead who marked the script is told it is not there (whose it is stays unknown) ...
    await graders.qualify(
        session, grader_id=one.id, scheme_id=scheme_id, actor=exam.admin, now=LATER, is_lead=True
    )
    with pytest.raises(NotFound):
        await attempt(one)
    assert await waiting_for(session, one, NOBODY) == []
    # ... as is a lead in conflict with the candidate ...
    conflicted = await new_grader(
        session, "leder2", scheme_id=scheme_id, admin=exam.admin, lead=True
    )
    await graders.declare_conflict(
        session, grader=conflicted, now=LATER, candidate_username=exam.candidate.username
    )
    with pytest.raises(NotFound):
        await attempt(conflicted)
    # ... or one who proctored the candidate.
    proctor_lead = await new_grader(
        session, "leder3", scheme_id=scheme_id, admin=exam.admin, lead=True,
        roles={Role.GRADER, Role.PROCTOR},
    )  # fmt: skip
    await note_involvement(
        session, registration_id=script.registration_id, proctor=proctor_lead, now=LATER
    )
    with pytest.raises(NotFound):
        await attempt(proctor_lead, ProctoringInvolvement())
    assert script.status == ScriptStatus.RECONCILIATION
    assert [s.code for s in await waiting_for(session, lead, NOBODY)] == [script.code]
