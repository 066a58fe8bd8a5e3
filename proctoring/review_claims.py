"""Review claims: one proctor at a time reviews an attempt.

A claim lasts the scheme's ``review_claim_minutes`` (renewed by claiming again); a stale claim
may be taken over. Safe under concurrency on PostgreSQL and SQLite alike: the review row is
created with INSERT ... ON CONFLICT DO NOTHING (its key is the attempt), and the claim itself is
one conditional UPDATE that succeeds only while nobody else holds a live claim, so however many
proctors claim at once, exactly one wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, Registration, Sitting
from exam.roles import require
from proctoring.access import REVIEW_REFUSED, REVIEWERS
from proctoring.involvement import note_involvement
from proctoring.models import AttemptReview, ReviewOutcome
from proctoring.schemas import Policy
from proctoring.service import policy_for_scheme
from vakt import audit
from vakt.accounts import User
from vakt.db import MAX_ROW_ID
from vakt.errors import Conflict, NotFound
from vakt.i18n import Moment, _l

DECIDED = _l("Cheating has been decided for this attempt; its review is closed.")


async def attempt_of(session: AsyncSession, attempt_id: int) -> Attempt:
    """The attempt; a 404 for one that does not exist (or an id no row can have)."""
    attempt = await session.get(Attempt, attempt_id) if 1 <= attempt_id <= MAX_ROW_ID else None
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    return attempt


async def policy_of_attempt(session: AsyncSession, attempt: Attempt) -> Policy:
    """The proctoring policy of the attempt's scheme."""
    scheme_id = await session.scalar(
        select(Sitting.scheme_id)
        .join(Registration, Registration.sitting_id == Sitting.id)
        .where(Registration.id == attempt.registration_id)
    )
    assert scheme_id is not None
    return await policy_for_scheme(session, scheme_id)


async def review_of(session: AsyncSession, attempt_id: int) -> AttemptReview | None:
    """The attempt's review as the database has it now (None before anyone claimed it)."""
    return await session.get(AttemptReview, attempt_id, populate_existing=True)


def holds_claim(review: AttemptReview | None, user: User, now: datetime) -> bool:
    """Whether ``user`` holds a live claim on the review."""
    return (
        review is not None
        and review.claimed_by_id == user.id
        and review.claim_expires_at is not None
        and review.claim_expires_at > now
    )


def claimed_by_other(review: AttemptReview | None, user: User, now: datetime) -> bool:
    """Whether someone other than ``user`` holds a live claim on the review."""
    return (
        review is not None
        and review.claimed_by_id is not None
        and review.claimed_by_id != user.id
        and review.claim_expires_at is not None
        and review.claim_expires_at > now
    )


def _busy(review: AttemptReview) -> Conflict:
    assert review.claim_expires_at is not None
    return Conflict(
        _l("Another proctor is reviewing this attempt until {time}."),
        time=Moment(review.claim_expires_at, "time"),
    )


async def claim_review(
    session: AsyncSession, *, attempt_id: int, proctor: User, now: datetime
) -> AttemptReview:
    """Claim the attempt's review for the scheme's ``review_claim_minutes`` (claiming again
    renews one's own claim; a stale claim of another proctor is taken over). Refused while
    another proctor's claim is live, and once cheating is decided."""
    require(proctor, REVIEWERS, REVIEW_REFUSED)
    attempt = await attempt_of(session, attempt_id)
    minutes = (await policy_of_attempt(session, attempt)).review_claim_minutes
    dialect = session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        dialect_insert(AttemptReview)
        .values(attempt_id=attempt.id, grounds="", evidence=[], rejection_grounds="")
        .on_conflict_do_nothing()
    )
    before = await review_of(session, attempt.id)
    previous = before.claimed_by_id if before is not None else None
    expires = now + timedelta(minutes=minutes)
    taken = await session.execute(
        update(AttemptReview)
        .where(
            AttemptReview.attempt_id == attempt.id,
            or_(
                AttemptReview.claimed_by_id.is_(None),
                AttemptReview.claimed_by_id == proctor.id,
                AttemptReview.claim_expires_at <= now,
            ),
            or_(
                AttemptReview.outcome.is_(None),
                AttemptReview.outcome != ReviewOutcome.CHEATING_CONFIRMED,
            ),
        )
        .values(claimed_by_id=proctor.id, claimed_at=now, claim_expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    review = await review_of(session, attempt.id)
    assert review is not None
    if not taken.rowcount:  # type: ignore[attr-defined]
        if review.outcome == ReviewOutcome.CHEATING_CONFIRMED:
            raise Conflict(DECIDED)
        raise _busy(review)
    # Whoever reviews a candidate's proctoring takes no part in grading them.
    await note_involvement(
        session, registration_id=attempt.registration_id, proctor=proctor, now=now
    )
    await audit.record(
        session,
        actor_id=proctor.id,
        action="proctoring.review_claimed",
        entity_type="attempt",
        entity_id=attempt.id,
        after={
            "expires_at": expires.isoformat(),
            **({"taken_over_from": previous} if previous not in (None, proctor.id) else {}),
        },
    )
    return review


async def release_review(
    session: AsyncSession, *, attempt_id: int, proctor: User, now: datetime
) -> None:
    """Give up one's claim on the attempt's review (a no-op without a live claim)."""
    require(proctor, REVIEWERS, REVIEW_REFUSED)
    attempt = await attempt_of(session, attempt_id)
    released = await session.execute(
        update(AttemptReview)
        .where(AttemptReview.attempt_id == attempt.id, AttemptReview.claimed_by_id == proctor.id)
        .values(claimed_by_id=None, claimed_at=None, claim_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if released.rowcount:  # type: ignore[attr-defined]
        await audit.record(
            session,
            actor_id=proctor.id,
            action="proctoring.review_released",
            entity_type="attempt",
            entity_id=attempt.id,
            after={"at": now.isoformat()},
        )


async def require_claim(
    session: AsyncSession, attempt: Attempt, proctor: User, now: datetime
) -> AttemptReview:
    """The attempt's review, held by ``proctor`` with a live claim; else a clear refusal."""
    review = await review_of(session, attempt.id)
    if review is not None and review.outcome == ReviewOutcome.CHEATING_CONFIRMED:
        raise Conflict(DECIDED)
    if review is not None and claimed_by_other(review, proctor, now):
        raise _busy(review)
    if review is None or not holds_claim(review, proctor, now):
        raise Conflict(_l("Claim the attempt for review first (your claim may have expired)."))
    return review
