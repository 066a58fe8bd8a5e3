"""What in exam delivery keeps a candidate signed in: an attempt in progress.

A candidate may read a long case, or wait out a break between parts, without the page asking the
server for anything that needs the sign-in; the idle timeout must not sign them out then. This
fills ``vakt.sessions.SessionActivity``, which the app is given in ``web.app.create_app``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptStatus, Registration


class AttemptInProgress:
    """Keeps a candidate's sessions alive while an attempt of theirs is in progress."""

    async def keeps_session_alive(self, db: AsyncSession, user_id: int, since: datetime) -> bool:
        """True when an attempt of this candidate started by ``since`` is still in progress.

        An attempt started later does not count: the session had timed out by then, and must
        not come back to life because the candidate went on in another browser.
        """
        found = await db.scalar(
            select(Attempt.id)
            .join(Registration, Registration.id == Attempt.registration_id)
            .where(
                Registration.candidate_id == user_id,
                Attempt.status == AttemptStatus.IN_PROGRESS,
                Attempt.started_at <= since,
            )
            .limit(1)
        )
        return found is not None
