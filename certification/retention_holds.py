"""What certification tells proctoring's retention (``proctoring.retention.AppealHolds``): the
recordings, snapshots and check-in photos of a registration with an appeal are evidence of the
appeal, so they are kept while it is open and for the retention time after it ended.

An appeal is open while it is received or in review, and when upheld until the new decision
replaces the appealed one. It ended when rejected (``handled_at``) or, upheld, when the new
decision was made.

A registration whose result or decision can still be appealed under its scheme's rules is held
too: a scheme may give longer to appeal than the retention time the purge counts with, and the
evidence must outlast the chance to appeal."""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from certification.models import Appeal, CertificationDecision
from certification.policy import rules_for_scheme
from certification.schemas import AppealStatus
from exam.models import Attempt, Registration, Sitting
from itembank.models import Scheme


class AppealMediaHolds:
    """Registrations whose proctoring media an appeal keeps (``proctoring.retention``)."""

    async def held_registrations(
        self, session: AsyncSession, *, now: datetime, retention_days: int
    ) -> Set[int]:
        """The registrations with an appeal open at ``now``, or one that ended less than
        ``retention_days`` before it."""
        ended_after = now - timedelta(days=retention_days)
        rows = await session.scalars(
            select(Appeal.registration_id)
            .outerjoin(CertificationDecision, CertificationDecision.id == Appeal.new_decision_id)
            .where(
                or_(
                    Appeal.status.in_([AppealStatus.RECEIVED, AppealStatus.IN_REVIEW]),
                    and_(Appeal.status == AppealStatus.UPHELD, Appeal.new_decision_id.is_(None)),
                    and_(
                        Appeal.status == AppealStatus.UPHELD,
                        CertificationDecision.decided_at > ended_after,
                    ),
                    # A rejected appeal without a time is treated as ended now: kept, not lost.
                    and_(
                        Appeal.status == AppealStatus.REJECTED,
                        or_(Appeal.handled_at.is_(None), Appeal.handled_at > ended_after),
                    ),
                )
            )
            .distinct()
        )
        return frozenset(rows) | await _still_appealable(session, now)


async def _still_appealable(session: AsyncSession, now: datetime) -> set[int]:
    """Registrations sent a result or decision within their scheme's days to appeal (a day more,
    so no time zone shortens the last day)."""
    held: set[int] = set()
    for scheme_id in await session.scalars(select(Scheme.id)):
        rules = await rules_for_scheme(session, scheme_id)
        since = now - timedelta(days=rules.appeal_days + 1)
        in_scheme = select(Sitting.id).where(Sitting.scheme_id == scheme_id)
        sent = union(
            select(Attempt.registration_id).where(Attempt.results_released_at > since),
            select(CertificationDecision.registration_id).where(
                CertificationDecision.decided_at > since
            ),
        ).subquery()
        rows = await session.scalars(
            select(Registration.id).where(
                Registration.sitting_id.in_(in_scheme),
                Registration.id.in_(select(sent.c.registration_id)),
            )
        )
        held.update(rows)
    return held
