"""Background work of proctoring, run by the application while it serves."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exam.timing import Clock
from proctoring import recordings, retention, watchdog
from proctoring.schemas import Policy
from proctoring.storage import MediaStore
from vakt.settings import Settings

logger = logging.getLogger(__name__)


async def watch_once(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """One round of the watchdog: lost live channels, flags of closed parts, recording gaps."""
    now = clock.now()
    policies: dict[int, Policy] = {}
    async with sessionmaker() as session:
        changed = await watchdog.watch_running_parts(session, now=now)
        changed += await watchdog.end_flags_of_closed_parts(session)
        changed += await recordings.check_gaps(session, policies=policies, now=now)
        await session.commit()
    return changed


async def watch_forever(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, interval_seconds: float
) -> None:
    """Run the watchdog every ``interval_seconds`` until cancelled; a failed round is logged."""
    while True:
        try:
            await watch_once(sessionmaker, clock)
        except Exception:
            logger.exception("the proctoring watchdog failed; trying again")
        await asyncio.sleep(interval_seconds)


async def purge_forever(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    holds: retention.AppealHolds = retention.NO_APPEAL_HOLDS,
) -> None:
    """Delete expired media every ``retention_interval_seconds`` until cancelled, keeping what
    ``holds`` keeps for appeals."""
    store = MediaStore(settings.data_dir / "media")
    while True:
        try:
            async with sessionmaker() as session:
                report = await retention.purge_expired(
                    session,
                    store,
                    now=clock.now(),
                    appeal_days=settings.appeal_days,
                    retention_days=settings.recording_retention_days,
                    holds=holds,
                )
                await session.commit()
            if report.total:
                logger.info("retention deleted %d recordings and photos", report.total)
        except Exception:
            logger.exception("deleting expired recordings failed; trying again")
        await asyncio.sleep(settings.retention_interval_seconds)
