"""Background work of exam delivery, run by the application while it serves."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exam.service import submit_overdue_parts
from exam.timing import Clock

logger = logging.getLogger(__name__)


async def submit_overdue_once(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Hand in every part whose time is up, in one transaction; returns how many."""
    async with sessionmaker() as session:
        count = await submit_overdue_parts(session, now=clock.now())
        await session.commit()
    return count


async def submit_overdue_forever(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, interval_seconds: float
) -> None:
    """Hand in overdue parts every ``interval_seconds`` until cancelled.

    A candidate whose browser is gone still gets their part handed in with everything saved.
    A failed round is logged and tried again; it never stops the loop.
    """
    while True:
        try:
            handed_in = await submit_overdue_once(sessionmaker, clock)
            if handed_in:
                logger.info("handed in %d overdue parts", handed_in)
        except Exception:
            logger.exception("handing in overdue parts failed; trying again")
        await asyncio.sleep(interval_seconds)
