"""The review's outcome told to the exam's pages (``exam.reviews.Reviews``): the grounds of a
decision of cheating for the candidate's My page, a summary for the decision maker, and the
registrations held from the decision (identity not confirmed)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt
from exam.reviews import ReviewSummary
from proctoring.models import AttemptReview, Flag, IdentityDecision, ReviewOutcome
from proctoring.review import cheating_decision_of
from vakt.accounts import User


class ProctoringReviews:
    """``exam.reviews.Reviews`` as proctoring knows it."""

    async def cheating_grounds(
        self, session: AsyncSession, registration_id: int, candidate: User
    ) -> str | None:
        """The grounds of the confirmed decision of cheating on the candidate's registration."""
        decision = await cheating_decision_of(
            session, registration_id=registration_id, candidate=candidate
        )
        return decision.grounds if decision is not None else None

    async def summary_of(self, session: AsyncSession, attempt_id: int) -> ReviewSummary:
        """The attempt's review: cleared or cheating, identity, flags still open."""
        attempt = await session.get(Attempt, attempt_id)
        if attempt is None:
            return ReviewSummary()
        review = await session.get(AttemptReview, attempt.id)
        identity = await session.get(IdentityDecision, attempt.registration_id)
        open_flags = await session.scalar(
            select(func.count())
            .select_from(Flag)
            .where(Flag.registration_id == attempt.registration_id, Flag.decision.is_(None))
        )
        outcome = review.outcome if review is not None else None
        return ReviewSummary(
            cleared=outcome == ReviewOutcome.CLEARED,
            cheating_proposed=outcome == ReviewOutcome.CHEATING_PROPOSED,
            cheating_confirmed=outcome == ReviewOutcome.CHEATING_CONFIRMED,
            grounds=review.grounds if review is not None and outcome is not None else "",
            identity_confirmed=identity.confirmed if identity is not None else None,
            identity_grounds=identity.grounds if identity is not None else "",
            open_flags=int(open_flags or 0),
        )

    async def identity_held(
        self, session: AsyncSession, registration_ids: Collection[int]
    ) -> set[int]:
        """Of these registrations, those a proctor decided the identity of as not confirmed (a
        later decision replaces an earlier one, so the row says where it stands now). The held
        ones are few: they are read whole and matched here, so a page of thousands of attempts
        sends no list of thousands of ids."""
        wanted = set(registration_ids)
        if not wanted:
            return set()
        held = await session.scalars(
            select(IdentityDecision.registration_id).where(IdentityDecision.confirmed.is_(False))
        )
        return wanted.intersection(held)
