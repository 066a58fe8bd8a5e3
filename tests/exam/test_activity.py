"""An exam in progress keeps its candidate signed in past the idle timeout, and nothing else does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts
from exam.activity import AttemptInProgress
from exam.models import AttemptStatus
from tests.exam.factories import CHECKED_IN, OPENS, Exam
from vakt.accounts import User
from vakt.sessions import SessionPolicy, resolve_session, start_session

POLICY = SessionPolicy(idle=timedelta(minutes=30), lifetime=timedelta(hours=8))
STARTED = OPENS + timedelta(minutes=1)


async def _sign_in(session: AsyncSession, user: User) -> str:
    return await start_session(
        session, user, now=STARTED, policy=POLICY, address="10.0.0.1", user_agent="test"
    )


@pytest.mark.asyncio
async def test_an_attempt_in_progress_keeps_the_session_alive(
    session: AsyncSession, exam: Exam
) -> None:
    activity = AttemptInProgress()
    token = await _sign_in(session, exam.candidate)
    other = await _sign_in(session, exam.other)
    attempt = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=STARTED,
    )
    idle_until = STARTED + POLICY.idle
    assert await activity.keeps_session_alive(session, exam.candidate.id, idle_until)
    assert not await activity.keeps_session_alive(session, exam.other.id, idle_until)

    an_hour_later = STARTED + timedelta(hours=1)
    kept = await resolve_session(
        session, token, now=an_hour_later, policy=POLICY, activity=activity
    )
    assert kept is not None and kept.user == exam.candidate
    assert kept.row.last_seen_at == an_hour_later  # the idle time counts from now on
    assert (
        await resolve_session(session, other, now=an_hour_later, policy=POLICY, activity=activity)
        is None
    )

    # Once the attempt is over, the idle timeout applies again.
    attempt.status = AttemptStatus.FINISHED.value
    await session.flush()
    later = an_hour_later + POLICY.idle + timedelta(seconds=1)
    assert (
        await resolve_session(session, token, now=later, policy=POLICY, activity=activity) is None
    )


@pytest.mark.asyncio
async def test_an_attempt_started_after_the_session_timed_out_does_not_revive_it(
    session: AsyncSession, exam: Exam
) -> None:
    # A session left open on one computer times out; the candidate then starts the exam on
    # another. The forgotten session must stay over.
    forgotten = await _sign_in(session, exam.candidate)
    started_later = STARTED + POLICY.idle + timedelta(minutes=5)
    await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=started_later,
    )
    assert not await AttemptInProgress().keeps_session_alive(
        session, exam.candidate.id, STARTED + POLICY.idle
    )
    assert (
        await resolve_session(
            session,
            forgotten,
            now=started_later + timedelta(minutes=1),
            policy=POLICY,
            activity=AttemptInProgress(),
        )
        is None
    )
