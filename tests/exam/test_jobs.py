"""Parts are handed in at the deadline by the application itself, browser or no browser."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam import attempts
from exam.jobs import submit_overdue_once
from exam.models import Attempt, AttemptPart, Registration
from exam.timing import FixedClock
from itembank.models import ExamFormItem, ItemVersion
from tests.exam.factories import CHECKED_IN, OPENS, build_exam
from vakt.accounts import User
from vakt.db import create_sessionmaker
from vakt.settings import Settings


async def _part_in_progress(
    session: AsyncSession, users: dict[str, User], clock: FixedClock
) -> int:
    exam = await build_exam(session, users)
    attempt = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=clock.now(),
    )
    part = await attempts.start_part(
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


@pytest.mark.asyncio
async def test_a_part_that_cannot_be_handed_in_holds_up_no_other(
    session: AsyncSession, users: dict[str, User], engine: AsyncEngine
) -> None:
    """One candidate's part whose hand-in fails (here: an item version that no longer reads
    back) is logged and left for the next round; the other candidate's part is handed in at
    its deadline all the same."""
    clock = FixedClock(OPENS)
    exam = await build_exam(session, users)
    part_ids = []
    for candidate in (exam.candidate, exam.other):
        registration_id = await session.scalar(
            select(Registration.id).where(Registration.candidate_id == candidate.id)
        )
        assert registration_id is not None
        attempt = await attempts.start_attempt(
            session, checkin=CHECKED_IN, registration_id=registration_id, candidate=candidate,
            now=clock.now(),
        )  # fmt: skip
        part = await attempts.start_part(
            session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=candidate,
            now=clock.now(),
        )  # fmt: skip
        part_ids.append(part.id)
        clock.advance(timedelta(seconds=1))
    # Break an item only the first candidate's form has, as a row whose structure an older
    # release stored and this one no longer reads (the forms are drawn at random from one bank,
    # so they share some items).
    forms = [
        set(
            (
                await session.scalars(
                    select(ExamFormItem.item_version_id)
                    .join(Attempt, Attempt.form_id == ExamFormItem.form_id)
                    .join(AttemptPart, AttemptPart.attempt_id == Attempt.id)
                    .where(AttemptPart.id == part_id, ExamFormItem.part_index == 0)
                )
            ).all()
        )
        for part_id in part_ids
    ]
    only_first = sorted(forms[0] - forms[1])
    assert only_first, "the two forms share every item; pick other seeds"
    version = await session.get(ItemVersion, only_first[0])
    assert version is not None
    broken = json.loads(json.dumps(version.document))
    broken["questions"] = []
    version.document = broken
    await session.commit()

    clock.advance(timedelta(hours=1))
    sessionmaker = create_sessionmaker(engine)
    assert await submit_overdue_once(sessionmaker, clock) == 1
    session.expunge_all()
    stuck, handed_in = [await session.get(AttemptPart, part_id) for part_id in part_ids]
    assert stuck is not None and stuck.submitted_at is None
    assert handed_in is not None and handed_in.submitted_by == "deadline"
    assert await submit_overdue_once(sessionmaker, clock) == 0  # tried again, still alone
