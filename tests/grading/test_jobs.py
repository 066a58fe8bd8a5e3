"""The application's background work: claims that ran out return to the queue, closed sittings get their figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam import attempts, handin
from exam.models import Sitting
from exam.timing import FixedClock
from grading.claims import claim_next, queue_size
from grading.independence import NoExaminers
from grading.jobs import expire_once, figures_once
from grading.models import StatisticsSnapshot
from tests.exam.factories import CHECKED_IN, OPENS, build_exam
from tests.grading.factories import (
    hand_in,
    new_grader,
    registration_of,
    scheme_of,
    wire_events,
)
from vakt.accounts import User
from vakt.db import create_sessionmaker


@pytest.mark.asyncio
async def test_claims_that_ran_out_return_to_the_queue(
    session: AsyncSession, engine: AsyncEngine, users: dict[str, User]
) -> None:
    wire_events(session)
    exam = await build_exam(session, users)
    await hand_in(session, exam, exam.candidate)
    grader = await new_grader(
        session, "sensor1", scheme_id=await scheme_of(session, exam), admin=exam.admin
    )
    claim = await claim_next(session, grader=grader, now=OPENS, examiners=NoExaminers())
    assert claim is not None
    await session.commit()
    clock = FixedClock(claim.expires_at)
    sessionmaker = create_sessionmaker(engine)

    assert await expire_once(sessionmaker, clock) == 0
    clock.advance(timedelta(seconds=1))
    assert await expire_once(sessionmaker, clock) == 1
    assert await queue_size(session, grader, NoExaminers()) == 1


@pytest.mark.asyncio
async def test_a_closed_sitting_has_its_figures_computed_once_nothing_waits(
    session: AsyncSession, engine: AsyncEngine, users: dict[str, User]
) -> None:
    """The choice part has no script that could become final: the figures come when the sitting
    closes and nothing waits for a mark, and again only after a later hand-in."""
    wire_events(session)
    exam = await build_exam(session, users)
    registration_id = await registration_of(session, exam, exam.candidate)
    start = OPENS + timedelta(minutes=1)
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=registration_id, candidate=exam.candidate,
        now=start,
    )  # fmt: skip
    first = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=start
    )
    await handin.submit_part(session, attempt_part_id=first.id, candidate=exam.candidate, now=start)
    await session.commit()
    sitting = await session.get(Sitting, exam.sitting_id)
    assert sitting is not None
    sessionmaker = create_sessionmaker(engine)

    assert (
        await figures_once(sessionmaker, FixedClock(sitting.closes_at - timedelta(seconds=1))) == 0
    )
    closed = FixedClock(sitting.closes_at)
    assert await figures_once(sessionmaker, closed) == 1
    assert await figures_once(sessionmaker, closed) == 0
    snapshot = await session.scalar(
        select(StatisticsSnapshot).where(StatisticsSnapshot.sitting_id == sitting.id)
    )
    assert snapshot is not None and snapshot.candidates == 1


@pytest.mark.asyncio
async def test_a_closed_sitting_with_scripts_waiting_has_no_figures_yet(
    session: AsyncSession, engine: AsyncEngine, users: dict[str, User]
) -> None:
    wire_events(session)
    exam = await build_exam(session, users)
    await hand_in(session, exam, exam.candidate)
    sitting = await session.get(Sitting, exam.sitting_id)
    assert sitting is not None

    assert await figures_once(create_sessionmaker(engine), FixedClock(sitting.closes_at)) == 0
