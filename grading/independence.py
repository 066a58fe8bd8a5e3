"""Independence: nobody grades a candidate they proctored, or one they declared a conflict of
interest with (a named candidate, or everyone at an employer).

Who proctored whom is proctoring's knowledge; it tells grading through ``Examiners`` (filled by
``proctoring.involvement.ProctoringInvolvement``, wired in ``web.app.create_app``).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grading.models import ConflictOfInterest
from vakt.accounts import User


class Examiners(Protocol):
    """Who took part in examining a candidate."""

    async def registrations_examined_by(self, session: AsyncSession, user_id: int) -> set[int]:
        """The registrations ``user_id`` took part in examining."""
        ...

    async def examiners_of(self, session: AsyncSession, registration_id: int) -> set[int]:
        """The people who took part in examining a registration."""
        ...


class NoExaminers:
    """Examiners where no other domain examines anyone (grading on its own, in tests)."""

    async def registrations_examined_by(self, session: AsyncSession, user_id: int) -> set[int]:
        """Nobody examined anyone."""
        return set()

    async def examiners_of(self, session: AsyncSession, registration_id: int) -> set[int]:
        """Nobody examined anyone."""
        return set()


def normalised_employer(employer: str) -> str:
    """An employer's name as conflicts compare it: without case or surrounding spaces."""
    return " ".join(employer.split()).casefold()


async def conflicted_candidates(session: AsyncSession, grader_id: int) -> set[int]:
    """The candidates the grader declared a conflict with, by name or through their employer."""
    declared = list(
        await session.scalars(
            select(ConflictOfInterest).where(ConflictOfInterest.grader_id == grader_id)
        )
    )
    named = {row.candidate_id for row in declared if row.candidate_id is not None}
    employers = {normalised_employer(row.employer) for row in declared if row.employer.strip()}
    if employers:
        # Compared in Python: the database's own case folding differs between SQLite and
        # PostgreSQL, and a grader declares few employers.
        rows = await session.execute(
            select(User.id, User.employer).where(func.length(User.employer) > 0)
        )
        named |= {
            user_id for user_id, employer in rows if normalised_employer(employer) in employers
        }
    return named
