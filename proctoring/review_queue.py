"""The proctor review queue, across sittings: attempts with flags, the most severe undecided
flag first, then the oldest (then the attempt's id, so that the order is the same on every page);
filtered by sitting, scheme, flag type and review state, a page at a time.

Read in two queries (how many attempts match, and the page's rows). It names the candidate
(proctors know whom they watch) but holds nothing of answers or scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, Registration, Sitting
from exam.roles import require
from proctoring.access import CHEATING_CONFIRMERS, REVIEW_REFUSED, REVIEWERS
from proctoring.models import AttemptReview, Flag, ReviewOutcome, Severity
from proctoring.schemas import ReviewFilters, ReviewState
from vakt.accounts import User

QUEUE_PAGE_SIZE = 50
"""How many attempts one page of the queue holds."""

_RANK = {Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}
_SEVERITY_OF_RANK = {rank: severity for severity, rank in _RANK.items()}


@dataclass(frozen=True)
class QueueEntry:
    """One attempt in the review queue."""

    attempt_id: int
    registration_id: int
    sitting_id: int
    sitting_name: str
    scheme_id: int
    candidate_name: str
    state: ReviewState
    worst_open: Severity | None
    """The most severe undecided flag (None: every flag decided)."""
    open_flags: int
    flags: int
    oldest_open_at: datetime | None
    """When the oldest undecided flag began."""
    claimed_by_id: int | None
    claim_expires_at: datetime | None


@dataclass(frozen=True)
class QueueSlice:
    """One page of the review queue, and how many attempts match the filters on all pages."""

    entries: list[QueueEntry]
    total: int
    page: int
    """The page shown (from 1; a page past the end is the last one)."""
    page_size: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, empty when nothing matches)."""
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def first(self) -> int:
        """The position of the page's first attempt in the whole queue (from 1; 0: none)."""
        return (self.page - 1) * self.page_size + 1 if self.entries else 0

    @property
    def last(self) -> int:
        """The position of the page's last attempt in the whole queue (0: none)."""
        return self.first + len(self.entries) - 1 if self.entries else 0

    @property
    def has_previous(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.page < self.pages


def _state(now: datetime, undecided: ColumnElement[int]) -> ColumnElement[str]:
    live_claim = and_(
        AttemptReview.claimed_by_id.is_not(None), AttemptReview.claim_expires_at > now
    )
    return case(
        (AttemptReview.outcome == ReviewOutcome.CHEATING_CONFIRMED, ReviewState.CHEATING_CONFIRMED),
        (AttemptReview.outcome == ReviewOutcome.CHEATING_PROPOSED, ReviewState.FOUR_EYES),
        (live_claim, ReviewState.CLAIMED),
        (
            and_(AttemptReview.outcome == ReviewOutcome.CLEARED, undecided == 0),
            ReviewState.CLEARED,
        ),
        else_=ReviewState.UNREVIEWED,
    )


async def review_queue(
    session: AsyncSession,
    *,
    viewer: User,
    now: datetime,
    filters: ReviewFilters | None = None,
    page: int = 1,
    page_size: int | None = None,
) -> QueueSlice:
    """Page ``page`` (from 1; past the end: the last page) of the attempts to review, most severe
    undecided flag first, then the oldest, then by attempt id; with ``filters.state`` those in
    that state (cleared and confirmed ones too). With the count of all that match.
    ``page_size`` defaults to ``QUEUE_PAGE_SIZE`` (looked up at the call)."""
    require(viewer, REVIEWERS | CHEATING_CONFIRMERS, REVIEW_REFUSED)
    filters = filters or ReviewFilters()
    undecided_flag = Flag.decision.is_(None)
    rank = case(*((Flag.severity == severity, value) for severity, value in _RANK.items()), else_=0)
    per_registration = (
        select(
            Flag.registration_id.label("registration_id"),
            func.count().label("flags"),
            func.count().filter(undecided_flag).label("open_flags"),
            func.max(case((undecided_flag, rank), else_=0)).label("worst"),
            func.min(case((undecided_flag, Flag.started_at), else_=None)).label("oldest_open"),
            func.min(Flag.started_at).label("oldest"),
        )
        .group_by(Flag.registration_id)
        .subquery()
    )
    state = _state(now, per_registration.c.open_flags)
    query = (
        select(
            Attempt.id,
            Registration.id,
            Sitting.id,
            Sitting.name,
            Sitting.scheme_id,
            User.full_name,
            state,
            per_registration.c.worst,
            per_registration.c.open_flags,
            per_registration.c.flags,
            per_registration.c.oldest_open,
            AttemptReview.claimed_by_id,
            AttemptReview.claim_expires_at,
        )
        .select_from(Attempt)
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .join(User, User.id == Registration.candidate_id)
        .join(per_registration, per_registration.c.registration_id == Registration.id)
        .outerjoin(AttemptReview, AttemptReview.attempt_id == Attempt.id)
    )
    if filters.sitting_id is not None:
        query = query.where(Sitting.id == filters.sitting_id)
    if filters.scheme_id is not None:
        query = query.where(Sitting.scheme_id == filters.scheme_id)
    if filters.flag_type is not None:
        query = query.where(
            exists().where(Flag.registration_id == Registration.id, Flag.type == filters.flag_type)
        )
    if filters.state is not None:
        query = query.where(state == filters.state)
    else:
        query = query.where(
            or_(
                state == ReviewState.UNREVIEWED,
                state == ReviewState.CLAIMED,
                state == ReviewState.FOUR_EYES,
            )
        )
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    page_size = max(1, page_size or QUEUE_PAGE_SIZE)
    page = min(max(1, page), max(1, math.ceil(total / page_size)))
    query = (
        query.order_by(
            per_registration.c.worst.desc(),
            func.coalesce(per_registration.c.oldest_open, per_registration.c.oldest),
            Attempt.id,
        )
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = (await session.execute(query)).all() if total else []
    entries = [
        QueueEntry(
            attempt_id=row[0],
            registration_id=row[1],
            sitting_id=row[2],
            sitting_name=row[3],
            scheme_id=row[4],
            candidate_name=row[5],
            state=ReviewState(row[6]),
            worst_open=_SEVERITY_OF_RANK.get(row[7]),
            open_flags=row[8],
            flags=row[9],
            oldest_open_at=row[10],
            claimed_by_id=row[11],
            claim_expires_at=row[12],
        )
        for row in rows
    ]
    return QueueSlice(entries=entries, total=total, page=page, page_size=page_size)
