"""One candidate's live peer connection and everything that runs for it: the readers of its video
and audio tracks, the sampling of frames for analysis, the speech detector, the watch for a track
that stops, and the delivery of observations in order.

The hub (``proctoring.live.LiveHub``) negotiates connections, keeps one per registration and
decides when one closes; a connection asks it to close through ``request_close``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import cast

import av
import numpy as np
from aiortc import RTCPeerConnection
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from numpy.typing import NDArray

from proctoring.live_config import (
    Analyze,
    LiveConfig,
    LiveKey,
    LiveStatus,
    ObservationCallback,
    SpeechChange,
    SpeechDetector,
    TrackWatchState,
)
from proctoring.live_frames import Sample, analyse_sample
from proctoring.observations import (
    ConnectionChanged,
    FacesObserved,
    Observation,
    SpeechChanged,
    TrackChanged,
    TrackKind,
)

logger = logging.getLogger(__name__)


class TrackWatch:
    """Arrival bookkeeping for one track; read by the connection's watch."""

    __slots__ = ("frames", "kind", "last_frame", "silent_since", "state")

    def __init__(self, kind: TrackKind) -> None:
        self.kind: TrackKind = kind
        self.state: TrackWatchState = "new"
        self.frames = 0
        self.last_frame: float | None = None
        self.silent_since: float | None = None


class LiveConnection:
    """One candidate's peer connection and everything that runs for it.

    ``clock`` dates the observations, ``executor`` runs ``analyze`` on sampled frames, and
    ``request_close`` asks the hub to close this connection (it may be called more than once).
    """

    def __init__(
        self,
        key: LiveKey,
        config: LiveConfig,
        on_observation: ObservationCallback,
        pc: RTCPeerConnection,
        *,
        clock: Callable[[], datetime],
        executor: Executor,
        analyze: Analyze,
        request_close: Callable[[LiveConnection], object],
    ) -> None:
        self.key = key
        self.config = config
        self.on_observation = on_observation
        self.pc = pc
        self._clock = clock
        self._executor = executor
        self._analyze = analyze
        self._request_close = request_close
        self.state = "new"
        self.started_at = time.monotonic()
        self.connected_at: float | None = None
        self.video = TrackWatch("video")
        self.audio = TrackWatch("audio")
        self.video_track: MediaStreamTrack | None = None
        self.audio_track: MediaStreamTrack | None = None
        self.extra_tracks: list[MediaStreamTrack] = []
        self.relay = MediaRelay()
        """Shares the incoming tracks between this connection's readers and proctors watching."""
        self.watchers: set[RTCPeerConnection] = set()
        """Proctors' peer connections relaying this candidate's picture and sound."""
        self.tasks: list[asyncio.Task[None]] = []
        self.outbox: asyncio.Queue[Observation | None] = asyncio.Queue()
        self.delivery: asyncio.Task[None] | None = None
        self.close_task: asyncio.Task[None] | None = None
        self.analysing = False
        self.next_sample_at = 0.0
        self.next_identity_at = 0.0
        self.frames_sampled = 0
        self.samples_skipped = 0
        self.speech: SpeechDetector | None = None
        self.speaking = False
        self.audio_origin: datetime | None = None

    @property
    def closing(self) -> bool:
        """Whether the connection is closing (or closed)."""
        return self.close_task is not None

    def emit(self, observation: Observation) -> None:
        """Queue an observation for delivery; never blocks the caller."""
        self.outbox.put_nowait(observation)

    def on_track(self, track: MediaStreamTrack) -> None:
        """A remote track arrived (during negotiation): the first video and audio are read."""
        if track.kind == "video" and self.video_track is None:
            self.video_track = track
        elif track.kind == "audio" and self.audio_track is None:
            self.audio_track = track
        else:
            # Unconsumed remote tracks queue every decoded frame forever: drain them.
            self.extra_tracks.append(track)

    def on_connection_state(self) -> None:
        """The peer connection's state changed: report it; a failure closes the connection."""
        state = self.pc.connectionState
        if self.closing or state == self.state:
            return
        self.state = state
        if state == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
        if state == "closed":
            # "closed" is reported once, by shut_down, whoever closed the connection.
            self._request_close(self)
            return
        self.emit(ConnectionChanged(at=self._clock(), state=state))
        if state == "failed":
            self._request_close(self)

    def status(self) -> LiveStatus:
        """A snapshot of this connection."""
        now_mono = time.monotonic()
        now = self._clock()

        def wall(mono: float | None) -> datetime | None:
            return None if mono is None else now - timedelta(seconds=now_mono - mono)

        return LiveStatus(
            key=self.key,
            connection_state=self.state,
            video_state=self.video.state,
            audio_state=self.audio.state,
            last_video_frame_at=wall(self.video.last_frame),
            last_audio_frame_at=wall(self.audio.last_frame),
            video_frames_received=self.video.frames,
            audio_frames_received=self.audio.frames,
            frames_sampled=self.frames_sampled,
            samples_skipped=self.samples_skipped,
            speaking=self.speaking,
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, speech: SpeechDetector | None) -> None:
        """Start reading the tracks, watching them and delivering observations (once the
        negotiation is done); ``speech`` follows the audio, if given."""
        config = self.config
        self.started_at = time.monotonic()
        # The first identity check falls at a random point of the first interval: candidates
        # who connect together (an exam's start) would otherwise all need one at once, and the
        # check-in has just verified the identity anyway.
        self.next_identity_at = self.started_at + random.uniform(
            0, config.identity_interval_seconds
        )
        self.speech = speech
        self.delivery = asyncio.create_task(self._deliver(), name=f"live-deliver-{self.key}")
        assert self.video_track is not None and self.audio_track is not None
        # Read through the relay, so that a proctor watching gets the same frames (a track has
        # one reader: two would share its frames between them).
        self.tasks = [
            asyncio.create_task(
                self._guard(self._consume_video(self.relay.subscribe(self.video_track)))
            ),
            asyncio.create_task(
                self._guard(self._consume_audio(self.relay.subscribe(self.audio_track)))
            ),
            asyncio.create_task(self._guard(self._watch())),
        ]
        self.tasks.extend(
            asyncio.create_task(self._guard(_drain(track))) for track in self.extra_tracks
        )
        # The state may have moved on during negotiation, before anyone listened.
        self.on_connection_state()

    async def shut_down(self, delivery_timeout: float) -> None:
        """Stop every task, close the peer connection, report "closed" and let the observations
        still queued be delivered (for at most ``delivery_timeout`` seconds)."""
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        for watcher in list(self.watchers):
            await close_quietly(watcher)
        self.watchers.clear()
        await close_quietly(self.pc)
        await asyncio.gather(
            *(task for task in self.tasks if task is not current), return_exceptions=True
        )
        self._finish_speech()
        self.state = "closed"
        self.emit(ConnectionChanged(at=self._clock(), state="closed"))
        self.outbox.put_nowait(None)
        if self.delivery is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.delivery), timeout=delivery_timeout)
            except TimeoutError:
                logger.warning("live %s: observation delivery too slow, dropped", self.key)
                self.delivery.cancel()

    async def _guard(self, work: Awaitable[None]) -> None:
        # A bug in a media task must not leave a connection running unwatched.
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("live %s: media task failed; closing the connection", self.key)
            self._request_close(self)

    async def _deliver(self) -> None:
        # One task per connection keeps observations in order; a slow or failing callback delays
        # only the observations behind it, never the media.
        while True:
            observation = await self.outbox.get()
            if observation is None:
                return
            try:
                await self.on_observation(self.key, observation)
            except Exception:
                logger.exception("live %s: observation callback failed", self.key)

    # -- media -----------------------------------------------------------------------------

    def _arrived(self, watch: TrackWatch, now: float) -> None:
        watch.frames += 1
        watch.last_frame = now
        if watch.state == "new" or (watch.state == "stalled" and watch.silent_since is None):
            watch.state = "live"
            self.emit(TrackChanged(at=self._clock(), kind=watch.kind, state="live"))

    def _ended(self, watch: TrackWatch) -> None:
        if self.closing:
            return
        watch.state = "ended"
        self.emit(TrackChanged(at=self._clock(), kind=watch.kind, state="ended"))
        self._request_close(self)

    async def _consume_video(self, track: MediaStreamTrack) -> None:
        config = self.config
        watch = self.video
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                self._ended(watch)
                return
            now = time.monotonic()
            self._arrived(watch, now)
            if now < self.next_sample_at or not isinstance(frame, av.VideoFrame):
                continue
            self.next_sample_at = now + config.sample_interval_seconds
            if self.analysing:
                # Never queue analyses: a busy executor gets fewer samples, not a backlog.
                self.samples_skipped += 1
                continue
            reference = config.reference_descriptor
            want_distance = (
                config.identity_interval_seconds > 0
                and reference is not None
                and now >= self.next_identity_at
            )
            # Converting here costs ~0.5 ms per sample and holds the GIL in a worker thread
            # too; it also keeps the job picklable for a process pool.
            try:
                image = cast("NDArray[np.uint8]", frame.to_ndarray(format="bgr24"))
            except (ValueError, av.FFmpegError):
                logger.exception("live %s: cannot convert a video frame", self.key)
                continue
            job = functools.partial(
                analyse_sample, image, self._analyze, want_distance, reference, config
            )
            try:
                future = loop.run_in_executor(self._executor, job)
            except RuntimeError:
                # The executor is shut down: the application is stopping.
                logger.warning("live %s: executor unavailable, sample skipped", self.key)
                continue
            self.analysing = True
            future.add_done_callback(
                functools.partial(self._sampled, self._clock(), now, want_distance)
            )

    def _sampled(
        self,
        at: datetime,
        sampled_mono: float,
        want_distance: bool,
        future: asyncio.Future[Sample],
    ) -> None:
        self.analysing = False
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            logger.error("live %s: frame analysis failed", self.key, exc_info=exc)
            return
        sample = future.result()
        self.frames_sampled += 1
        if want_distance and not sample.dark:
            # A dark frame says nothing about identity: keep the check due.
            self.next_identity_at = sampled_mono + self.config.identity_interval_seconds
        if self.closing:
            return
        self.emit(
            FacesObserved(
                at=at,
                face_count=sample.face_count,
                distance=sample.distance if want_distance else None,
                dark=sample.dark,
                frame_jpeg=sample.jpeg,
            )
        )

    async def _consume_audio(self, track: MediaStreamTrack) -> None:
        watch = self.audio
        zeros = b""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                self._ended(watch)
                return
            now = time.monotonic()
            if not isinstance(frame, av.AudioFrame):
                continue
            pcm = bytes(frame.planes[0])
            if len(zeros) != len(pcm):
                zeros = bytes(len(pcm))
            if pcm == zeros:
                if watch.silent_since is None:
                    watch.silent_since = now
            else:
                watch.silent_since = None
            self._arrived(watch, now)
            if self.speech is not None:
                self._feed_speech(frame, pcm)

    def _feed_speech(self, frame: av.AudioFrame, pcm: bytes) -> None:
        assert self.speech is not None
        stream_time = frame.time
        at = time.monotonic() if stream_time is None else float(stream_time)
        if self.audio_origin is None:
            # The detector's times are on the stream's timeline; this maps them to the clock.
            self.audio_origin = self._clock() - timedelta(seconds=at)
        try:
            changes = self.speech.feed(pcm, frame.sample_rate, len(frame.layout.channels), at)
        except Exception:
            logger.exception("live %s: speech detector failed; speech detection off", self.key)
            self.speech = None
            return
        for change in changes:
            self.speaking = bool(change.speaking)
            self.emit(
                SpeechChanged(
                    at=self.audio_origin + timedelta(seconds=float(change.at)),
                    speaking=self.speaking,
                )
            )

    def _finish_speech(self) -> None:
        # A detector that can flush (``finish()``) dates the end of speech still going on;
        # otherwise the end is the closing time.
        detector, self.speech = self.speech, None
        if not self.speaking:
            return
        changes: Sequence[SpeechChange] = ()
        finish = getattr(detector, "finish", None)
        if callable(finish) and self.audio_origin is not None:
            try:
                changes = [change for change in finish() if not change.speaking]
            except Exception:
                logger.exception("live %s: speech detector failed to finish", self.key)
        self.speaking = False
        if changes and self.audio_origin is not None:
            at = self.audio_origin + timedelta(seconds=float(changes[-1].at))
        else:
            at = self._clock()
        self.emit(SpeechChanged(at=at, speaking=False))

    async def _watch(self) -> None:
        stall = self.config.stall_seconds
        tick = min(1.0, max(0.05, stall / 5))
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if self.connected_at is None and now - self.started_at >= (
                self.config.connect_timeout_seconds
            ):
                # ICE alone would give up only after about a minute.
                logger.info("live %s: not connected in time, closing", self.key)
                self._request_close(self)
                return
            for watch in (self.video, self.audio):
                if watch.state == "live":
                    assert watch.last_frame is not None
                    silent = watch.silent_since is not None and now - watch.silent_since >= stall
                    if now - watch.last_frame >= stall or silent:
                        self._stalled(watch)
                elif watch.state == "new" and now - self.started_at >= stall:
                    # No frame at all since the answer: as good as stalled.
                    self._stalled(watch)

    def _stalled(self, watch: TrackWatch) -> None:
        watch.state = "stalled"
        self.emit(TrackChanged(at=self._clock(), kind=watch.kind, state="stalled"))


async def close_quietly(pc: RTCPeerConnection) -> None:
    """Close a peer connection; a failure is logged, never raised."""
    try:
        await pc.close()
    except Exception:
        logger.exception("closing a live peer connection failed")


async def _drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()
