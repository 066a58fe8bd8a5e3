"""The server side of the proctoring live channel: a candidate's camera and microphone over WebRTC.

The browser posts an SDP offer whose ICE gathering is complete; :meth:`LiveHub.answer` returns an
answer whose gathering is complete too (no trickle ICE). From then on the hub receives the media,
never re-encodes it, and turns it into :mod:`proctoring.observations`:

- video: every decoded frame is consumed (aiortc decodes in a thread of its own; that cost is
  unavoidable), but only one frame per ``sample_interval_seconds`` is converted to an image and
  analysed, in the executor, with at most one analysis per connection at a time;
- audio: every decoded frame goes to a speech detector (a voice-activity detector is cheap) and
  is checked for digital silence, which is what a muted microphone sends;
- a watchdog per connection notices a track that stops delivering (or delivers only silence);
- every connection is closed on every exit path: connection failure, a track that ends, a newer
  offer for the same registration, :meth:`LiveHub.close` and :meth:`LiveHub.close_all`.

The analysis and the speech detector are injected, so this module depends on neither.
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, cast

import av
import cv2
import numpy as np
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription
from numpy.typing import NDArray

from proctoring.observations import (
    ConnectionChanged,
    FacesObserved,
    Observation,
    SpeechChanged,
    TrackChanged,
    TrackKind,
)

logger = logging.getLogger(__name__)

MAX_OFFER_LENGTH = 100_000
"""A browser's offer for one audio and one video track is a few kilobytes."""

OPUS_PACKET_MS = (10, 20, 40, 60, 120)
"""The packet durations Opus supports."""

TrackWatchState = Literal["new", "live", "stalled", "ended"]
"""A track's state as the hub sees it: "new" until its first frame arrives."""


class FrameAnalysis(Protocol):
    """What an analysis returns: the faces it found and, when asked, the identity distance."""

    @property
    def face_count(self) -> int: ...

    @property
    def distance(self) -> float | None: ...


Analyze = Callable[[NDArray[np.uint8], bool, "tuple[float, ...] | None"], FrameAnalysis]
"""``analyze(image_bgr, want_distance, reference_descriptor)``; runs in the executor."""


class SpeechChange(Protocol):
    """A change reported by a speech detector: speaking started or stopped at ``at`` (on the
    timeline of the ``at`` values it was fed)."""

    @property
    def speaking(self) -> bool: ...

    @property
    def at(self) -> float: ...


class SpeechDetector(Protocol):
    """A voice-activity detector fed with 16-bit interleaved PCM (any length: with the default
    ``audio_packet_ms`` a browser sends 60 ms at a time). A ``finish()`` method returning the
    final changes, if the detector has one, dates the end of speech going on at closing."""

    def feed(
        self, pcm: bytes, sample_rate: int, channels: int, at: float
    ) -> Sequence[SpeechChange]: ...


ObservationCallback = Callable[["LiveKey", Observation], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LiveKey:
    """Which registration (and, when known, which part of its attempt) a live connection belongs to:
    the channel opens on the page before the exam, before any attempt exists."""

    registration_id: int
    attempt_part_id: int | None = None


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """How one live connection is watched.

    ``identity_interval_seconds`` = 0 never computes the identity distance on live frames; it is
    never computed without a ``reference_descriptor`` either. The first identity check comes at a
    random point of the first interval, so that candidates who connect together do not all need
    one at once. Stalls are reported after ``stall_seconds`` without a frame (or, for audio, of
    nothing but digital silence). A sampled frame is dark when both
    the mean and the standard deviation of its pixel values (0-255) are below ``dark_level``.
    Evidence JPEGs are scaled down to at most ``evidence_max_width`` pixels. A connection that is
    not established ``connect_timeout_seconds`` after the answer is closed.

    ``audio_packet_ms`` asks the browser (``a=ptime`` in the answer) for Opus packets of that
    many milliseconds instead of the usual 20: each packet costs the server the same whatever its
    length, so 60 ms packets cut the audio's share of the CPU by about two thirds (Chromium honours
    it). ``None`` leaves the browser's choice.
    """

    sample_interval_seconds: float = 2.0
    identity_interval_seconds: float = 30.0
    reference_descriptor: tuple[float, ...] | None = None
    stall_seconds: float = 5.0
    speech_detection: bool = True
    dark_level: float = 20.0
    evidence_max_width: int = 320
    evidence_jpeg_quality: int = 70
    audio_packet_ms: int | None = 60
    connect_timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.sample_interval_seconds <= 0:
            raise ValueError("sample_interval_seconds must be positive")
        if self.identity_interval_seconds < 0:
            raise ValueError("identity_interval_seconds must not be negative")
        if self.stall_seconds <= 0:
            raise ValueError("stall_seconds must be positive")
        if self.connect_timeout_seconds <= 0:
            raise ValueError("connect_timeout_seconds must be positive")
        if not 1 <= self.evidence_jpeg_quality <= 100:
            raise ValueError("evidence_jpeg_quality must be between 1 and 100")
        if self.evidence_max_width < 16:
            raise ValueError("evidence_max_width must be at least 16")
        if self.audio_packet_ms not in (None, *OPUS_PACKET_MS):
            raise ValueError(f"audio_packet_ms must be one of {OPUS_PACKET_MS} or None")


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """A snapshot of one live connection."""

    key: LiveKey
    connection_state: str
    video_state: TrackWatchState
    audio_state: TrackWatchState
    last_video_frame_at: datetime | None
    last_audio_frame_at: datetime | None
    video_frames_received: int
    audio_frames_received: int
    frames_sampled: int
    samples_skipped: int
    speaking: bool

    @property
    def video_live(self) -> bool:
        """Whether video frames are arriving now."""
        return self.video_state == "live"

    @property
    def audio_live(self) -> bool:
        """Whether audio is arriving now and is not digital silence."""
        return self.audio_state == "live"


@dataclass(frozen=True, slots=True)
class _Sample:
    face_count: int
    distance: float | None
    dark: bool
    jpeg: bytes


class _TrackWatch:
    """Arrival bookkeeping for one track; read by the watchdog."""

    __slots__ = ("frames", "kind", "last_frame", "silent_since", "state")

    def __init__(self, kind: TrackKind) -> None:
        self.kind: TrackKind = kind
        self.state: TrackWatchState = "new"
        self.frames = 0
        self.last_frame: float | None = None
        self.silent_since: float | None = None


class _Connection:
    """One candidate's peer connection and everything that runs for it."""

    def __init__(
        self,
        hub: LiveHub,
        key: LiveKey,
        config: LiveConfig,
        on_observation: ObservationCallback,
        pc: RTCPeerConnection,
    ) -> None:
        self.hub = hub
        self.key = key
        self.config = config
        self.on_observation = on_observation
        self.pc = pc
        self.state = "new"
        self.started_at = time.monotonic()
        self.connected_at: float | None = None
        self.video = _TrackWatch("video")
        self.audio = _TrackWatch("audio")
        self.video_track: MediaStreamTrack | None = None
        self.audio_track: MediaStreamTrack | None = None
        self.extra_tracks: list[MediaStreamTrack] = []
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
        return self.close_task is not None

    def emit(self, observation: Observation) -> None:
        """Queue an observation for delivery; never blocks the caller."""
        self.outbox.put_nowait(observation)

    def on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video" and self.video_track is None:
            self.video_track = track
        elif track.kind == "audio" and self.audio_track is None:
            self.audio_track = track
        else:
            # Unconsumed remote tracks queue every decoded frame forever: drain them.
            self.extra_tracks.append(track)

    def on_connection_state(self) -> None:
        state = self.pc.connectionState
        if self.closing or state == self.state:
            return
        self.state = state
        if state == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
        if state == "closed":
            # "closed" is reported once, by _close, whoever closed the connection.
            self.hub._start_close(self)
            return
        self.emit(ConnectionChanged(at=self.hub._clock(), state=state))
        if state == "failed":
            self.hub._start_close(self)


class LiveHub:
    """Owns every live peer connection of the process.

    ``executor`` runs the frame analysis: a thread pool, or a process pool when ``analyze`` holds
    the GIL for long (dlib's face descriptor holds it for ~0.1 s, and so stalls the event loop
    that receives the media); for a process pool ``analyze`` must be picklable (a module-level
    function). ``clock`` returns timezone-aware UTC datetimes for the observations.
    ``analyze(image_bgr, want_distance, reference)`` analyses one sampled frame.
    ``speech_detector_factory()`` makes one speech detector per connection; ``None`` (or
    ``LiveConfig.speech_detection`` false) disables speech detection. ``ice_servers`` defaults to
    none: the server is reachable on its host candidates, and a STUN request per connection
    would only slow the answer down.
    """

    def __init__(
        self,
        executor: Executor,
        clock: Callable[[], datetime],
        analyze: Analyze,
        speech_detector_factory: Callable[[], SpeechDetector] | None,
        *,
        ice_servers: Sequence[RTCIceServer] = (),
        delivery_timeout_seconds: float = 5.0,
    ) -> None:
        self._executor = executor
        self._clock = clock
        self._analyze = analyze
        self._speech_detector_factory = speech_detector_factory
        self._ice_servers = list(ice_servers)
        self._delivery_timeout = delivery_timeout_seconds
        self._connections: dict[int, _Connection] = {}
        self._negotiating: set[_Connection] = set()
        self._closing: set[_Connection] = set()
        self._shut_down = False

    def __len__(self) -> int:
        """The number of live connections (negotiated and not yet closed)."""
        return len(self._connections)

    async def answer(
        self,
        key: LiveKey,
        offer_sdp: str,
        offer_type: str,
        config: LiveConfig,
        on_observation: ObservationCallback,
    ) -> tuple[str, str]:
        """Accept a browser's offer and return the answer's ``(sdp, type)``.

        The offer must be complete (ICE gathering done) and send one audio and one video track.
        A new offer for a registration replaces and closes its previous connection.
        Raises ``ValueError`` for an offer that is not valid SDP or lacks audio or video; no peer
        connection is left open then, nor on any other failure.
        """
        if self._shut_down:
            raise RuntimeError("the live hub is shut down")
        _check_offer(offer_sdp, offer_type)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self._ice_servers)))
        conn = _Connection(self, key, config, on_observation, pc)
        pc.on("track", conn.on_track)
        pc.on("connectionstatechange", conn.on_connection_state)
        self._negotiating.add(conn)
        try:
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except (
                ValueError,
                LookupError,
                TypeError,
                InternalError,
                InvalidAccessError,
                InvalidStateError,
                OperationError,
            ) as exc:
                raise ValueError(f"unusable WebRTC offer: {exc or type(exc).__name__}") from exc
            if conn.video_track is None or conn.audio_track is None:
                raise ValueError("the WebRTC offer must send both video and audio")
            await pc.setLocalDescription(await pc.createAnswer())
            if self._shut_down:
                raise RuntimeError("the live hub is shut down")
        except BaseException as exc:
            self._negotiating.discard(conn)
            conn.state = "closed"
            # Shielded: a cancelled request must still not leave the connection open.
            await asyncio.shield(_close_quietly(pc))
            if self._shut_down and not isinstance(exc, (ValueError, asyncio.CancelledError)):
                raise RuntimeError("the live hub is shut down") from exc
            raise
        self._negotiating.discard(conn)
        local = pc.localDescription
        previous = self._connections.get(key.registration_id)
        self._connections[key.registration_id] = conn
        self._start(conn)
        if previous is not None:
            self._start_close(previous)
        answer_sdp = local.sdp
        if config.audio_packet_ms is not None:
            answer_sdp = _with_packet_time(answer_sdp, "audio", config.audio_packet_ms)
        return answer_sdp, local.type

    def status(self, registration_id: int) -> LiveStatus | None:
        """A snapshot of the registration's live connection, or ``None`` if it has none."""
        conn = self._connections.get(registration_id)
        if conn is None:
            return None
        now_mono = time.monotonic()
        now = self._clock()

        def wall(mono: float | None) -> datetime | None:
            return None if mono is None else now - timedelta(seconds=now_mono - mono)

        return LiveStatus(
            key=conn.key,
            connection_state=conn.state,
            video_state=conn.video.state,
            audio_state=conn.audio.state,
            last_video_frame_at=wall(conn.video.last_frame),
            last_audio_frame_at=wall(conn.audio.last_frame),
            video_frames_received=conn.video.frames,
            audio_frames_received=conn.audio.frames,
            frames_sampled=conn.frames_sampled,
            samples_skipped=conn.samples_skipped,
            speaking=conn.speaking,
        )

    async def close(self, registration_id: int) -> None:
        """Close the registration's live connection, if any, and wait until it is closed."""
        conn = self._connections.get(registration_id)
        if conn is not None:
            await asyncio.shield(self._start_close(conn))

    async def close_all(self) -> None:
        """Close every connection, including those still negotiating, and refuse new offers.

        For the application's shutdown.
        """
        self._shut_down = True
        for conn in list(self._negotiating):
            # answer() sees the closed connection (or the flag) and cleans up itself.
            await _close_quietly(conn.pc)
        closing = [self._start_close(conn) for conn in list(self._connections.values())]
        closing.extend(conn.close_task for conn in self._closing if conn.close_task is not None)
        if closing:
            await asyncio.shield(asyncio.gather(*closing, return_exceptions=True))

    # -- lifecycle -------------------------------------------------------------------------

    def _start(self, conn: _Connection) -> None:
        config = conn.config
        conn.started_at = time.monotonic()
        # The first identity check falls at a random point of the first interval: candidates
        # who connect together (an exam's start) would otherwise all need one at once, and the
        # check-in has just verified the identity anyway.
        conn.next_identity_at = conn.started_at + random.uniform(
            0, config.identity_interval_seconds
        )
        if config.speech_detection and self._speech_detector_factory is not None:
            conn.speech = self._speech_detector_factory()
        conn.delivery = asyncio.create_task(self._deliver(conn), name=f"live-deliver-{conn.key}")
        assert conn.video_track is not None and conn.audio_track is not None
        conn.tasks = [
            asyncio.create_task(self._guard(conn, self._consume_video(conn, conn.video_track))),
            asyncio.create_task(self._guard(conn, self._consume_audio(conn, conn.audio_track))),
            asyncio.create_task(self._guard(conn, self._watch(conn))),
        ]
        conn.tasks.extend(
            asyncio.create_task(self._guard(conn, _drain(track))) for track in conn.extra_tracks
        )
        # The state may have moved on during negotiation, before anyone listened.
        conn.on_connection_state()

    def _start_close(self, conn: _Connection) -> asyncio.Task[None]:
        if conn.close_task is None:
            conn.close_task = asyncio.create_task(self._close(conn), name=f"live-close-{conn.key}")
            self._closing.add(conn)
            if self._connections.get(conn.key.registration_id) is conn:
                del self._connections[conn.key.registration_id]
        return conn.close_task

    async def _close(self, conn: _Connection) -> None:
        try:
            current = asyncio.current_task()
            for task in conn.tasks:
                if task is not current:
                    task.cancel()
            await _close_quietly(conn.pc)
            await asyncio.gather(
                *(task for task in conn.tasks if task is not current), return_exceptions=True
            )
            self._finish_speech(conn)
            conn.state = "closed"
            conn.emit(ConnectionChanged(at=self._clock(), state="closed"))
            conn.outbox.put_nowait(None)
            if conn.delivery is not None:
                try:
                    await asyncio.wait_for(
                        asyncio.shield(conn.delivery), timeout=self._delivery_timeout
                    )
                except TimeoutError:
                    logger.warning("live %s: observation delivery too slow, dropped", conn.key)
                    conn.delivery.cancel()
        finally:
            self._closing.discard(conn)

    async def _guard(self, conn: _Connection, work: Awaitable[None]) -> None:
        # A bug in a media task must not leave a connection running unwatched.
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("live %s: media task failed; closing the connection", conn.key)
            self._start_close(conn)

    async def _deliver(self, conn: _Connection) -> None:
        # One task per connection keeps observations in order; a slow or failing callback delays
        # only the observations behind it, never the media.
        while True:
            observation = await conn.outbox.get()
            if observation is None:
                return
            try:
                await conn.on_observation(conn.key, observation)
            except Exception:
                logger.exception("live %s: observation callback failed", conn.key)

    # -- media -----------------------------------------------------------------------------

    def _arrived(self, conn: _Connection, watch: _TrackWatch, now: float) -> None:
        watch.frames += 1
        watch.last_frame = now
        if watch.state == "new" or (watch.state == "stalled" and watch.silent_since is None):
            watch.state = "live"
            conn.emit(TrackChanged(at=self._clock(), kind=watch.kind, state="live"))

    def _ended(self, conn: _Connection, watch: _TrackWatch) -> None:
        if conn.closing:
            return
        watch.state = "ended"
        conn.emit(TrackChanged(at=self._clock(), kind=watch.kind, state="ended"))
        self._start_close(conn)

    async def _consume_video(self, conn: _Connection, track: MediaStreamTrack) -> None:
        config = conn.config
        watch = conn.video
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                self._ended(conn, watch)
                return
            now = time.monotonic()
            self._arrived(conn, watch, now)
            if now < conn.next_sample_at or not isinstance(frame, av.VideoFrame):
                continue
            conn.next_sample_at = now + config.sample_interval_seconds
            if conn.analysing:
                # Never queue analyses: a busy executor gets fewer samples, not a backlog.
                conn.samples_skipped += 1
                continue
            reference = config.reference_descriptor
            want_distance = (
                config.identity_interval_seconds > 0
                and reference is not None
                and now >= conn.next_identity_at
            )
            # Converting here costs ~0.5 ms per sample and holds the GIL in a worker thread
            # too; it also keeps the job picklable for a process pool.
            try:
                image = cast("NDArray[np.uint8]", frame.to_ndarray(format="bgr24"))
            except (ValueError, av.FFmpegError):
                logger.exception("live %s: cannot convert a video frame", conn.key)
                continue
            job = functools.partial(
                _analyse_sample, image, self._analyze, want_distance, reference, config
            )
            try:
                future = loop.run_in_executor(self._executor, job)
            except RuntimeError:
                # The executor is shut down: the application is stopping.
                logger.warning("live %s: executor unavailable, sample skipped", conn.key)
                continue
            conn.analysing = True
            future.add_done_callback(
                functools.partial(self._sampled, conn, self._clock(), now, want_distance)
            )

    def _sampled(
        self,
        conn: _Connection,
        at: datetime,
        sampled_mono: float,
        want_distance: bool,
        future: asyncio.Future[_Sample],
    ) -> None:
        conn.analysing = False
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            logger.error("live %s: frame analysis failed", conn.key, exc_info=exc)
            return
        sample = future.result()
        conn.frames_sampled += 1
        if want_distance and not sample.dark:
            # A dark frame says nothing about identity: keep the check due.
            conn.next_identity_at = sampled_mono + conn.config.identity_interval_seconds
        if conn.closing:
            return
        conn.emit(
            FacesObserved(
                at=at,
                face_count=sample.face_count,
                distance=sample.distance if want_distance else None,
                dark=sample.dark,
                frame_jpeg=sample.jpeg,
            )
        )

    async def _consume_audio(self, conn: _Connection, track: MediaStreamTrack) -> None:
        watch = conn.audio
        zeros = b""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                self._ended(conn, watch)
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
            self._arrived(conn, watch, now)
            if conn.speech is not None:
                self._feed_speech(conn, frame, pcm)

    def _feed_speech(self, conn: _Connection, frame: av.AudioFrame, pcm: bytes) -> None:
        assert conn.speech is not None
        stream_time = frame.time
        at = time.monotonic() if stream_time is None else float(stream_time)
        if conn.audio_origin is None:
            # The detector's times are on the stream's timeline; this maps them to the clock.
            conn.audio_origin = self._clock() - timedelta(seconds=at)
        try:
            changes = conn.speech.feed(pcm, frame.sample_rate, len(frame.layout.channels), at)
        except Exception:
            logger.exception("live %s: speech detector failed; speech detection off", conn.key)
            conn.speech = None
            return
        for change in changes:
            conn.speaking = bool(change.speaking)
            conn.emit(
                SpeechChanged(
                    at=conn.audio_origin + timedelta(seconds=float(change.at)),
                    speaking=conn.speaking,
                )
            )

    def _finish_speech(self, conn: _Connection) -> None:
        # A detector that can flush (``finish()``) dates the end of speech still going on;
        # otherwise the end is the closing time.
        detector, conn.speech = conn.speech, None
        if not conn.speaking:
            return
        changes: Sequence[SpeechChange] = ()
        finish = getattr(detector, "finish", None)
        if callable(finish) and conn.audio_origin is not None:
            try:
                changes = [change for change in finish() if not change.speaking]
            except Exception:
                logger.exception("live %s: speech detector failed to finish", conn.key)
        conn.speaking = False
        if changes and conn.audio_origin is not None:
            at = conn.audio_origin + timedelta(seconds=float(changes[-1].at))
        else:
            at = self._clock()
        conn.emit(SpeechChanged(at=at, speaking=False))

    async def _watch(self, conn: _Connection) -> None:
        stall = conn.config.stall_seconds
        tick = min(1.0, max(0.05, stall / 5))
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if conn.connected_at is None and now - conn.started_at >= (
                conn.config.connect_timeout_seconds
            ):
                # ICE alone would give up only after about a minute.
                logger.info("live %s: not connected in time, closing", conn.key)
                self._start_close(conn)
                return
            for watch in (conn.video, conn.audio):
                if watch.state == "live":
                    assert watch.last_frame is not None
                    silent = watch.silent_since is not None and now - watch.silent_since >= stall
                    if now - watch.last_frame >= stall or silent:
                        self._stalled(conn, watch)
                elif watch.state == "new" and now - conn.started_at >= stall:
                    # No frame at all since the answer: as good as stalled.
                    self._stalled(conn, watch)

    def _stalled(self, conn: _Connection, watch: _TrackWatch) -> None:
        watch.state = "stalled"
        conn.emit(TrackChanged(at=self._clock(), kind=watch.kind, state="stalled"))


def _check_offer(offer_sdp: str, offer_type: str) -> None:
    """Reject what is not a usable offer before any peer connection exists."""
    if offer_type != "offer":
        raise ValueError(f"expected an SDP offer, not {offer_type!r}")
    if not isinstance(offer_sdp, str) or not offer_sdp.strip():
        raise ValueError("the SDP offer is empty")
    if len(offer_sdp) > MAX_OFFER_LENGTH:
        raise ValueError("the SDP offer is too long")
    if not offer_sdp.lstrip().startswith("v=0"):
        raise ValueError("the offer is not SDP")
    try:
        description = SessionDescription.parse(offer_sdp)
    except Exception as exc:
        # The parser fails in many ways on garbage (IndexError, KeyError, ValueError...).
        raise ValueError(f"the offer is not valid SDP: {exc or type(exc).__name__}") from exc
    sending = {
        media.kind
        for media in description.media
        if media.port != 0 and (media.direction or "sendrecv") in ("sendrecv", "sendonly")
    }
    missing = {"audio", "video"} - sending
    if missing:
        raise ValueError(f"the offer sends no {' and no '.join(sorted(missing))}")


def _with_packet_time(sdp: str, kind: str, milliseconds: int) -> str:
    """``sdp`` with ``a=ptime`` set in its ``kind`` media sections.

    The attribute tells the sender the packet duration the receiver prefers; it is a hint, so
    the description stays valid for the local peer connection, which never reads it back.
    """
    lines = sdp.split("\r\n")
    result: list[str] = []
    section: str | None = None
    pending = False
    attribute = f"a=ptime:{milliseconds}"
    for line in lines:
        if pending and (line.startswith(("a=", "m=")) or not line):
            # Media-level attributes follow the section's c=/b= lines (RFC 8866 order).
            result.append(attribute)
            pending = False
        if line.startswith("m="):
            section = line[2:].split(" ", 1)[0]
            pending = section == kind
        elif section == kind and line.startswith("a=ptime:"):
            continue
        result.append(line)
    if pending:
        result.append(attribute)
    return "\r\n".join(result)


async def _close_quietly(pc: RTCPeerConnection) -> None:
    try:
        await pc.close()
    except Exception:
        logger.exception("closing a live peer connection failed")


async def _drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


def _analyse_sample(
    image: NDArray[np.uint8],
    analyze: Analyze,
    want_distance: bool,
    reference: tuple[float, ...] | None,
    config: LiveConfig,
) -> _Sample:
    """Analyse one sampled frame and keep it as evidence; runs in the executor."""
    probe = image[::4, ::4]
    dark = float(probe.mean()) < config.dark_level and float(probe.std()) < config.dark_level
    face_count = 0
    distance: float | None = None
    if not dark:
        # Nothing to find on a black frame: skip the detector.
        result = analyze(image, want_distance and reference is not None, reference)
        face_count = int(result.face_count)
        distance = None if result.distance is None else float(result.distance)
    return _Sample(face_count, distance, dark, _jpeg(image, config))


def _jpeg(image: NDArray[np.uint8], config: LiveConfig) -> bytes:
    height, width = image.shape[:2]
    if width > config.evidence_max_width:
        scaled = (
            config.evidence_max_width,
            max(1, round(height * config.evidence_max_width / width)),
        )
        image = cast("NDArray[np.uint8]", cv2.resize(image, scaled, interpolation=cv2.INTER_AREA))
    ok, encoded = cv2.imencode(
        ".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, config.evidence_jpeg_quality]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return encoded.tobytes()
