"""Part results are computed from points: choice points plus the open answers' final marks over
the part's maximum, passed at the part's pass mark counted exactly; a part waits until every
script is final; only the decision maker overrides, with grounds, shown as an override."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import results
from exam.reviews import NO_REVIEWS
from grading import policy
from grading.claims import claim_next
from grading.independence import NoExaminers
from grading.marking import save_marks, submit_marks
from tests.exam.factories import OPENS, Exam, build_exam
from tests.grading.factories import hand_in, new_grader, part, scheme_of, scripts_of, wire_events
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Forbidden, VaktError

LATER = OPENS + timedelta(hours=2)


@pytest.mark.parametrize(
    ("score", "maximum", "threshold", "passed"),
    [
        (7, 10, 0.7, True),
        (6.999, 10, 0.7, False),
        (69.99, 100, 0.7, False),
        (70, 100, 0.7, True),
        (2.8, 4, 0.7, True),
        (14, 20, 0.7, True),
        (0.7 * 3, 3, 0.7, False),  # 2.0999999999999996 points are short of 70 % of 3
        (10, 10, 1.0, True),
        (0, 0, 0.7, False),
    ],
)
def test_the_pass_mark_is_counted_exactly(
    score: float, maximum: float, threshold: float, passed: bool
) -> None:
    assert results.passes(score, maximum, threshold) is passed


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    wire_events(session)
    exam = await build_exam(session, users)
    await policy.set_rules(
        session, scheme_id=await scheme_of(session, exam), values={"marks_per_script": "one"},
        actor=users["administrator"], now=OPENS,
    )  # fmt: skip
    return exam


async def _graded(session: AsyncSession, exam: Exam, mark: float) -> int:
    """The candidate's essay part graded by one grader with ``mark`` of 10; the part's id."""
    taken = await hand_in(session, exam, exam.candidate)
    [script] = await scripts_of(session, taken.knowledge_part_id)
    grader = await new_grader(
        session, "sensor1", scheme_id=await scheme_of(session, exam), admin=exam.admin
    )
    assert await claim_next(session, grader=grader, now=LATER, examiners=NoExaminers())
    await save_marks(
        session, code=script.code, grader=grader, marks=[mark], comment="", sequence=1, now=LATER
    )
    await submit_marks(session, code=script.code, grader=grader, now=LATER)
    await session.commit()
    return taken.knowledge_part_id


@pytest.mark.asyncio
@pytest.mark.parametrize(("mark", "passed"), [(7, True), (6.999, False), (0, False), (10, True)])
async def test_the_part_passes_at_exactly_its_pass_mark(
    session: AsyncSession, exam: Exam, mark: float, passed: bool
) -> None:
    knowledge = await part(session, await _graded(session, exam, mark))
    assert (knowledge.score, knowledge.max_score, knowledge.passed) == (mark, 10.0, passed)
    assert knowledge.result_recorded_at == LATER and knowledge.result_override_at is None
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "attempt.part_result_computed")
        .order_by(AuditEntry.seq.desc())
    )  # fmt: skip
    assert entry is not None and entry.actor_id is None
    assert entry.after == {"score": mark, "max_score": 10.0, "threshold": 0.7, "passed": passed}


@pytest.mark.asyncio
async def test_only_the_decision_maker_overrides_and_only_with_grounds(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    part_id = await _graded(session, exam, 6.5)
    for someone in ("administrator", "grader", "proctor", "candidate"):
        with pytest.raises(Forbidden, match="Only the decision maker"):
            await results.override_part_result(
                session, attempt_part_id=part_id, passed=True, grounds="Fordi", actor=users[someone],
                now=LATER, reviews=NO_REVIEWS,
            )  # fmt: skip
    for grounds, message in (("  ", "Give the grounds"), ("\ud800", "cannot be stored")):
        with pytest.raises(VaktError, match=message) as refused:
            await results.override_part_result(
                session, attempt_part_id=part_id, passed=True, grounds=grounds,
                actor=users["decision_maker"], now=LATER, reviews=NO_REVIEWS,
            )  # fmt: skip
        assert refused.value.field == "grounds"
    assert (await part(session, part_id)).passed is False

    overridden = await results.override_part_result(
        session, attempt_part_id=part_id, passed=True,
        grounds=" Klage tatt til følge: oppgave 3 var uklar. ", actor=users["decision_maker"],
        now=LATER + timedelta(days=3), reviews=NO_REVIEWS,
    )  # fmt: skip
    assert overridden.passed is True and overridden.score == 6.5
    assert overridden.result_override_by_id == users["decision_maker"].id
    assert overridden.result_override_grounds == "Klage tatt til følge: oppgave 3 var uklar."
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "attempt.part_result_overridden")
    )
    assert entry is not None and entry.actor_id == users["decision_maker"].id
    assert entry.before == {"passed": False}
    assert entry.after == {"passed": True, "grounds": "Klage tatt til følge: oppgave 3 var uklar."}

    # Computed again later (a late answer re-settles the part): the override stands.
    await results.record_computed_result(
        session, attempt_part_id=part_id, score=6.0, max_score=10.0, now=LATER + timedelta(days=4)
    )
    again = await part(session, part_id)
    assert again.passed is True and again.score == 6.0 and again.result_override_at is not None
