"""Review claims: one proctor at a time, however many claim at once; a stale claim is taken
over after the scheme's time; only proctors claim."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from proctoring.models import AttemptReview, FlagDecision, FlagType, ProctorInvolvement
from proctoring.review import decide_flag
from proctoring.review_claims import claim_review, release_review
from tests.exam.factories import OPENS, Exam
from tests.proctoring.reviewing import change_policy, flagged_attempt, proctors
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import create_sessionmaker
from vakt.errors import Conflict, Forbidden, NotFound

LATER = OPENS + timedelta(hours=1)


@pytest.mark.asyncio
async def test_twenty_proctors_claiming_at_once_exactly_one_wins(
    session: AsyncSession, engine: AsyncEngine, exam: Exam
) -> None:
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate, [(FlagType.PASTE, OPENS)]
    )
    team = await proctors(session, 20)
    sessionmaker = create_sessionmaker(engine)
    start = asyncio.Event()

    async def claim(proctor: User) -> bool:
        await start.wait()
        async with sessionmaker() as own:
            try:
                await claim_review(own, attempt_id=flagged.attempt_id, proctor=proctor, now=LATER)
            except Conflict:
                await own.rollback()
                return False
            await own.commit()
            return True

    workers = [asyncio.create_task(claim(proctor)) for proctor in team]
    start.set()
    won = await asyncio.gather(*workers)

    assert won.count(True) == 1
    winner = team[won.index(True)]
    review = await session.get(AttemptReview, flagged.attempt_id, populate_existing=True)
    assert review is not None and review.claimed_by_id == winner.id
    assert review.claim_expires_at == LATER + timedelta(minutes=30)
    claims = (
        await session.scalars(
            select(AuditEntry.actor_id).where(AuditEntry.action == "proctoring.review_claimed")
        )
    ).all()
    assert claims == [winner.id]


@pytest.mark.asyncio
async def test_a_stale_claim_expires_and_is_taken_over(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    await change_policy(session, exam, review_claim_minutes=5)
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate, [(FlagType.SPEECH, OPENS)]
    )
    first, (second,) = users["proctor"], await proctors(session, 1)
    await claim_review(session, attempt_id=flagged.attempt_id, proctor=first, now=LATER)
    with pytest.raises(Conflict) as busy:
        await claim_review(
            session, attempt_id=flagged.attempt_id, proctor=second,
            now=LATER + timedelta(minutes=4, seconds=59),
        )  # fmt: skip
    assert "until" in str(busy.value.message)
    # Claiming again renews one's own claim.
    renewed = await claim_review(
        session, attempt_id=flagged.attempt_id, proctor=first, now=LATER + timedelta(minutes=4)
    )
    assert renewed.claim_expires_at == LATER + timedelta(minutes=9)
    taken = await claim_review(
        session, attempt_id=flagged.attempt_id, proctor=second, now=LATER + timedelta(minutes=9)
    )
    assert taken.claimed_by_id == second.id
    last = await session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    assert last is not None and last.after is not None
    assert last.after["taken_over_from"] == first.id
    # The first proctor's claim is gone: their decisions are refused.
    with pytest.raises(Conflict):
        await decide_flag(
            session, flag_id=flagged.flags[0], decision=FlagDecision.CONFIRMED, reason="",
            proctor=first, now=LATER + timedelta(minutes=10),
        )  # fmt: skip
    # Both looked at the candidate's proctoring: neither may grade them.
    involved = set(
        await session.scalars(
            select(ProctorInvolvement.user_id).where(
                ProctorInvolvement.registration_id == exam.registration_id
            )
        )
    )
    assert involved == {first.id, second.id}


@pytest.mark.asyncio
async def test_release_lets_another_proctor_claim(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate, [(FlagType.SPEECH, OPENS)]
    )
    first, (second,) = users["proctor"], await proctors(session, 1)
    await claim_review(session, attempt_id=flagged.attempt_id, proctor=first, now=LATER)
    await release_review(session, attempt_id=flagged.attempt_id, proctor=second, now=LATER)
    with pytest.raises(Conflict):  # releasing someone else's claim does nothing
        await claim_review(session, attempt_id=flagged.attempt_id, proctor=second, now=LATER)
    await release_review(session, attempt_id=flagged.attempt_id, proctor=first, now=LATER)
    review = await claim_review(session, attempt_id=flagged.attempt_id, proctor=second, now=LATER)
    assert review.claimed_by_id == second.id
    actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions[-3:] == [
        "proctoring.review_claimed",
        "proctoring.review_released",
        "proctoring.review_claimed",
    ]


@pytest.mark.asyncio
async def test_only_proctors_claim_and_ids_must_exist(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate, [(FlagType.SPEECH, OPENS)]
    )
    for who in (exam.candidate, users["grader"], users["decision_maker"], users["administrator"]):
        with pytest.raises(Forbidden):
            await claim_review(session, attempt_id=flagged.attempt_id, proctor=who, now=LATER)
        with pytest.raises(Forbidden):
            await release_review(session, attempt_id=flagged.attempt_id, proctor=who, now=LATER)
    for missing in (0, -5, flagged.attempt_id + 1000, 2**31, 10**400):
        with pytest.raises(NotFound):
            await claim_review(session, attempt_id=missing, proctor=users["proctor"], now=LATER)
    assert await session.scalar(select(AttemptReview)) is None
