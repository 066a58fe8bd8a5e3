"""A part's result, computed: the choice questions' score plus the open answers' final marks, out
of the part's most points; passed at the part's pass mark (``exam.results``). A part waits until
every script in it is final."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import results
from exam.models import AttemptPart
from grading.models import Script, ScriptStatus


async def settle_part(
    session: AsyncSession, attempt_part_id: int, *, now: datetime
) -> AttemptPart | None:
    """Record the part's computed result when every script in it is final; None while one is
    still being graded (or when the part was withdrawn from grading)."""
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None or attempt_part.submitted_at is None:
        return None
    scripts = list(
        await session.scalars(select(Script).where(Script.attempt_part_id == attempt_part_id))
    )
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
