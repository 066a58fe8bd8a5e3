"""Background work of exam delivery, run by the application while it serves."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exam.handin import overdue_part_ids, submit_overdue_part
from exam.timing import Clock

logger = logging.getLogger(__name__)


async def submit_overdue_once(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Hand in every part whose time is up; returns how many.

    Each part is handed in in a transaction of its own: a part that cannot be handed in (a bug,
    bad data) is logged and left for the next round, and never holds up another candidate's.
    """
    async with sessionmaker() as session:
        overdue = await overdue_part_ids(session, now=clock.now())
    handed_in = 0
    for attempt_part_id in overdue:
        try:
            async with sessionmaker() as session:
                done = await submit_overdue_part(
                    session, attempt_part_id=attempt_part_id, now=clock.now()
                )
                await session.commit()
        except Exception:
            logger.exception(
                "handing in overdue part %s failed; trying again later", attempt_part_id
            )
            continue
        handed_in += done
    return handed_in


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
