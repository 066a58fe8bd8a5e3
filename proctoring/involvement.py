"""Who took part in proctoring a candidate: a proctor who opened the candidate's review or any of
their media. Grading asks (``grading.independence.Examiners``) so that nobody grades a candidate
they proctored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from proctoring.models import ProctorInvolvement
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
