"""Background work of grading, run by the application while it serves."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exam.timing import Clock
from grading.scripts import expire_claims

logger = logging.getLogger(__name__)


async def expire_once(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Return the scripts of claims that ran out to the queue; how many."""
    async with sessionmaker() as session:
        count = await expire_claims(session, now=clock.now())
        await session.commit()
    return count


async def expire_forever(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, interval_seconds: float
) -> None:
    """Expire stale claims every ``interval_seconds`` until cancelled; a failed round is
    logged and tried again."""
    while True:
        try:
            await expire_once(sessionmaker, clock)
        except Exception:
            logger.exception("expiring grading claims failed; trying again")
        await asyncio.sleep(interval_seconds)
