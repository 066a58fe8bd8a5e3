"""From what the live channel observes to flags, snapshots and the live state in the database.

One ``LiveFlagger`` per live connection keeps the little state the rules need (since when there
has been no face, since when the candidate speaks); everything it decides is written at once, in
its own transaction, so a proctor sees it while the exam runs.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from proctoring import flags
from proctoring.models import ConnectionState, FlagSource, FlagType, Snapshot
from proctoring.observations import (
    ConnectionChanged,
    FacesObserved,
    Observation,
    SpeechChanged,
    TrackChanged,
)
from proctoring.recordings import chunk_at
from proctoring.schemas import Policy
from proctoring.service import context_of, set_live_state
from proctoring.storage import MediaStore

logger = logging.getLogger(__name__)

LIVE_FRAME_SECONDS = 5.0
"""How often a sampled frame becomes the candidate's newest still frame on the proctors' live
grid (``proctoring.live_grid``); the one it replaces is deleted, so a connection keeps one."""


class _Pending:
    """A condition seen since ``since`` that becomes a flag after its threshold."""

    def __init__(self) -> None:
        self.since: datetime | None = None
        self.raised = False
        self.evidence: dict[str, Any] = {}
        self.frame: bytes | None = None

    def reset(self) -> None:
        self.since, self.raised, self.evidence, self.frame = None, False, {}, None


class LiveFlagger:
    """Turns one connection's observations into flags by the scheme's thresholds."""

    def __init__(
        self,
        *,
        registration_id: int,
        policy: Policy,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: MediaStore,
        connection_id: str | None = None,
    ) -> None:
        self.registration_id = registration_id
        self.connection_id = connection_id
        self.policy = policy
        self.sessionmaker = sessionmaker
        self.store = store
        self._lock = asyncio.Lock()
        self._begun = asyncio.Event()
        self._frame: tuple[int, str] | None = None
        """The live frame this connection keeps now: (snapshot id, stored name)."""
        self._frame_at: datetime | None = None
        self._stale_files: list[str] = []
        """Files of replaced live frames, deleted once their rows' deletion is committed."""
        if connection_id is None:
            self._begun.set()  # no connection to name: nothing to wait for
        self._pending: dict[FlagType, _Pending] = {
            flag_type: _Pending()
            for flag_type in (
                FlagType.NO_FACE,
                FlagType.MULTIPLE_FACES,
                FlagType.FACE_MISMATCH,
                FlagType.SPEECH,
            )
        }

    def _threshold(self, flag_type: FlagType) -> timedelta:
        seconds = {
            FlagType.NO_FACE: self.policy.no_face_seconds,
            FlagType.MULTIPLE_FACES: self.policy.multiple_faces_seconds,
            FlagType.FACE_MISMATCH: self.policy.face_mismatch_seconds,
            FlagType.SPEECH: self.policy.speech_seconds,
        }[flag_type]
        return timedelta(seconds=seconds)

    async def begin(self, now: datetime) -> None:
        """Make this flagger's connection the registration's current one (committed), and start
        taking its observations; those that came first wait. Until the row names a connection,
        its reports would be ignored as those of a replaced one."""
        async with self._lock, self.sessionmaker() as session:
            await set_live_state(
                session,
                registration_id=self.registration_id,
                now=now,
                connection_state=ConnectionState.CONNECTING,
                connection_id=self.connection_id,
                new_connection=True,
            )
            await session.commit()
        self._begun.set()

    async def observe(self, observation: Observation) -> None:
        """Take one observation (in order: one at a time per connection). With a connection id,
        observations wait until ``begin``."""
        await self._begun.wait()
        async with self._lock:
            try:
                async with self.sessionmaker() as session:
                    await self._observe(session, observation)
                    await session.commit()
                stale, self._stale_files = self._stale_files, []
                for name in stale:
                    self.store.delete_image(name)
            except Exception:
                # The rows named for deletion were rolled back: their files stay.
                self._stale_files = []
                logger.exception("proctoring observation %r was not recorded", observation)

    async def _observe(self, session: AsyncSession, observation: Observation) -> None:
        now = observation.at
        if isinstance(observation, ConnectionChanged):
            state = ConnectionState(observation.state)
            current = await set_live_state(
                session,
                registration_id=self.registration_id,
                now=now,
                connection_state=state,
                connection_id=self.connection_id,
            )
            if current is None:
                return  # a replaced connection (a newer one may live in another worker)
            if state in {ConnectionState.CLOSED, ConnectionState.FAILED}:
                # What the channel saw ends with it; the watchdog flags a channel that stays away.
                await self._end_all(session, now)
            return
        if isinstance(observation, TrackChanged):
            live = observation.state == "live"
            flag_type = (
                FlagType.CAMERA_OFF if observation.kind == "video" else FlagType.MICROPHONE_OFF
            )
            video = observation.kind == "video"
            # "ended" comes with the connection closing (a page change, the end of the exam); a
            # camera or microphone failing in the browser shows as a stall. A stall is only
            # noted here: a reload stalls both for a moment, so the watchdog flags what stays
            # off longer than the reconnect grace.
            stalled = observation.state == "stalled"
            current = await set_live_state(
                session,
                registration_id=self.registration_id,
                now=now,
                video_live=live if video else None,
                audio_live=None if video else live,
                video_stalled=stalled and video,
                audio_stalled=stalled and not video,
                connection_id=self.connection_id,
            )
            if current is None:
                return
            if live:
                await flags.end_flag(
                    session, registration_id=self.registration_id, flag_type=flag_type, ended_at=now
                )
            return
        if isinstance(observation, SpeechChanged):
            pending = self._pending[FlagType.SPEECH]
            if observation.speaking:
                if pending.since is None:
                    pending.since = now
            else:
                if pending.since is not None and not pending.raised:
                    if now - pending.since >= self._threshold(FlagType.SPEECH):
                        await self._raise(session, FlagType.SPEECH, pending.since, {}, ended_at=now)
                elif pending.raised:
                    await flags.end_flag(
                        session,
                        registration_id=self.registration_id,
                        flag_type=FlagType.SPEECH,
                        ended_at=now,
                    )
                pending.reset()
            await self._check_due(session, now)
            return
        await self._keep_frame(session, observation)
        await self._faces(session, observation)

    async def _keep_frame(self, session: AsyncSession, observation: FacesObserved) -> None:
        at = observation.at
        if not observation.frame_jpeg or (
            self._frame_at is not None
            and at - self._frame_at < timedelta(seconds=LIVE_FRAME_SECONDS)
        ):
            return
        context = await context_of(session, self.registration_id)
        if context.attempt is None or context.current_part is None or context.attempt_over:
            return  # only a running part's candidate is on the live grid
        self._frame_at = at
        snapshot = Snapshot(
            attempt_id=context.attempt.id,
            attempt_part_id=context.current_part.id,
            stored_name=self.store.write_image(observation.frame_jpeg),
            taken_at=at,
            face_count=0 if observation.dark else observation.face_count,
        )
        session.add(snapshot)
        await session.flush()
        previous, self._frame = self._frame, (snapshot.id, snapshot.stored_name)
        if previous is not None:
            # A live frame is no flag's evidence (those are snapshots of their own): the grid
            # needs only the newest, and a whole exam of frames would fill the disk.
            await session.execute(delete(Snapshot).where(Snapshot.id == previous[0]))
            self._stale_files.append(previous[1])

    async def _faces(self, session: AsyncSession, observation: FacesObserved) -> None:
        now = observation.at
        count = 0 if observation.dark else observation.face_count
        conditions = {
            FlagType.NO_FACE: count == 0,
            FlagType.MULTIPLE_FACES: count > 1,
        }
        if observation.distance is not None:
            conditions[FlagType.FACE_MISMATCH] = (
                observation.distance > self.policy.identity_threshold
            )
        elif count != 1:
            conditions[FlagType.FACE_MISMATCH] = False
        for flag_type, holds in conditions.items():
            pending = self._pending[flag_type]
            if holds:
                if pending.since is None:
                    pending.since = now
                    pending.frame = observation.frame_jpeg
                    pending.evidence = {
                        "face_count": count,
                        "dark": observation.dark,
                        **({"distance": observation.distance} if observation.distance else {}),
                    }
            else:
                if pending.raised:
                    await flags.end_flag(
                        session,
                        registration_id=self.registration_id,
                        flag_type=flag_type,
                        ended_at=now,
                    )
                pending.reset()
        await self._check_due(session, now)

    async def _check_due(self, session: AsyncSession, now: datetime) -> None:
        for flag_type, pending in self._pending.items():
            if pending.since is None or pending.raised:
                continue
            if now - pending.since >= self._threshold(flag_type):
                await self._raise(
                    session, flag_type, pending.since, pending.evidence, pending.frame
                )
                pending.raised = True

    async def _raise(
        self,
        session: AsyncSession,
        flag_type: FlagType,
        started_at: datetime,
        evidence: dict[str, Any],
        frame: bytes | None = None,
        *,
        ended_at: datetime | None = None,
    ) -> None:
        context = await context_of(session, self.registration_id)
        part = context.current_part
        if context.attempt is None or part is None:
            return  # before the exam and in the breaks between parts nothing is flagged
        if frame:
            snapshot = Snapshot(
                attempt_id=context.attempt.id,
                attempt_part_id=part.id if part else None,
                stored_name=self.store.write_image(frame),
                taken_at=started_at,
                face_count=evidence.get("face_count"),
            )
            session.add(snapshot)
            await session.flush()
            evidence = {**evidence, "snapshot_id": snapshot.id}
        if part is not None:
            evidence = {
                **evidence,
                "chunk_index": chunk_at(part.started_at, started_at, self.policy),
            }
        await flags.raise_flag(
            session,
            policy=self.policy,
            flag_type=flag_type,
            source=FlagSource.LIVE,
            registration_id=self.registration_id,
            attempt_id=context.attempt.id,
            attempt_part_id=part.id if part else None,
            started_at=started_at,
            ended_at=ended_at,
            evidence=evidence,
        )

    async def _end_all(self, session: AsyncSession, now: datetime) -> None:
        for flag_type in (*self._pending, FlagType.CAMERA_OFF, FlagType.MICROPHONE_OFF):
            await flags.end_flag(
                session, registration_id=self.registration_id, flag_type=flag_type, ended_at=now
            )
        for pending in self._pending.values():
            pending.reset()
