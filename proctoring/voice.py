"""Voice activity: following a microphone's PCM audio and telling when someone starts and stops
speaking (WebRTC's voice activity detector, smoothed)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np
import webrtcvad

_VAD_SAMPLE_RATES: Final = (8000, 16000, 32000, 48000)


@dataclass(frozen=True, slots=True)
class SpeechChange:
    """Speaking started (``speaking`` True) or stopped, at ``at`` seconds on the caller's clock."""

    speaking: bool
    at: float


@dataclass(frozen=True, slots=True)
class SpeechSegment:
    """A stretch of speech, in seconds on the caller's clock."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


class SpeechDetector:
    """Follows one audio stream and reports when someone starts and stops speaking.

    WebRTC's voice activity detector classifies short frames (``frame_ms``: 10, 20 or 30 ms);
    single frames flicker, so speech starts only when at least ``start_ratio`` of the frames in
    the last ``start_window`` seconds are speech, and stops only after ``hangover`` seconds in
    which at most ``stop_ratio`` of the frames were (so that the pauses between words do not
    split a segment). A start is dated at the first speech frame of the window that started it,
    a stop at the end of the last speech frame before the quiet stretch.

    ``aggressiveness`` (0-3) is how readily WebRTC rejects non-speech. The default, 3, rejects
    low noise and still finds speech in over 90 % of the frames of a spoken sentence; louder
    broadband noise (from about -20 dBFS) passes as speech at every setting.

    One instance per stream, used by one thread at a time.
    """

    def __init__(
        self,
        *,
        aggressiveness: int = 3,
        frame_ms: int = 30,
        start_window: float = 0.3,
        start_ratio: float = 0.6,
        hangover: float = 0.6,
        stop_ratio: float = 0.1,
    ) -> None:
        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError("aggressiveness is 0, 1, 2 or 3")
        if frame_ms not in (10, 20, 30):
            raise ValueError("frame_ms is 10, 20 or 30")
        if not (0 < start_ratio <= 1 and 0 <= stop_ratio < start_ratio):
            raise ValueError("need 0 <= stop_ratio < start_ratio <= 1")
        self.aggressiveness = aggressiveness
        self.frame_ms = frame_ms
        self._vad = webrtcvad.Vad(aggressiveness)
        frame_seconds = frame_ms / 1000
        self._start_frames = max(1, round(start_window / frame_seconds))
        self._start_needed = max(1, math.ceil(self._start_frames * start_ratio - 1e-9))
        self._stop_frames = max(1, round(hangover / frame_seconds))
        self._stop_allowed = math.floor(self._stop_frames * stop_ratio + 1e-9)
        self.hangover = hangover
        # (start, end, voiced) of recent frames, enough for both windows.
        self._recent: deque[tuple[float, float, bool]] = deque(
            maxlen=max(self._start_frames, self._stop_frames)
        )
        self._speaking = False
        self._last_speech_end = 0.0
        self._sample_rate = 0
        self._pending = np.zeros(0, dtype=np.int16)
        self._expected_at: float | None = None

    @property
    def speaking(self) -> bool:
        """Whether speech is going on (as of the last frame fed)."""
        return self._speaking

    def feed(self, pcm: bytes, sample_rate: int, channels: int, at: float) -> list[SpeechChange]:
        """Add audio and return the changes it reveals, in order.

        ``pcm`` is signed 16-bit little-endian samples, interleaved when ``channels`` > 1 (they
        are mixed down to mono); ``sample_rate`` is 8000, 16000, 32000 or 48000; ``at`` is when
        the first sample of ``pcm`` was captured, in seconds on the caller's clock. Samples left
        over from the last call are taken to come just before ``at``. A gap longer than the
        hangover ends any speech at its last frame and starts afresh.
        """
        if sample_rate not in _VAD_SAMPLE_RATES:
            raise ValueError(f"the sample rate must be one of {_VAD_SAMPLE_RATES}")
        if channels < 1:
            raise ValueError("channels must be at least 1")
        if len(pcm) % (2 * channels):
            raise ValueError("the audio must hold whole 16-bit samples for every channel")
        samples = np.frombuffer(pcm, dtype="<i2")
        if channels > 1:
            samples = (
                samples.reshape(-1, channels).astype(np.int32).sum(axis=1) // channels
            ).astype(np.int16)

        changes: list[SpeechChange] = []
        gap = self._expected_at is not None and at - self._expected_at > self.hangover
        if gap or sample_rate != self._sample_rate:
            # Leftover samples cannot be joined to audio from after a gap or at another rate.
            changes.extend(self._interrupt())
            self._pending = np.zeros(0, dtype=np.int16)
            self._sample_rate = sample_rate

        buffered = np.concatenate((self._pending, samples.astype(np.int16, copy=False)))
        first = at - len(self._pending) / sample_rate
        frame_length = sample_rate * self.frame_ms // 1000
        frames = len(buffered) // frame_length
        for index in range(frames):
            chunk = buffered[index * frame_length : (index + 1) * frame_length]
            start = first + index * frame_length / sample_rate
            voiced = self._vad.is_speech(chunk.astype("<i2").tobytes(), sample_rate)
            change = self._step(start, start + frame_length / sample_rate, bool(voiced))
            if change is not None:
                changes.append(change)
        self._pending = buffered[frames * frame_length :].copy()
        self._expected_at = at + len(samples) / sample_rate
        return changes

    def finish(self) -> list[SpeechChange]:
        """End of the stream: report the end of any speech still going on, and reset."""
        changes = self._interrupt()
        self._pending = np.zeros(0, dtype=np.int16)
        self._expected_at = None
        return changes

    def _interrupt(self) -> list[SpeechChange]:
        self._recent.clear()
        if not self._speaking:
            return []
        self._speaking = False
        return [SpeechChange(speaking=False, at=self._last_speech_end)]

    def _step(self, start: float, end: float, voiced: bool) -> SpeechChange | None:
        self._recent.append((start, end, voiced))
        if voiced and self._speaking:
            self._last_speech_end = end
        recent = list(self._recent)
        if not self._speaking:
            window = recent[-self._start_frames :]
            if sum(frame[2] for frame in window) < self._start_needed:
                return None
            self._speaking = True
            self._last_speech_end = end
            began = next(frame[0] for frame in window if frame[2])
            return SpeechChange(speaking=True, at=began)
        window = recent[-self._stop_frames :]
        if len(window) < self._stop_frames:
            return None
        if sum(frame[2] for frame in window) > self._stop_allowed:
            return None
        # The window has just turned quiet, so the frame before it was speech; speech frames at
        # its start continue that speech, later ones are strays and do not delay the end.
        ended = window[0][0]
        for _frame_start, frame_end, frame_voiced in window:
            if not frame_voiced:
                break
            ended = frame_end
        self._speaking = False
        self._last_speech_end = ended
        return SpeechChange(speaking=False, at=ended)


def detect_speech(
    pcm: bytes,
    sample_rate: int,
    channels: int = 1,
    *,
    at: float = 0.0,
    aggressiveness: int = 3,
) -> list[SpeechSegment]:
    """The speech segments in a whole recording (PCM s16le), in seconds from ``at``."""
    detector = SpeechDetector(aggressiveness=aggressiveness)
    changes = detector.feed(pcm, sample_rate, channels, at) + detector.finish()
    segments: list[SpeechSegment] = []
    began: float | None = None
    for change in changes:
        if change.speaking:
            began = change.at
        elif began is not None:
            segments.append(SpeechSegment(began, change.at))
            began = None
    return segments
