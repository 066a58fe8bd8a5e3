"""Fetching proctoring media: a candidate's own profile photo, and the staff's fetches of
recordings, still frames and identity photos, each written to the audit log.

Who may call which is in ``proctoring.access``; the rules about what each may see (graders only
oral answers, nothing deleted by retention) are here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import oral
from exam.models import Attempt, AttemptPart
from exam.roles import require
from proctoring.access import PROCTORS, REFUSED
from proctoring.identity import current_profile_photo
from proctoring.involvement import note_involvement
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


async def _registration_of_attempt(session: AsyncSession, attempt_id: int) -> int:
    attempt = await session.get(Attempt, attempt_id)
    assert attempt is not None
    return attempt.registration_id


async def _involved(
    session: AsyncSession, viewer: User, registration_id: int, now: datetime
) -> None:
    # Whoever looks at a candidate's proctoring takes no part in grading them.
    await note_involvement(session, registration_id=registration_id, proctor=viewer, now=now)


async def _recording_files(
    session: AsyncSession, store: MediaStore, recording: Recording, stream: int | None = None
) -> RecordingFiles:
    if recording.purged_at is not None:
        raise NotFound(_l("The recording has been deleted (its retention time ran out)."))
    files = await chunk_files(session, store, recording, stream=stream)
    if not files:
        raise NotFound(_l("Nothing of this recording has been received."))
    return RecordingFiles(recording.mime_type, files)


async def recording_for_proctor(
    session: AsyncSession,
    store: MediaStore,
    *,
    recording_id: int,
    viewer: User,
    now: datetime,
    stream: int | None = None,
) -> RecordingFiles:
    """Any recording, for a proctor (the fetch is audited); with ``stream``, the WebM file of it
    that begins with that piece (``recordings.chunk_files``)."""
    require(viewer, PROCTORS, REFUSED)
    recording = await session.get(Recording, recording_id)
    if recording is None:
        raise NotFound(_l("No such recording."))
    await _viewed(session, viewer, "proctoring.recording_viewed", "recording", recording.id)
    part = await session.get(AttemptPart, recording.attempt_part_id)
    assert part is not None
    await _involved(session, viewer, await _registration_of_attempt(session, part.attempt_id), now)
    return await _recording_files(session, store, recording, stream)


async def snapshot_for_proctor(
    session: AsyncSession, store: MediaStore, *, snapshot_id: int, viewer: User, now: datetime
) -> bytes:
    """A flag's still frame (JPEG), for a proctor (audited)."""
    require(viewer, PROCTORS, REFUSED)
    snapshot = await session.get(Snapshot, snapshot_id)
    if snapshot is None or snapshot.purged_at is not None:
        raise NotFound(_l("No such snapshot."))
    await _viewed(session, viewer, "proctoring.snapshot_viewed", "snapshot", snapshot.id)
    await _involved(
        session, viewer, await _registration_of_attempt(session, snapshot.attempt_id), now
    )
    return store.read_image(snapshot.stored_name)


async def identity_photo_for_proctor(
    session: AsyncSession,
    store: MediaStore,
    *,
    verification_id: int,
    which: str,
    viewer: User,
    now: datetime,
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
    await _involved(session, viewer, verification.registration_id, now)
    return store.read_image(name)


class OralAnswerRecordings:
    """The oral answers' recordings, for grading (``grading.answers.OralRecordings``)."""

    def __init__(self, store: MediaStore) -> None:
        self.store = store

    async def answer_of(
        self, session: AsyncSession, attempt_part_id: int, item_version_id: int, question_id: str
    ) -> RecordingFiles | None:
        """The part's answer recording: with the answer marked (``exam.oral``), the WebM file
        its start is in, through the piece of its end; else (recorded before answers were
        marked) the whole recording."""
        recording = await session.scalar(
            select(Recording).where(
                Recording.attempt_part_id == attempt_part_id, Recording.is_answer.is_(True)
            )
        )
        if recording is None or recording.purged_at is not None:
            return None
        take = await oral.answer_take(session, attempt_part_id, item_version_id, question_id)
        if take is None:
            files = await chunk_files(session, self.store, recording)
        else:
            same_file = take.end_stream == take.start_stream
            files = await chunk_files(
                session, self.store, recording, stream=take.start_stream,
                through=take.end_chunk if same_file else None,
            )  # fmt: skip
        return RecordingFiles(recording.mime_type, files) if files else None
