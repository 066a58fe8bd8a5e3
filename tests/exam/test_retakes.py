"""Retakes: within 12 months of the first attempt, only the parts not yet passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, handin, lookups, registrations, results
from exam.models import Attempt, AttemptStatus, Sitting
from exam.reviews import NO_REVIEWS
from itembank.models import ExamFormItem, ItemVersion
from tests.exam.factories import CHECKED_IN, OPENS, Exam
from vakt.accounts import User
from vakt.errors import Conflict, Forbidden
from vakt.i18n import Moment


async def _take_whole_exam(session: AsyncSession, exam: Exam, registration_id: int) -> int:
    """Start the attempt and hand in every registered part at once; returns the attempt id."""
    sitting = await session.get(Sitting, exam.sitting_id)
    assert sitting is not None
    now = OPENS
    attempt = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=registration_id,
        candidate=exam.candidate,
        now=now,
    )
    while attempt.status == AttemptStatus.IN_PROGRESS.value:
        part = await attempts.start_part(
            session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=now
        )
        await handin.submit_part(
            session, attempt_part_id=part.id, candidate=exam.candidate, now=now
        )
        now += timedelta(minutes=30)
    return attempt.id


async def _items_on_form(session: AsyncSession, attempt_id: int) -> set[int]:
    attempt = await session.get(Attempt, attempt_id)
    assert attempt is not None
    rows = await session.scalars(
        select(ItemVersion.item_id)
        .join(ExamFormItem, ExamFormItem.item_version_id == ItemVersion.id)
        .where(ExamFormItem.form_id == attempt.form_id)
    )
    return set(rows.all())


async def _results(session: AsyncSession, exam: Exam, attempt_id: int, **passed: bool) -> None:
    """Results as grading computes them: every point, or none."""
    for part in await lookups.parts_of(session, attempt_id):
        await results.record_computed_result(
            session, attempt_part_id=part.id, score=10.0 if passed[part.part_key] else 0.0,
            max_score=10.0, now=OPENS + timedelta(days=14),
        )  # fmt: skip


async def _sitting(session: AsyncSession, exam: Exam, opens: datetime) -> int:
    first = await session.get(Sitting, exam.sitting_id)
    assert first is not None
    sitting = await registrations.create_sitting(
        session, blueprint_id=first.blueprint_id, name=f"Omprøve {opens:%Y-%m}", opens_at=opens,
        closes_at=opens + timedelta(hours=8), actor=exam.admin,
    )  # fmt: skip
    return sitting.id


@pytest.mark.asyncio
async def test_a_retake_covers_only_the_failed_parts(session: AsyncSession, exam: Exam) -> None:
    attempt_id = await _take_whole_exam(session, exam, exam.registration_id)
    retake_sitting = await _sitting(session, exam, OPENS + timedelta(days=90))
    with pytest.raises(Conflict) as pending:
        await registrations.register(
            session, sitting_id=retake_sitting, candidate=exam.candidate, actor=exam.admin
        )
    assert "not final yet" in str(pending.value.message)
    await _results(session, exam, attempt_id, mc=True, kunnskap=False)

    retake = await registrations.register(
        session, sitting_id=retake_sitting, candidate=exam.candidate, actor=exam.admin
    )
    assert retake.part_keys == ["kunnskap"]
    assert retake.retake_of_id == exam.registration_id

    later = OPENS + timedelta(days=90)
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=retake.id, candidate=exam.candidate, now=later
    )
    part = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=later
    )
    assert part.part_key == "kunnskap"
    # A completely new test: no item the candidate saw in the first attempt.
    assert not await _items_on_form(session, attempt_id) & await _items_on_form(session, attempt.id)
    await handin.submit_part(session, attempt_part_id=part.id, candidate=exam.candidate, now=later)
    assert attempt.status == AttemptStatus.FINISHED.value  # the retake's only part was its last
    with pytest.raises(Conflict):
        await attempts.start_part(
            session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=later
        )

    await _results(session, exam, attempt.id, kunnskap=True)
    cycle = await registrations.certification_cycle(
        session,
        candidate_id=exam.candidate.id,
        scheme_id=(await session.get(Sitting, retake_sitting)).scheme_id,  # type: ignore[union-attr]
    )
    assert cycle is not None and cycle.all_passed
    third = await _sitting(session, exam, OPENS + timedelta(days=200))
    with pytest.raises(Conflict) as done:
        await registrations.register(
            session, sitting_id=third, candidate=exam.candidate, actor=exam.admin
        )
    assert "passed every part" in str(done.value.message)


@pytest.mark.asyncio
async def test_after_twelve_months_the_whole_exam_starts_again(
    session: AsyncSession, exam: Exam
) -> None:
    attempt_id = await _take_whole_exam(session, exam, exam.registration_id)
    await _results(session, exam, attempt_id, mc=True, kunnskap=False)

    last_day = await _sitting(session, exam, datetime(2027, 12, 10, 8, 0, tzinfo=UTC))
    retake = await registrations.register(
        session, sitting_id=last_day, candidate=exam.candidate, actor=exam.admin
    )
    assert retake.part_keys == ["kunnskap"]
    # The sitting opened inside the window, but starting after the window's end is refused.
    with pytest.raises(Conflict) as late:
        await attempts.start_attempt(
            session, checkin=CHECKED_IN, registration_id=retake.id, candidate=exam.candidate,
            now=datetime(2027, 12, 10, 9, 30, tzinfo=UTC),
        )  # fmt: skip
    assert late.value.params["date"] == Moment(datetime(2027, 12, 10, 9, 0, tzinfo=UTC), "date")

    too_late = await _sitting(session, exam, OPENS + timedelta(days=366))
    fresh = await registrations.register(
        session, sitting_id=too_late, candidate=exam.candidate, actor=exam.admin
    )
    assert fresh.part_keys == ["mc", "kunnskap"]
    assert fresh.retake_of_id is None


@pytest.mark.asyncio
async def test_a_terminated_attempt_passes_nothing(session: AsyncSession, exam: Exam) -> None:
    attempt = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=OPENS,
    )
    await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=OPENS
    )
    await handin.terminate_for_cheating(
        session, attempt_id=attempt.id, actor=exam.admin, reason="Mobiltelefon", now=OPENS
    )
    retake = await registrations.register(
        session,
        sitting_id=await _sitting(session, exam, OPENS + timedelta(days=30)),
        candidate=exam.candidate,
        actor=exam.admin,
    )
    assert retake.part_keys == ["mc", "kunnskap"]
    assert retake.retake_of_id == exam.registration_id


@pytest.mark.asyncio
async def test_results_are_released_only_when_complete_and_by_the_decision_maker(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    attempt_id = await _take_whole_exam(session, exam, exam.registration_id)
    decider = users["decision_maker"]
    with pytest.raises(Conflict):
        await results.release_results(
            session, attempt_id=attempt_id, actor=decider, now=OPENS + timedelta(days=1),
            reviews=NO_REVIEWS,
        )  # fmt: skip
    await _results(session, exam, attempt_id, mc=True, kunnskap=True)
    with pytest.raises(Forbidden):
        await results.release_results(
            session, attempt_id=attempt_id, actor=exam.admin, now=OPENS + timedelta(days=1),
            reviews=NO_REVIEWS,
        )  # fmt: skip
    attempt = await results.release_results(
        session, attempt_id=attempt_id, actor=decider, now=OPENS + timedelta(days=1),
        reviews=NO_REVIEWS,
    )  # fmt: skip
    assert attempt.results_released_at is not None


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), 1, datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2027, 2, 28, 9, tzinfo=UTC), 12, datetime(2028, 2, 28, 9, tzinfo=UTC)),
        (datetime(2028, 2, 29, 9, tzinfo=UTC), 12, datetime(2029, 2, 28, 9, tzinfo=UTC)),
        (datetime(2026, 12, 10, 9, tzinfo=UTC), 12, datetime(2027, 12, 10, 9, tzinfo=UTC)),
    ],
)
def test_months_are_calendar_months(start: datetime, months: int, expected: datetime) -> None:
    assert registrations.add_months(start, months) == expected
