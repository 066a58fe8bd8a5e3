"""What the live channel is made of, free of WebRTC: which registration a connection belongs to
(``LiveKey``), how it is watched (``LiveConfig``), what a snapshot of it says (``LiveStatus``), and
what the hub is given to do its work (the frame analysis, a speech detector, the callback that
takes observations)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from proctoring.observations import Observation

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
