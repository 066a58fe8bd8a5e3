"""Recordings: the browser's numbered WebM chunks, stored as they came, gaps known and flagged.

The browser records with MediaRecorder and uploads every few seconds; the concatenation of the
chunks in order is the WebM file (chunk 0 carries the header). An upload is idempotent: the same
bytes under the same index are acknowledged again; different bytes under a used index are
refused. Nothing is transcoded.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart, Registration, Sitting
from proctoring import flags, webm
from proctoring.models import FlagSource, FlagType, Recording, RecordingChunk
from proctoring.schemas import Policy
from proctoring.service import policy_for_scheme
from proctoring.storage import MediaStore
from vakt import audit
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l

logger = logging.getLogger(__name__)

LATE_UPLOAD_WINDOW = timedelta(hours=24)
"""How long after a part ended chunks kept offline by the browser are still taken."""
GAP_CHECK_DELAY = timedelta(minutes=2)
"""How long after a hand-in the gap check waits for the last chunks, when not told the end."""


def chunk_at(part_started: datetime, moment: datetime, policy: Policy) -> int:
    """The recording chunk that holds ``moment`` (the recorder starts with the part)."""
    return max(0, int((moment - part_started).total_seconds() // policy.chunk_seconds))


class ChunkTooLarge(VaktError):
    """An upload over the size limit."""

    status_code = 413


class NotWebM(VaktError):
    """An upload that is not WebM."""

    status_code = 415


def _check(recording: Recording, index: int, data: bytes) -> webm.ScanState | None:
    """The scan state after this chunk, or None when the chunk it continues has not arrived yet
    (it is checked when it has). Raises ``NotWebM`` for bytes that are not WebM."""
    try:
        if webm.starts_stream(data):
            return webm.scan(webm.ScanState(), data)
        if index == 0:
            raise webm.NotWebMError("a recording begins with the WebM header")
        if index == recording.scanned_through + 1:
            return webm.scan(webm.ScanState.from_json(recording.scan_state), data)
    except webm.NotWebMError:
        raise NotWebM(_l("The recording is not a WebM video.")) from None
    return None


async def _check_waiting(session: AsyncSession, store: MediaStore, recording: Recording) -> None:
    """Check the chunks that arrived early, now that the ones before them are here."""
    while True:
        following = await session.get(RecordingChunk, (recording.id, recording.scanned_through + 1))
        if following is None:
            return
        path = store.chunk_path(recording.storage_key, following.index, following.sha256)
        try:
            state = webm.scan(webm.ScanState.from_json(recording.scan_state), path.read_bytes())
        except (webm.NotWebMError, OSError):
            logger.warning(
                "recording %d: chunk %d is not WebM; it is dropped", recording.id, following.index
            )
            await session.delete(following)
            path.unlink(missing_ok=True)
            recording.chunk_count -= 1
            recording.total_bytes -= following.size
            return
        following.verified = True
        recording.scanned_through, recording.scan_state = following.index, state.to_json()


async def prepare_recording(
    session: AsyncSession, *, part: AttemptPart, is_answer: bool, now: datetime
) -> Recording:
    """Make the recording of a part that has just started (the watchdog then expects chunks)."""
    recording = await session.scalar(select(Recording).where(Recording.attempt_part_id == part.id))
    if recording is not None:
        return recording
    recording = Recording(
        attempt_part_id=part.id,
        storage_key=MediaStore.new_key(),
        is_answer=is_answer,
        started_at=now,
        chunk_count=0,
        total_bytes=0,
        scanned_through=-1,
        scan_state={},
    )
    session.add(recording)
    await session.flush()
    await audit.record(
        session,
        actor_id=None,
        action="proctoring.recording_started",
        entity_type="recording",
        entity_id=recording.id,
        after={"attempt_part_id": part.id, "is_answer": is_answer},
    )
    return recording


@dataclass(frozen=True)
class ChunkReceipt:
    """What the server holds after an upload."""

    created: bool
    missing: list[int]


async def accept_chunk(
    session: AsyncSession,
    store: MediaStore,
    *,
    part: AttemptPart,
    policy: Policy,
    index: int,
    data: bytes,
    now: datetime,
) -> ChunkReceipt:
    """Store one chunk of a part's recording; see the module docstring for the rules."""
    if not 0 <= index <= 100_000:
        raise VaktError(_l("The chunk number is not valid."), field="index", status_code=422)
    if not data:
        raise VaktError(_l("The chunk is empty."), status_code=422)
    if len(data) > policy.max_chunk_bytes:
        raise ChunkTooLarge(
            _l("The chunk is larger than {limit} bytes."), limit=policy.max_chunk_bytes
        )
    recording = await session.scalar(
        select(Recording).where(Recording.attempt_part_id == part.id).with_for_update()
    )
    if recording is None:
        recording = await prepare_recording(session, part=part, is_answer=False, now=now)
    ended = part.submitted_at or part.deadline
    if now > ended + LATE_UPLOAD_WINDOW:
        raise Conflict(_l("The recording of this part is closed."))
    if recording.last_index is not None and index > recording.last_index:
        raise Conflict(_l("The recording of this part has ended."))
    if recording.purged_at is not None:
        raise Conflict(_l("The recording of this part has been deleted."))
    digest = hashlib.sha256(data).hexdigest()
    existing = await session.get(RecordingChunk, (recording.id, index))
    if existing is not None:
        if existing.sha256 != digest:
            raise Conflict(_l("A different chunk with this number has already been received."))
        return ChunkReceipt(False, await missing_chunks(session, recording))
    state = _check(recording, index, data)
    store.write_chunk(recording.storage_key, index, digest, data)
    session.add(
        RecordingChunk(
            recording_id=recording.id,
            index=index,
            size=len(data),
            sha256=digest,
            verified=state is not None,
            received_at=now,
        )
    )
    # The row is locked (FOR UPDATE above): plain updates cannot lose a concurrent upload.
    recording.chunk_count += 1
    recording.total_bytes += len(data)
    recording.last_chunk_at = now
    if state is not None and index > recording.scanned_through:
        recording.scanned_through, recording.scan_state = index, state.to_json()
    await session.flush()
    await _check_waiting(session, store, recording)
    await session.flush()
    return ChunkReceipt(True, await missing_chunks(session, recording))


async def missing_chunks(
    session: AsyncSession, recording: Recording, limit: int = 100
) -> list[int]:
    """Indexes not received below the highest received (or the declared last) index."""
    of_recording = RecordingChunk.recording_id == recording.id
    count, highest = (
        await session.execute(
            select(func.count(), func.max(RecordingChunk.index)).where(of_recording)
        )
    ).one()
    top = recording.last_index if recording.last_index is not None else highest
    if top is None or count == top + 1:
        return []  # every upload asks: answer the usual case without reading every index
    received = set(await session.scalars(select(RecordingChunk.index).where(of_recording)))
    return missing_indexes(received, top, limit=limit)


def missing_indexes(received: set[int], top: int, *, limit: int = 100) -> list[int]:
    """The first ``limit`` chunk numbers from 0 to ``top`` that are not in ``received``."""
    return [i for i in range(top + 1) if i not in received][:limit]


async def finish_recording(
    session: AsyncSession, *, part: AttemptPart, last_index: int, now: datetime
) -> Recording:
    """The browser says the recording of this part ended with chunk ``last_index``."""
    recording = await session.scalar(
        select(Recording).where(Recording.attempt_part_id == part.id).with_for_update()
    )
    if recording is None:
        raise NotFound(_l("This part has no recording."))
    if recording.last_index is not None and recording.last_index != last_index:
        raise Conflict(_l("The recording has already ended with another chunk."))
    if recording.last_index is None:
        recording.last_index, recording.finished_at = last_index, now
        await audit.record(
            session,
            actor_id=None,
            action="proctoring.recording_finished",
            entity_type="recording",
            entity_id=recording.id,
            after={"last_index": last_index, "chunks": recording.chunk_count},
        )
    return recording


@dataclass(frozen=True)
class RecordingEnd:
    """Where a recording stands once the browser has said it ended."""

    last_index: int | None
    missing: list[int]


async def end_recording(
    session: AsyncSession, *, part: AttemptPart, last_index: int, now: datetime
) -> RecordingEnd:
    """Note that the part's recording ended with chunk ``last_index`` (``finish_recording``),
    and say which chunks are still missing."""
    recording = await finish_recording(session, part=part, last_index=last_index, now=now)
    return RecordingEnd(recording.last_index, await missing_chunks(session, recording))


async def _chunk_paths(
    session: AsyncSession, store: MediaStore, recording: Recording
) -> list[tuple[int, Path]]:
    rows = await session.execute(
        select(RecordingChunk.index, RecordingChunk.sha256)
        .where(RecordingChunk.recording_id == recording.id)
        .order_by(RecordingChunk.index)
    )
    return [(index, store.chunk_path(recording.storage_key, index, sha)) for index, sha in rows]


def _starts_stream(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return webm.starts_stream(handle.read(len(webm.EBML_MAGIC)))
    except OSError:
        return False


async def stream_starts(
    session: AsyncSession, store: MediaStore, recording: Recording
) -> list[int]:
    """The pieces that begin a WebM file: the first, and the first after each time the
    candidate's recorder started again. Each file plays on its own from its own time 0; a
    browser given several run together plays the first only."""
    return [index for index, path in await _chunk_paths(session, store, recording)
            if _starts_stream(path)]  # fmt: skip


async def chunk_files(
    session: AsyncSession,
    store: MediaStore,
    recording: Recording,
    *,
    stream: int | None = None,
    through: int | None = None,
) -> list[Path]:
    """The recording's chunk files in order; with ``stream``, those of the WebM file that begins
    with that piece, up to the next that begins one (none when no file begins there), and with
    ``through`` too, no further than that piece."""
    paths = await _chunk_paths(session, store, recording)
    if stream is None:
        return [path for _index, path in paths]
    chosen: list[Path] = []
    for index, path in paths:
        if index < stream:
            continue
        if through is not None and index > through:
            break
        starts = _starts_stream(path)
        if not chosen and (index != stream or not starts):
            return []
        if chosen and starts:
            break
        chosen.append(path)
    return chosen


async def next_chunk_index(session: AsyncSession, attempt_part_id: int) -> int:
    """The number the part's recording goes on with: one after the highest chunk the server
    holds (0 before any). On another computer, or after the browser was cleared, the recording
    goes on after the pieces already here, never over them."""
    top = await session.scalar(
        select(func.max(RecordingChunk.index))
        .join(Recording, Recording.id == RecordingChunk.recording_id)
        .where(Recording.attempt_part_id == attempt_part_id)
    )
    return 0 if top is None else top + 1


async def recordings_of_registration(
    session: AsyncSession, registration_id: int
) -> list[tuple[Recording, AttemptPart]]:
    """Every recording of a registration's attempt, in part order."""
    rows = await session.execute(
        select(Recording, AttemptPart)
        .join(AttemptPart, AttemptPart.id == Recording.attempt_part_id)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .where(Attempt.registration_id == registration_id)
        .order_by(AttemptPart.part_index)
    )
    return [(recording, part) for recording, part in rows]


async def check_gaps(session: AsyncSession, *, policies: dict[int, Policy], now: datetime) -> int:
    """Flag the recordings of handed-in parts that miss chunks (once per recording).

    ``policies`` maps scheme ids to policies (filled as needed). Returns how many were flagged.
    """
    rows = await session.execute(
        select(Recording, AttemptPart, Attempt, Registration, Sitting)
        .join(AttemptPart, AttemptPart.id == Recording.attempt_part_id)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .where(
            AttemptPart.submitted_at.is_not(None),
            Recording.gaps_checked_at.is_(None),
        )
    )
    flagged = 0
    for recording, part, attempt, registration, sitting in rows:
        assert part.submitted_at is not None
        if recording.last_index is None and now - part.submitted_at < GAP_CHECK_DELAY:
            continue
        if sitting.scheme_id not in policies:
            policies[sitting.scheme_id] = await policy_for_scheme(session, sitting.scheme_id)
        policy = policies[sitting.scheme_id]
        missing = await missing_chunks(session, recording, limit=1000)
        recording.gaps_checked_at = now
        if recording.chunk_count and not missing:
            continue
        if not policy.enabled and not recording.chunk_count:
            continue
        await flags.raise_flag(
            session,
            policy=policy,
            flag_type=FlagType.RECORDING_GAP,
            source=FlagSource.RECORDING,
            registration_id=registration.id,
            attempt_id=attempt.id,
            attempt_part_id=part.id,
            started_at=part.started_at,
            ended_at=part.submitted_at,
            evidence={
                "recording_id": recording.id,
                "missing_chunks": missing,
                "chunks_received": recording.chunk_count,
            },
        )
        flagged += 1
    return flagged


class ReceivedChunks:
    """Whether the server holds a stretch of a part's recording (``exam.oral.RecordingReceipts``,
    wired in ``web.app.create_app``): an oral answer counts once its pieces are all here."""

    async def received(
        self, session: AsyncSession, attempt_part_id: int, first: int, last: int
    ) -> bool:
        """True when every chunk from ``first`` through ``last`` has been received."""
        if last < first:
            return False
        count = await session.scalar(
            select(func.count())
            .select_from(RecordingChunk)
            .join(Recording, Recording.id == RecordingChunk.recording_id)
            .where(
                Recording.attempt_part_id == attempt_part_id,
                Recording.purged_at.is_(None),
                RecordingChunk.index >= first,
                RecordingChunk.index <= last,
            )
        )
        return count == last - first + 1
