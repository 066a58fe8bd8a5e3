"""Retention: recordings, snapshots and check-in photos are deleted a set time after the result
and any appeal are final. Oral answers are answers: they follow the results' retention instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart
from proctoring.models import IdentityVerification, Recording, Snapshot
from proctoring.storage import MediaStore
from vakt import audit


@dataclass
class PurgeReport:
    """What a retention run deleted (or, in a dry run, would delete)."""

    recordings: list[int] = field(default_factory=list)
    snapshots: list[int] = field(default_factory=list)
    identity_photos: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many things in all."""
        return len(self.recordings) + len(self.snapshots) + len(self.identity_photos)


def final_before(now: datetime, *, appeal_days: int, retention_days: int) -> datetime:
    """Results released before this moment are past their appeal window and retention time.

    Appeals themselves are not in the system yet; the window after the result is what counts.
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
) -> PurgeReport:
    """Delete the media whose retention has run out; one audit entry describes the run."""
    cutoff = final_before(now, appeal_days=appeal_days, retention_days=retention_days)
    expired_attempts = select(Attempt.id).where(
        Attempt.results_released_at.is_not(None), Attempt.results_released_at <= cutoff
    )
    report = PurgeReport()
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
            },
        )
    return report
