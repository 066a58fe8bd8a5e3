"""Background work of grading, run by the application while it serves: claims that ran out go
back to the queue, and a closed sitting whose figures are older than its last hand-in has them
computed (a sitting with only choice questions never has a script that becomes final)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exam.models import Attempt, AttemptPart, Registration, Sitting
from exam.timing import Clock
from grading.models import StatisticsSnapshot
from grading.quality import when_graded
from grading.scripts import expire_claims

logger = logging.getLogger(__name__)


async def expire_once(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Return the scripts of claims that ran out to the queue; how many."""
    async with sessionmaker() as session:
        count = await expire_claims(session, now=clock.now())
        await session.commit()
    return count


async def sittings_with_stale_figures(session: AsyncSession, now: datetime) -> list[int]:
    """Closed sittings with a part handed in after their figures were last computed (or never
    computed)."""
    last_hand_in = (
        select(
            Registration.sitting_id.label("sitting_id"),
            func.max(AttemptPart.submitted_at).label("handed_in_at"),
        )
        .join(Attempt, Attempt.registration_id == Registration.id)
        .join(AttemptPart, AttemptPart.attempt_id == Attempt.id)
        .group_by(Registration.sitting_id)
        .subquery()
    )
    rows = await session.scalars(
        select(Sitting.id)
        .join(last_hand_in, last_hand_in.c.sitting_id == Sitting.id)
        .outerjoin(StatisticsSnapshot, StatisticsSnapshot.sitting_id == Sitting.id)
        .where(
            Sitting.closes_at <= now,
            (StatisticsSnapshot.id.is_(None))
            | (StatisticsSnapshot.computed_at < last_hand_in.c.handed_in_at),
        )
        .order_by(Sitting.id)
    )
    return list(rows)


async def figures_once(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Compute the figures of closed sittings whose figures are stale and whose scripts are all
    final (the rest get theirs when their last script is); how many were computed."""
    now = clock.now()
    async with sessionmaker() as session:
        stale = await sittings_with_stale_figures(session, now)
    computed = 0
    for sitting_id in stale:
        # One transaction per sitting: one sitting's trouble does not hold back the others.
        async with sessionmaker() as session:
            if await when_graded(session, sitting_id, now=now):
                computed += 1
            await session.commit()
    return computed


async def expire_forever(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, interval_seconds: float
) -> None:
    """Every ``interval_seconds`` until cancelled: expire stale claims and compute the figures
    of closed sittings; a failed round is logged and tried again."""
    while True:
        try:
            await expire_once(sessionmaker, clock)
            await figures_once(sessionmaker, clock)
        except Exception:
            logger.exception("grading's background work failed; trying again")
        await asyncio.sleep(interval_seconds)
