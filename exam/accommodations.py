"""Requests for accommodation (extra time or other arrangements) and the staff's decisions."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.lookups import get_sitting, own_registration
from exam.models import Accommodation, DecisionStatus, Sitting
from exam.roles import EXAM_ADMINISTRATORS, require
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import Moment, _l

ACCOMMODATION_NOTICE = timedelta(days=7)
"""Requests for accommodation must reach the body at least this long before the sitting."""


MAX_EXTRA_TIME_PERCENT = 200


async def request_accommodation(
    session: AsyncSession,
    *,
    registration_id: int,
    candidate: User,
    extra_time_percent: int,
    reason: str,
    other_needs: str = "",
    now: datetime,
) -> Accommodation:
    """A candidate asks for accommodation; refused later than 7 days before the sitting opens."""
    registration = await own_registration(session, registration_id, candidate)
    sitting = await get_sitting(session, registration.sitting_id)
    if not may_still_request(sitting, now):
        raise Conflict(
            _l(
                "Requests for accommodation must arrive at least 7 days before the sitting "
                "(by {deadline})."
            ),
            deadline=Moment(request_deadline(sitting)),
        )
    if not 0 <= extra_time_percent <= MAX_EXTRA_TIME_PERCENT:
        raise VaktError(
            _l("Extra time must be between 0 and {max} %."),
            field="extra_time_percent",
            max=MAX_EXTRA_TIME_PERCENT,
        )
    if not reason.strip():
        raise VaktError(_l("Give the reason for the request."), field="reason")
    if extra_time_percent == 0 and not other_needs.strip():
        raise VaktError(
            _l("Say what you need: extra time or another arrangement."), field="other_needs"
        )
    accommodation = Accommodation(
        registration_id=registration.id,
        extra_time_percent=extra_time_percent,
        other_needs=other_needs.strip(),
        reason=reason.strip(),
        requested_at=now,
    )
    session.add(accommodation)
    await session.flush()
    await audit.record(
        session,
        actor_id=candidate.id,
        action="accommodation.request",
        entity_type="accommodation",
        entity_id=accommodation.id,
        after={"extra_time_percent": extra_time_percent},
    )
    return accommodation


async def decide_accommodation(
    session: AsyncSession,
    *,
    accommodation_id: int,
    approve: bool,
    actor: User,
    now: datetime,
    note: str = "",
) -> Accommodation:
    """Staff approve or reject a request for accommodation."""
    require(
        actor,
        EXAM_ADMINISTRATORS,
        _l("Only the certification body's staff decide on accommodations."),
    )
    accommodation = await session.get(Accommodation, accommodation_id)
    if accommodation is None:
        raise NotFound(_l("No such request."))
    if accommodation.status != DecisionStatus.PENDING:
        raise Conflict(_l("This request has been decided already."))
    accommodation.status = DecisionStatus.APPROVED if approve else DecisionStatus.REJECTED
    accommodation.decided_by_id = actor.id
    accommodation.decided_at = now
    accommodation.decision_note = note
    await audit.record(
        session,
        actor_id=actor.id,
        action="accommodation.decide",
        entity_type="accommodation",
        entity_id=accommodation.id,
        before={"status": "pending"},
        after={"status": accommodation.status},
    )
    return accommodation


async def approved_extra_time(session: AsyncSession, registration_id: int) -> int:
    """The extra time (percent) approved for a registration; the largest if several."""
    values = (
        await session.scalars(
            select(Accommodation.extra_time_percent).where(
                Accommodation.registration_id == registration_id,
                Accommodation.status == DecisionStatus.APPROVED,
            )
        )
    ).all()
    return max(values, default=0)


def request_deadline(sitting: Sitting) -> datetime:
    """The last moment a request for accommodation for this sitting is taken."""
    deadline: datetime = sitting.opens_at - ACCOMMODATION_NOTICE
    return deadline


def may_still_request(sitting: Sitting, now: datetime) -> bool:
    """True until the deadline for requests for accommodation."""
    return now <= request_deadline(sitting)
