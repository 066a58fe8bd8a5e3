"""Identity holds on the certification decision: while a proctor has not confirmed the candidate's
identity, the attempt's results are neither released nor overridden (whoever asks, however), the
decision maker's and the staff's pages say it is held; once a proctor confirms it, the decision
goes on as usual and is audited. The exam learns of the hold through ``exam.reviews.Reviews``
(proctoring fills it); where nothing is proctored nothing is held."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, handin, lookups, result_queries, results, staff_queries
from exam.models import Attempt, AttemptPart, AttemptStatus
from exam.reviews import NO_REVIEWS
from proctoring.review import decide_identity
from proctoring.review_outcomes import ProctoringReviews
from tests.exam.factories import CHECKED_IN, OPENS, Exam
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Conflict, Forbidden

LATER = OPENS + timedelta(days=14)
HELD = "identity is not confirmed: the attempt is held"


async def _decided(session: AsyncSession, exam: Exam) -> Attempt:
    """The candidate's attempt, every part handed in and given a result (all points)."""
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=exam.registration_id,
        candidate=exam.candidate, now=OPENS,
    )  # fmt: skip
    now = OPENS
    while attempt.status == AttemptStatus.IN_PROGRESS.value:
        part = await attempts.start_part(
            session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=now
        )
        await handin.submit_part(
            session, attempt_part_id=part.id, candidate=exam.candidate, now=now
        )
        now += timedelta(minutes=30)
    for part in await lookups.parts_of(session, attempt.id):
        await results.record_computed_result(
            session, attempt_part_id=part.id, score=10.0, max_score=10.0, now=LATER
        )
    return attempt


async def _identity(session: AsyncSession, exam: Exam, proctor: User, *, confirmed: bool) -> None:
    await decide_identity(
        session, registration_id=exam.registration_id, confirmed=confirmed,
        grounds="" if confirmed else "Ansiktet stemmer ikke med legitimasjonen",
        proctor=proctor, now=LATER,
    )  # fmt: skip


async def _actions(session: AsyncSession) -> list[str]:
    return list(
        await session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.action.in_(["attempt.release_results", "attempt.part_result_overridden"])
            )
        )
    )


@pytest.mark.asyncio
async def test_a_held_attempt_is_neither_released_nor_overridden_until_confirmed(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    attempt = await _decided(session, exam)
    [first, *_rest] = await lookups.parts_of(session, attempt.id)
    reviews = ProctoringReviews()
    await _identity(session, exam, users["proctor"], confirmed=False)
    assert await reviews.identity_held(session, [exam.registration_id]) == {exam.registration_id}

    with pytest.raises(Conflict, match=HELD):
        await results.release_results(
            session,
            attempt_id=attempt.id,
            actor=users["decision_maker"],
            now=LATER,
            reviews=reviews,
        )
    with pytest.raises(Conflict, match=HELD) as refused:
        await results.override_part_result(
            session, attempt_part_id=first.id, passed=False, grounds="Klage avvist",
            actor=users["decision_maker"], now=LATER, reviews=reviews,
        )  # fmt: skip
    assert refused.value.status_code == 409
    # Whoever may not decide at all is told that, not that the attempt is held.
    with pytest.raises(Forbidden):
        await results.override_part_result(
            session, attempt_part_id=first.id, passed=False, grounds="Klage avvist",
            actor=users["grader"], now=LATER, reviews=reviews,
        )  # fmt: skip
    await session.refresh(attempt)
    await session.refresh(first)
    assert attempt.results_released_at is None
    assert first.passed is True and first.result_override_at is None
    assert await _actions(session) == []

    shown = await result_queries.attempt_results(session, attempt.id, reviews)
    assert shown.held and shown.review.identity_confirmed is False
    [sitting] = await result_queries.results_overview(session, reviews)
    assert [row.held for row in sitting.attempts] == [True]
    staff_page = await staff_queries.sitting_page(session, exam.sitting_id, reviews)
    assert [row.held for row in staff_page.registrations if row.attempt] == [True]

    # A proctor confirms the identity: the hold lifts and the decision goes on, audited.
    await _identity(session, exam, users["proctor"], confirmed=True)
    assert not (await result_queries.attempt_results(session, attempt.id, reviews)).held
    overridden = await results.override_part_result(
        session, attempt_part_id=first.id, passed=False, grounds="Klage avvist",
        actor=users["decision_maker"], now=LATER, reviews=reviews,
    )  # fmt: skip
    assert overridden.passed is False
    released = await results.release_results(
        session, attempt_id=attempt.id, actor=users["decision_maker"], now=LATER, reviews=reviews
    )
    assert released.results_released_at is not None
    assert await _actions(session) == [
        "attempt.part_result_overridden",
        "attempt.release_results",
    ]


@pytest.mark.asyncio
async def test_only_the_held_candidate_is_held(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    attempt = await _decided(session, exam)
    reviews = ProctoringReviews()
    # Nobody decided, or decided on another registration: nothing is held.
    assert await reviews.identity_held(session, []) == set()
    assert await reviews.identity_held(session, [exam.registration_id]) == set()
    await _identity(session, exam, users["proctor"], confirmed=True)
    assert await reviews.identity_held(session, [exam.registration_id]) == set()
    released = await results.release_results(
        session, attempt_id=attempt.id, actor=users["decision_maker"], now=LATER, reviews=reviews
    )
    assert released.results_released_at is not None


@pytest.mark.asyncio
async def test_where_nothing_is_proctored_nothing_is_held(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    attempt = await _decided(session, exam)
    await _identity(session, exam, users["proctor"], confirmed=False)
    assert await NO_REVIEWS.identity_held(session, [exam.registration_id]) == set()
    part = await session.scalar(select(AttemptPart).where(AttemptPart.attempt_id == attempt.id))
    assert part is not None
    await results.override_part_result(
        session, attempt_part_id=part.id, passed=False, grounds="Klage avvist",
        actor=users["decision_maker"], now=LATER, reviews=NO_REVIEWS,
    )  # fmt: skip
    released = await results.release_results(
        session, attempt_id=attempt.id, actor=users["decision_maker"], now=LATER, reviews=NO_REVIEWS
    )
    assert released.results_released_at is not None
