"""The proctoring report of a sitting: its attempts, their flags by kind and what proctors decided
(flags dismissed or confirmed, attempts cleared, cheating proposed or confirmed), and how long a
flag waited for its decision (the median)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptStatus, Registration, Sitting
from exam.roles import require
from proctoring.access import PROCTORS, REFUSED
from proctoring.models import AttemptReview, Flag, FlagDecision, FlagType, ReviewOutcome
from vakt import audit
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import _l


@dataclass(frozen=True, slots=True)
class KindCount:
    """The flags of one kind in the sitting and their decisions."""

    kind: FlagType
    total: int
    dismissed: int
    confirmed: int

    @property
    def undecided(self) -> int:
        """Flags of this kind no proctor has decided yet."""
        return self.total - self.dismissed - self.confirmed


@dataclass(frozen=True, slots=True)
class AttemptLine:
    """One attempt of the sitting on the report."""

    attempt_id: int
    registration_id: int
    candidate: str
    status: AttemptStatus
    started_at: datetime
    flags: int
    dismissed: int
    confirmed: int
    outcome: ReviewOutcome | None
    """The review's outcome (cleared, cheating proposed or confirmed); None while open."""


@dataclass(frozen=True, slots=True)
class SittingReport:
    """What the proctors saw and decided in one sitting."""

    sitting: Sitting
    attempts: list[AttemptLine]
    kinds: list[KindCount]
    """Flags by kind, the most frequent first."""
    outcomes: dict[ReviewOutcome, int]
    median_decision_seconds: float | None
    """The median time from a flag being raised to its decision; None before any decision."""

    @property
    def flags(self) -> int:
        """Every flag of the sitting."""
        return sum(kind.total for kind in self.kinds)

    @property
    def dismissed(self) -> int:
        """Flags dismissed."""
        return sum(kind.dismissed for kind in self.kinds)

    @property
    def confirmed(self) -> int:
        """Flags confirmed."""
        return sum(kind.confirmed for kind in self.kinds)


async def sitting_report(session: AsyncSession, sitting_id: int, *, viewer: User) -> SittingReport:
    """The sitting's proctoring report, for a proctor (audited: it names candidates)."""
    require(viewer, PROCTORS, REFUSED)
    sitting = await session.get(Sitting, sitting_id)
    if sitting is None:
        raise NotFound(_l("No such sitting."))
    flag_rows = (
        await session.execute(
            select(Flag.attempt_id, Flag.type, Flag.decision, Flag.created_at, Flag.decided_at)
            .join(Registration, Registration.id == Flag.registration_id)
            .where(Registration.sitting_id == sitting.id)
        )
    ).all()
    attempt_rows = (
        await session.execute(
            select(Attempt, Registration.id, User.full_name, AttemptReview.outcome)
            .join(Registration, Registration.id == Attempt.registration_id)
            .join(User, User.id == Registration.candidate_id)
            .outerjoin(AttemptReview, AttemptReview.attempt_id == Attempt.id)
            .where(Registration.sitting_id == sitting.id)
            .order_by(func.lower(User.full_name), Attempt.id)
        )
    ).all()

    per_attempt: Counter[tuple[int | None, FlagDecision | None]] = Counter()
    totals: Counter[FlagType] = Counter()
    decided: Counter[tuple[FlagType, FlagDecision]] = Counter()
    waits: list[float] = []
    for attempt_id, kind, decision, created_at, decided_at in flag_rows:
        per_attempt[(attempt_id, decision)] += 1
        totals[kind] += 1
        if decision is not None:
            decided[(kind, decision)] += 1
            if decided_at is not None:
                waits.append(max((decided_at - created_at).total_seconds(), 0.0))

    attempts = [
        AttemptLine(
            attempt_id=attempt.id,
            registration_id=registration_id,
            candidate=name,
            status=attempt.status,
            started_at=attempt.started_at,
            flags=sum(n for (a, _d), n in per_attempt.items() if a == attempt.id),
            dismissed=per_attempt[(attempt.id, FlagDecision.DISMISSED)],
            confirmed=per_attempt[(attempt.id, FlagDecision.CONFIRMED)],
            outcome=outcome,
        )
        for attempt, registration_id, name, outcome in attempt_rows
    ]
    kinds = sorted(
        (
            KindCount(
                kind=kind,
                total=total,
                dismissed=decided[(kind, FlagDecision.DISMISSED)],
                confirmed=decided[(kind, FlagDecision.CONFIRMED)],
            )
            for kind, total in totals.items()
        ),
        key=lambda count: (-count.total, count.kind.value),
    )
    outcomes = Counter(line.outcome for line in attempts if line.outcome is not None)
    await audit.record(
        session,
        actor_id=viewer.id,
        action="proctoring.sitting_report_viewed",
        entity_type="sitting",
        entity_id=sitting.id,
    )
    return SittingReport(
        sitting=sitting,
        attempts=attempts,
        kinds=kinds,
        outcomes={outcome: outcomes[outcome] for outcome in ReviewOutcome},
        median_decision_seconds=statistics.median(waits) if waits else None,
    )
