"""Parts are handed in at the deadline by the application itself, browser or no browser."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam import service
from exam.jobs import submit_overdue_once
from exam.models import AttemptPart
from exam.timing import FixedClock
from tests.exam.factories import CHECKED_IN, OPENS, build_exam
from vakt.accounts import User
from vakt.db import create_sessionmaker
from vakt.settings import Settings


async def _part_in_progress(
    session: AsyncSession, users: dict[str, User], clock: FixedClock
) -> int:
    exam = await build_exam(session, users)
    attempt = await service.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=clock.now(),
    )
    part = await service.start_part(
        session,
        checkin=CHECKED_IN,
        attempt_id=attempt.id,
        candidate=exam.candidate,
        now=clock.now(),
    )
    await session.commit()
    return part.id


@pytest.mark.asyncio
async def test_one_round_hands_in_only_overdue_parts(
    session: AsyncSession, users: dict[str, User], engine: AsyncEngine
) -> None:
    clock = FixedClock(OPENS)
    part_id = await _part_in_progress(session, users, clock)
    sessionmaker = create_sessionmaker(engine)
    clock.advance(timedelta(minutes=29))
    assert await submit_overdue_once(sessionmaker, clock) == 0
    clock.advance(timedelta(minutes=2))
    assert await submit_overdue_once(sessionmaker, clock) == 1
    assert await submit_overdue_once(sessionmaker, clock) == 0
    session.expunge_all()
    part = await session.get(AttemptPart, part_id)
    assert part is not None and part.submitted_by == "deadline" and part.receipt_digest


@pytest.mark.asyncio
async def test_the_running_app_hands_in_overdue_parts(
    session: AsyncSession, users: dict[str, User], settings: Settings
) -> None:
    from web.app import create_app

    clock = FixedClock(OPENS)
    part_id = await _part_in_progress(session, users, clock)
    clock.advance(timedelta(hours=1))
    app = create_app(
        settings.model_copy(update={"auto_submit_interval_seconds": 0.05}), clock=clock
    )
    async with LifespanManager(app):
        for _ in range(200):  # the loop runs every 50 ms; give it up to 10 s on a slow machine
            submitted = await session.scalar(
                select(AttemptPart.submitted_at).where(AttemptPart.id == part_id)
            )
            if submitted is not None:
                break
            await asyncio.sleep(0.05)
    assert submitted is not None
