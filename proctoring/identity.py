"""Who is at the camera: the profile photo, the check-in photo, and the identity check that the
exam flow asks before it starts (``exam.checkin.IdentityCheck``).

A doubtful match never blocks by itself: the candidate goes on, the check is ``REFERRED`` and
flagged, and a proctor decides.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.checkin import IdentityStatus
from exam.models import Attempt, AttemptStatus, Registration
from proctoring import analysis, flags
from proctoring.models import (
    FlagSource,
    FlagType,
    IdentityReason,
    IdentityVerification,
    ProfilePhoto,
)
from proctoring.service import context_of, policy_for_registration
from proctoring.storage import MediaStore
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, VaktError
from vakt.i18n import _l

MAX_PHOTO_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class PhotoFacts:
    """What the analysis found in a photo."""

    face_count: int
    descriptor: tuple[float, ...] | None
    """The face descriptor when exactly one face was found."""


@functools.cache
def face_identifier() -> analysis.FaceIdentifier:
    """This process's face identifier (its models load once, on first use)."""
    return analysis.FaceIdentifier()


def describe_photo(data: bytes) -> PhotoFacts:
    """Decode a photo and describe its face (CPU-bound: run it in an executor)."""
    image = analysis.decode_image(data)
    description = face_identifier().describe(image)
    descriptor = (
        tuple(float(x) for x in description.descriptor)
        if description.descriptor is not None
        else None
    )
    return PhotoFacts(description.face_count, descriptor)


def descriptor_distance(first: Sequence[float], second: Sequence[float]) -> float:
    """Euclidean distance between two face descriptors (smaller: more alike)."""
    return math.dist(first, second)


def check_photo_size(data: bytes) -> None:
    """Refuse an empty or oversized photo before any work is done on it."""
    if not data:
        raise VaktError(_l("Take a photo first."), field="photo", status_code=422)
    if len(data) > MAX_PHOTO_BYTES:
        raise VaktError(
            _l("The photo is too large (at most 5 MB)."), field="photo", status_code=413
        )


async def current_profile_photo(session: AsyncSession, account_id: int) -> ProfilePhoto | None:
    """The candidate's newest profile photo."""
    photo: ProfilePhoto | None = await session.scalar(
        select(ProfilePhoto)
        .where(ProfilePhoto.account_id == account_id)
        .order_by(ProfilePhoto.taken_at.desc(), ProfilePhoto.id.desc())
        .limit(1)
    )
    return photo


async def save_profile_photo(
    session: AsyncSession,
    store: MediaStore,
    *,
    candidate: User,
    data: bytes,
    facts: PhotoFacts,
    now: datetime,
) -> ProfilePhoto:
    """Keep a new profile photo: exactly one face, and not while an exam is running."""
    if facts.face_count == 0 or (facts.descriptor is None and facts.face_count < 2):
        raise VaktError(
            _l(
                "No face was found in the photo. Sit facing the camera in good light, with your "
                "whole face visible, and take the photo again."
            ),
            field="photo",
            status_code=422,
        )
    if facts.face_count > 1:
        raise VaktError(
            _l("The photo shows more than one face. Only you may be in the picture."),
            field="photo",
            status_code=422,
        )
    running = await session.scalar(
        select(Attempt.id)
        .join(Registration, Registration.id == Attempt.registration_id)
        .where(
            Registration.candidate_id == candidate.id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
        .limit(1)
    )
    if running is not None:
        raise Conflict(_l("The profile photo cannot be changed while an exam is running."))
    assert facts.descriptor is not None
    photo = ProfilePhoto(
        account_id=candidate.id,
        stored_name=store.write_image(data),
        descriptor=list(facts.descriptor),
        taken_at=now,
    )
    session.add(photo)
    await session.flush()
    await audit.record(
        session,
        actor_id=candidate.id,
        action="proctoring.profile_photo_taken",
        entity_type="profile_photo",
        entity_id=photo.id,
        after={"account_id": candidate.id},
    )
    return photo


async def verify_identity(
    session: AsyncSession,
    store: MediaStore,
    *,
    registration: Registration,
    candidate: User,
    data: bytes,
    facts: PhotoFacts,
    now: datetime,
) -> IdentityVerification:
    """Compare the check-in photo with the profile photo and keep the score and the outcome."""
    context = await context_of(session, registration.id)
    threshold = context.policy.identity_threshold
    profile = await current_profile_photo(session, candidate.id)
    distance = None
    if profile is None:
        reason = IdentityReason.NO_PROFILE_PHOTO
    elif facts.face_count == 0:
        reason = IdentityReason.NO_FACE
    elif facts.face_count > 1:
        reason = IdentityReason.SEVERAL_FACES
    else:
        assert facts.descriptor is not None
        distance = descriptor_distance(facts.descriptor, profile.descriptor)
        reason = IdentityReason.MATCH if distance <= threshold else IdentityReason.NO_MATCH
    outcome = IdentityStatus.PASSED if reason is IdentityReason.MATCH else IdentityStatus.REFERRED
    verification = IdentityVerification(
        registration_id=registration.id,
        profile_photo_id=profile.id if profile else None,
        live_photo_name=store.write_image(data),
        face_count=facts.face_count,
        distance=distance,
        threshold=threshold,
        outcome=outcome,
        reason=reason,
        checked_at=now,
    )
    session.add(verification)
    await session.flush()
    await audit.record(
        session,
        actor_id=candidate.id,
        action="proctoring.identity_checked",
        entity_type="identity_verification",
        entity_id=verification.id,
        after={
            "registration_id": registration.id,
            "distance": distance,
            "threshold": threshold,
            "outcome": outcome.value,
            "reason": reason,
        },
    )
    if outcome is IdentityStatus.REFERRED:
        await flags.raise_flag(
            session,
            policy=context.policy,
            flag_type=FlagType.IDENTITY_DOUBTFUL,
            source=FlagSource.IDENTITY,
            registration_id=registration.id,
            attempt_id=context.attempt.id if context.attempt else None,
            attempt_part_id=None,
            started_at=now,
            ended_at=now,
            evidence={"verification_id": verification.id, "distance": distance, "reason": reason},
        )
    return verification


async def latest_verification(
    session: AsyncSession, registration_id: int
) -> IdentityVerification | None:
    """The registration's newest identity check."""
    verification: IdentityVerification | None = await session.scalar(
        select(IdentityVerification)
        .where(IdentityVerification.registration_id == registration_id)
        .order_by(IdentityVerification.checked_at.desc(), IdentityVerification.id.desc())
        .limit(1)
    )
    return verification


class PhotoIdentityCheck:
    """The identity check the exam flow asks (``exam.checkin.IdentityCheck``)."""

    async def status(self, session: AsyncSession, registration: Registration) -> IdentityStatus:
        """PASSED or REFERRED once the check-in photo is taken; TO_DO before; NOT_REQUIRED when
        the scheme is not proctored."""
        if not (await policy_for_registration(session, registration)).enabled:
            return IdentityStatus.NOT_REQUIRED
        verification = await latest_verification(session, registration.id)
        if verification is None:
            return IdentityStatus.TO_DO
        return verification.outcome

    def page_url(self, registration: Registration) -> str:
        """The check-in photo page."""
        return f"/exam/{registration.id}/identity"
