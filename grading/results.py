"""A part's result, computed: the choice questions' score plus the open answers' final marks, out
of the part's most points; passed at the part's pass mark (``exam.results``). A part waits until
every script in it is final (of the latest round, after a blind re-grading), and while its
registration is held (the candidate's identity not confirmed, ``grading.holds``);
``settle_registration`` settles what waited once the hold lifts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import results
from exam.models import Attempt, AttemptPart
from grading.holds import NO_HOLDS, IdentityHolds
from grading.models import ScriptStatus
from grading.regrading import current_scripts


async def settle_part(
    session: AsyncSession,
    attempt_part_id: int,
    *,
    now: datetime,
    holds: IdentityHolds = NO_HOLDS,
) -> AttemptPart | None:
    """Record the part's computed result when every script in it is final; None while one is
    still being graded (or when the part was withdrawn from grading), and while its
    registration is held."""
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None or attempt_part.submitted_at is None:
        return None
    attempt = await session.get(Attempt, attempt_part.attempt_id)
    assert attempt is not None
    if await holds.held(session, attempt.registration_id):
        return None
    scripts = list(await session.scalars(current_scripts([attempt_part_id])))
    if any(script.status != ScriptStatus.FINAL for script in scripts):
        return None
    score = (attempt_part.auto_score or 0.0) + sum(s.final_points or 0.0 for s in scripts)
    maximum = (attempt_part.auto_max_score or 0.0) + sum(s.max_points for s in scripts)
    return await results.record_computed_result(
        session,
        attempt_part_id=attempt_part_id,
        score=round(score, 4),
        max_score=round(maximum, 4),
        now=now,
    )


async def settle_registration(
    session: AsyncSession, registration_id: int, *, now: datetime
) -> list[AttemptPart]:
    """Settle the registration's handed-in parts that have no result yet (what waited while it
    was held); the parts still being graded go on waiting. The ones settled now."""
    waiting = await session.scalars(
        select(AttemptPart.id)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .where(
            Attempt.registration_id == registration_id,
            AttemptPart.submitted_at.is_not(None),
            AttemptPart.passed.is_(None),
        )
        .order_by(AttemptPart.id)
    )
    settled = []
    for attempt_part_id in list(waiting):
        part = await settle_part(session, attempt_part_id, now=now)
        if part is not None:
            settled.append(part)
    return settled
