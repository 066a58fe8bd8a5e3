"""Who took part in proctoring a candidate: a proctor who opened the candidate's review or any of
their media. Grading asks (``grading.independence.Examiners``) so that nobody grades a candidate
they proctored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt
from proctoring.models import (
    AttemptReview,
    Flag,
    IdentityDecision,
    ProctorInvolvement,
    ProctorMessage,
)
from vakt.accounts import User


async def note_involvement(
    session: AsyncSession, *, registration_id: int, proctor: User, now: datetime
) -> None:
    """Remember that ``proctor`` looked at this registration's proctoring (once is enough)."""
    dialect = session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        dialect_insert(ProctorInvolvement)
        .values(registration_id=registration_id, user_id=proctor.id, first_at=now)
        .on_conflict_do_nothing()
    )


class ProctoringInvolvement:
    """What proctoring tells grading about who examined whom (``grading.independence``)."""

    async def registrations_examined_by(self, session: AsyncSession, user_id: int) -> set[int]:
        """The registrations whose proctoring ``user_id`` looked at."""
        rows = await session.scalars(
            select(ProctorInvolvement.registration_id).where(ProctorInvolvement.user_id == user_id)
        )
        return set(rows.all())

    async def examiners_of(self, session: AsyncSession, registration_id: int) -> set[int]:
        """The people who looked at this registration's proctoring."""
        rows = await session.scalars(
            select(ProctorInvolvement.user_id).where(
                ProctorInvolvement.registration_id == registration_id
            )
        )
        return set(rows.all())

    async def participants_of(self, session: AsyncSession, registration_id: int) -> dict[int, str]:
        """Who took part in this registration's proctoring, and how (for the certification
        decision's independence, ``certification.independence.Participants``): "proctored"
        (looked at the proctoring, wrote to the candidate) or "reviewed" (claimed or decided the
        review, a flag, the identity, cheating)."""
        found: dict[int, str] = {}
        for user_id in await self.examiners_of(session, registration_id):
            found[user_id] = "proctored"
        for user_id in await session.scalars(
            select(ProctorMessage.sender_id).where(
                ProctorMessage.registration_id == registration_id
            )
        ):
            found.setdefault(user_id, "proctored")
        reviewed: set[int | None] = set(
            await session.scalars(
                select(Flag.decided_by_id).where(Flag.registration_id == registration_id)
            )
        )
        reviewed |= set(
            await session.scalars(
                select(IdentityDecision.decided_by_id).where(
                    IdentityDecision.registration_id == registration_id
                )
            )
        )
        for review in await session.scalars(
            select(AttemptReview)
            .join(Attempt, Attempt.id == AttemptReview.attempt_id)
            .where(Attempt.registration_id == registration_id)
        ):
            reviewed |= {
                review.claimed_by_id,
                review.cleared_by_id,
                review.proposed_by_id,
                review.confirmed_by_id,
                review.rejected_by_id,
            }
        for reviewer in reviewed:
            if reviewer is not None:
                found[reviewer] = "reviewed"
        return found
