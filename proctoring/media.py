"""Fetching proctoring media: a candidate's own profile photo, and the staff's fetches of
recordings, still frames and identity photos, each written to the audit log.

Who may call which is in ``proctoring.access``; the rules about what each may see (graders only
oral answers, nothing deleted by retention) are here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from exam.roles import require
from proctoring.access import ORAL_ANSWER_GRADERS, PROCTORS, REFUSED
from proctoring.identity import current_profile_photo
from proctoring.models import IdentityVerification, ProfilePhoto, Recording, Snapshot
from proctoring.recordings import chunk_files
from proctoring.storage import MediaStore
from vakt import audit
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import _l


@dataclass(frozen=True)
class RecordingFiles:
    """A recording to send: its type and its chunk files in order (one WebM stream)."""

    mime_type: str
    files: list[Path]


async def own_profile_photo(session: AsyncSession, store: MediaStore, candidate: User) -> bytes:
    """The candidate's own current profile photo (JPEG)."""
    photo = await current_profile_photo(session, candidate.id)
    if photo is None:
        raise NotFound(_l("You have no profile photo yet."))
    return store.read_image(photo.stored_name)


async def _viewed(
    session: AsyncSession, viewer: User, action: str, entity_type: str, entity_id: int
) -> None:
    await audit.record(
        session,
        actor_id=viewer.id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
    )


async def _recording_files(
    session: AsyncSession, store: MediaStore, recording: Recording
) -> RecordingFiles:
    if recording.purged_at is not None:
        raise NotFound(_l("The recording has been deleted (its retention time ran out)."))
    files = await chunk_files(session, store, recording)
    if not files:
        raise NotFound(_l("Nothing of this recording has been received."))
    return RecordingFiles(recording.mime_type, files)


async def recording_for_proctor(
    session: AsyncSession, store: MediaStore, *, recording_id: int, viewer: User
) -> RecordingFiles:
    """Any recording, for a proctor (the fetch is audited)."""
    require(viewer, PROCTORS, REFUSED)
    recording = await session.get(Recording, recording_id)
    if recording is None:
        raise NotFound(_l("No such recording."))
    await _viewed(session, viewer, "proctoring.recording_viewed", "recording", recording.id)
    return await _recording_files(session, store, recording)


async def oral_answer_for_grader(
    session: AsyncSession, store: MediaStore, *, recording_id: int, viewer: User
) -> RecordingFiles:
    """A recording that is an oral answer, for a grader (audited); any other is not found."""
    require(viewer, ORAL_ANSWER_GRADERS, REFUSED)
    recording = await session.get(Recording, recording_id)
    if recording is None or not recording.is_answer:
        raise NotFound(_l("No such recording."))
    await _viewed(session, viewer, "grading.oral_answer_viewed", "recording", recording.id)
    return await _recording_files(session, store, recording)


async def snapshot_for_proctor(
    session: AsyncSession, store: MediaStore, *, snapshot_id: int, viewer: User
) -> bytes:
    """A flag's still frame (JPEG), for a proctor (audited)."""
    require(viewer, PROCTORS, REFUSED)
    snapshot = await session.get(Snapshot, snapshot_id)
    if snapshot is None or snapshot.purged_at is not None:
        raise NotFound(_l("No such snapshot."))
    await _viewed(session, viewer, "proctoring.snapshot_viewed", "snapshot", snapshot.id)
    return store.read_image(snapshot.stored_name)


async def identity_photo_for_proctor(
    session: AsyncSession,
    store: MediaStore,
    *,
    verification_id: int,
    which: str,
    viewer: User,
) -> bytes:
    """One of the two photos of a check-in (JPEG), ``live`` or ``profile``, for a proctor
    (audited)."""
    require(viewer, PROCTORS, REFUSED)
    verification = await session.get(IdentityVerification, verification_id)
    if verification is None:
        raise NotFound(_l("No such identity check."))
    if which == "live":
        name = verification.live_photo_name
    elif which == "profile" and verification.profile_photo_id is not None:
        profile = await session.get(ProfilePhoto, verification.profile_photo_id)
        name = profile.stored_name if profile else None
    else:
        name = None
    if name is None:
        raise NotFound(_l("No such photo."))
    await _viewed(
        session,
        viewer,
        f"proctoring.{which}_photo_viewed",
        "identity_verification",
        verification.id,
    )
    return store.read_image(name)
