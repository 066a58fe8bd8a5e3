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

The analysis and the speech detector are injected, so this module depends on neither. The hub
keeps the connections; each connection's media work is in ``live_connection``, the SDP checks in
``live_sdp``, and the names it is used with (``LiveKey``, ``LiveConfig``...) in ``live_config``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from datetime import datetime

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError

from proctoring.live_config import (
    Analyze,
    FrameAnalysis,
    LiveConfig,
    LiveKey,
    LiveStatus,
    ObservationCallback,
    SpeechChange,
    SpeechDetector,
    TrackWatchState,
)
from proctoring.live_connection import LiveConnection, close_quietly
from proctoring.live_sdp import check_offer, with_packet_time

__all__ = [
    "Analyze",
    "FrameAnalysis",
    "LiveConfig",
    "LiveHub",
    "LiveKey",
    "LiveStatus",
    "ObservationCallback",
    "SpeechChange",
    "SpeechDetector",
    "TrackWatchState",
]


MAX_WATCHERS = 4
"""How many proctors may watch one candidate at once (each costs the server an encoding)."""


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
        self._connections: dict[int, LiveConnection] = {}
        self._negotiating: set[LiveConnection] = set()
        self._closing: set[LiveConnection] = set()
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
        check_offer(offer_sdp, offer_type)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self._ice_servers)))
        conn = LiveConnection(
            key,
            config,
            on_observation,
            pc,
            clock=self._clock,
            executor=self._executor,
            analyze=self._analyze,
            request_close=self._start_close,
        )
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
            await asyncio.shield(close_quietly(pc))
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
            answer_sdp = with_packet_time(answer_sdp, "audio", config.audio_packet_ms)
        return answer_sdp, local.type

    async def watch(self, registration_id: int, offer_sdp: str, offer_type: str) -> tuple[str, str]:
        """Relay the registration's incoming picture and sound to a proctor's browser: the
        proctor's offer (receive-only, ICE gathering done) in, the answer's ``(sdp, type)`` out.

        Only the process holding the candidate's connection can: ``LookupError`` when it is
        not here (nor live), ``ValueError`` for an offer that cannot be used. The relayed
        connection closes with the candidate's, and at most ``MAX_WATCHERS`` watch at once.
        """
        conn = self._connections.get(registration_id)
        if conn is None or conn.closing or self._shut_down:
            raise LookupError(registration_id)
        if offer_type != "offer":
            raise ValueError("not an offer")
        if len(conn.watchers) >= MAX_WATCHERS:
            raise ValueError("too many watchers")
        assert conn.video_track is not None and conn.audio_track is not None
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self._ice_servers)))
        conn.watchers.add(pc)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in {"failed", "closed"}:
                conn.watchers.discard(pc)
                await close_quietly(pc)

        try:
            # Unbuffered: a slow watcher skips frames instead of queueing them.
            pc.addTrack(conn.relay.subscribe(conn.video_track, buffered=False))
            pc.addTrack(conn.relay.subscribe(conn.audio_track, buffered=False))
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
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            conn.watchers.discard(pc)
            await asyncio.shield(close_quietly(pc))
            raise
        if conn.closing:
            conn.watchers.discard(pc)
            await close_quietly(pc)
            raise LookupError(registration_id)
        local = pc.localDescription
        return local.sdp, local.type

    def status(self, registration_id: int) -> LiveStatus | None:
        """A snapshot of the registration's live connection, or ``None`` if it has none."""
        conn = self._connections.get(registration_id)
        return None if conn is None else conn.status()

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
            await close_quietly(conn.pc)
        closing = [self._start_close(conn) for conn in list(self._connections.values())]
        closing.extend(conn.close_task for conn in self._closing if conn.close_task is not None)
        if closing:
            await asyncio.shield(asyncio.gather(*closing, return_exceptions=True))

    # -- lifecycle -------------------------------------------------------------------------

    def _start(self, conn: LiveConnection) -> None:
        speech = None
        if conn.config.speech_detection and self._speech_detector_factory is not None:
            speech = self._speech_detector_factory()
        conn.start(speech)

    def _start_close(self, conn: LiveConnection) -> asyncio.Task[None]:
        if conn.close_task is None:
            conn.close_task = asyncio.create_task(self._close(conn), name=f"live-close-{conn.key}")
            self._closing.add(conn)
            if self._connections.get(conn.key.registration_id) is conn:
                del self._connections[conn.key.registration_id]
        return conn.close_task

    async def _close(self, conn: LiveConnection) -> None:
        try:
            await conn.shut_down(self._delivery_timeout)
        finally:
            self._closing.discard(conn)
