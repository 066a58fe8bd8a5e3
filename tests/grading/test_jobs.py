"""The application's background work returns claims that ran out to the queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam.timing import FixedClock
from grading.claims import claim_next, queue_size
from grading.independence import NoExaminers
from grading.jobs import expire_once
from tests.exam.factories import OPENS, build_exam
from tests.grading.factories import hand_in, new_grader, scheme_of, wire_events
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
