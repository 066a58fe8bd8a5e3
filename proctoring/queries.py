"""What the proctor pages show, read in one call per page: the attempts with their flags and live
state, and one candidate's identity checks, flags and recordings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart, Registration, Sitting
from proctoring.flags import flags_of_registration
from proctoring.involvement import note_involvement
from proctoring.models import (
    Flag,
    IdentityVerification,
    LiveChannel,
    Recording,
    Severity,
)
from proctoring.recordings import recordings_of_registration
from proctoring.service import live_state
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import _l

OVERVIEW_LIMIT = 200
"""How many attempts the overview shows (the newest)."""


@dataclass(frozen=True)
class AttemptOverview:
    """One attempt on the proctors' overview."""

    attempt: Attempt
    registration: Registration
    sitting: Sitting
    candidate: User
    flags: int
    """How many flags the registration has."""
    high: int
    """How many of them are of high severity."""
    live: LiveChannel | None
    verification: IdentityVerification | None
    """The newest identity check."""


async def attempts_overview(
    session: AsyncSession, *, limit: int = OVERVIEW_LIMIT
) -> list[AttemptOverview]:
    """The attempts, newest first, with their flag counts, live state and identity check."""
    flag_counts = (
        select(
            Flag.registration_id,
            func.count().label("total"),
            func.count().filter(Flag.severity == Severity.HIGH).label("high"),
        )
        .group_by(Flag.registration_id)
        .subquery()
    )
    latest_check = (
        select(func.max(IdentityVerification.id).label("id"), IdentityVerification.registration_id)
        .group_by(IdentityVerification.registration_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Attempt,
            Registration,
            Sitting,
            User,
            LiveChannel,
            IdentityVerification,
            flag_counts.c.total,
            flag_counts.c.high,
        )
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .join(User, User.id == Registration.candidate_id)
        .outerjoin(LiveChannel, LiveChannel.registration_id == Registration.id)
        .outerjoin(latest_check, latest_check.c.registration_id == Registration.id)
        .outerjoin(IdentityVerification, IdentityVerification.id == latest_check.c.id)
        .outerjoin(flag_counts, flag_counts.c.registration_id == Registration.id)
        .order_by(Attempt.started_at.desc())
        .limit(limit)
    )
    return [
        AttemptOverview(
            attempt=attempt,
            registration=registration,
            sitting=sitting,
            candidate=candidate,
            flags=total or 0,
            high=high or 0,
            live=live,
            verification=verification,
        )
        for attempt, registration, sitting, candidate, live, verification, total, high in rows
    ]


@dataclass(frozen=True)
class RegistrationReview:
    """Everything a proctor reviews of one registration."""

    registration: Registration
    sitting: Sitting | None
    candidate: User | None
    attempt: Attempt | None
    verifications: list[IdentityVerification]
    """Its identity checks, oldest first."""
    flags: list[Flag]
    recordings: list[tuple[Recording, AttemptPart]]
    live: LiveChannel | None
    parts: dict[int, AttemptPart]
    """The attempt's parts by id (where each flag's evidence lies in the recording)."""


async def registration_review(
    session: AsyncSession, registration_id: int, *, viewer: User, now: datetime
) -> RegistrationReview:
    """The registration's identity checks, flags, recordings and live state; a 404 when there is
    no such registration. The viewer is noted as having proctored the candidate (they take no
    part in grading them)."""
    registration = await session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(_l("No such registration."))
    await note_involvement(session, registration_id=registration.id, proctor=viewer, now=now)
    sitting = await session.get(Sitting, registration.sitting_id)
    candidate = await session.get(User, registration.candidate_id)
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == registration.id)
    )
    verifications = list(
        await session.scalars(
            select(IdentityVerification)
            .where(IdentityVerification.registration_id == registration.id)
            .order_by(IdentityVerification.checked_at)
        )
    )
    parts = (
        {
            part.id: part
            for part in await session.scalars(
                select(AttemptPart).where(AttemptPart.attempt_id == attempt.id)
            )
        }
        if attempt
        else {}
    )
    return RegistrationReview(
        registration=registration,
        sitting=sitting,
        candidate=candidate,
        attempt=attempt,
        verifications=verifications,
        flags=await flags_of_registration(session, registration.id),
        recordings=await recordings_of_registration(session, registration.id),
        live=await live_state(session, registration.id),
        parts=parts,
    )
