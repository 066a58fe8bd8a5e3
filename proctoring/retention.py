"""Retention: recordings, snapshots and check-in photos are deleted a set time after the result
and any appeal are final. Oral answers are answers: they follow the results' retention instead
(nothing deletes answers, typed or oral, so far).

The time runs from the release of the result plus the appeal window. A registration with an
appeal is held past that: while the appeal is open, and for the retention time after it ended.
Appeals are certification's knowledge, told to proctoring through ``AppealHolds`` (filled by
``certification.retention_holds.AppealMediaHolds``, wired in ``web.app.create_app`` and in the
``vakt recordings purge`` command).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart
from proctoring.models import IdentityVerification, Recording, Snapshot
from proctoring.storage import MediaStore
from vakt import audit


class AppealHolds(Protocol):
    """Registrations whose media must be kept because of an appeal."""

    async def held_registrations(
        self, session: AsyncSession, *, now: datetime, retention_days: int
    ) -> Set[int]:
        """The registrations held at ``now``: with an appeal still open, or one that ended
        less than ``retention_days`` ago."""
        ...


class NoAppealHolds:
    """Holds where no other domain holds anything (proctoring on its own, in tests)."""

    async def held_registrations(
        self, session: AsyncSession, *, now: datetime, retention_days: int
    ) -> Set[int]:
        """Nothing is held."""
        return frozenset()


NO_APPEAL_HOLDS = NoAppealHolds()
"""The default of ``purge_expired``: nothing held."""


@dataclass
class PurgeReport:
    """What a retention run deleted (or, in a dry run, would delete)."""

    recordings: list[int] = field(default_factory=list)
    snapshots: list[int] = field(default_factory=list)
    identity_photos: list[int] = field(default_factory=list)
    held_registrations: list[int] = field(default_factory=list)
    """Registrations whose media would have expired but are kept for an appeal."""

    @property
    def total(self) -> int:
        """How many things in all."""
        return len(self.recordings) + len(self.snapshots) + len(self.identity_photos)


def final_before(now: datetime, *, appeal_days: int, retention_days: int) -> datetime:
    """Results released before this moment are past their appeal window and retention time.

    An appeal filed within the window holds its registration longer (``AppealHolds``).
    """
    return now - timedelta(days=appeal_days + retention_days)


async def purge_expired(
    session: AsyncSession,
    store: MediaStore,
    *,
    now: datetime,
    appeal_days: int,
    retention_days: int,
    actor_id: int | None = None,
    dry_run: bool = False,
    holds: AppealHolds = NO_APPEAL_HOLDS,
) -> PurgeReport:
    """Delete the media whose retention has run out, except the registrations ``holds`` keeps
    for an appeal; one audit entry describes the run."""
    cutoff = final_before(now, appeal_days=appeal_days, retention_days=retention_days)
    held = sorted(await holds.held_registrations(session, now=now, retention_days=retention_days))
    released_before = (
        Attempt.results_released_at.is_not(None),
        Attempt.results_released_at <= cutoff,
    )
    expired_attempts = select(Attempt.id).where(*released_before)
    report = PurgeReport()
    if held:
        report.held_registrations = list(
            await session.scalars(
                select(Attempt.registration_id)
                .where(*released_before, Attempt.registration_id.in_(held))
                .distinct()
                .order_by(Attempt.registration_id)
            )
        )
        expired_attempts = expired_attempts.where(Attempt.registration_id.not_in(held))
    recordings = await session.scalars(
        select(Recording)
        .join(AttemptPart, AttemptPart.id == Recording.attempt_part_id)
        .where(
            AttemptPart.attempt_id.in_(expired_attempts),
            Recording.purged_at.is_(None),
            Recording.is_answer.is_(False),
        )
    )
    for recording in recordings:
        report.recordings.append(recording.id)
        if not dry_run:
            store.delete_recording(recording.storage_key)
            recording.purged_at = now
    snapshots = await session.scalars(
        select(Snapshot).where(
            Snapshot.attempt_id.in_(expired_attempts), Snapshot.purged_at.is_(None)
        )
    )
    for snapshot in snapshots:
        report.snapshots.append(snapshot.id)
        if not dry_run:
            store.delete_image(snapshot.stored_name)
            snapshot.purged_at = now
    verifications = await session.scalars(
        select(IdentityVerification).where(
            IdentityVerification.registration_id.in_(
                select(Attempt.registration_id).where(Attempt.id.in_(expired_attempts))
            ),
            IdentityVerification.purged_at.is_(None),
            IdentityVerification.live_photo_name.is_not(None),
        )
    )
    for verification in verifications:
        report.identity_photos.append(verification.id)
        if not dry_run:
            assert verification.live_photo_name is not None
            store.delete_image(verification.live_photo_name)
            verification.live_photo_name = None
            verification.purged_at = now
    if report.total and not dry_run:
        await audit.record(
            session,
            actor_id=actor_id,
            action="proctoring.media_purged",
            entity_type="retention",
            entity_id=now.date().isoformat(),
            after={
                "results_final_before": cutoff,
                "recordings": report.recordings,
                "snapshots": report.snapshots,
                "identity_photos": report.identity_photos,
                "held_for_appeals": report.held_registrations,
            },
        )
    return report
