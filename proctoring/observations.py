"""What the proctoring live channel observes about a candidate's camera, microphone and connection.

Plain values, free of any WebRTC type, so that the flag logic can consume them (and be tested)
without a media stack. Every ``at`` is a timezone-aware UTC datetime taken from the clock that
the live channel was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

TrackKind = Literal["video", "audio"]
TrackState = Literal["live", "stalled", "ended"]


@dataclass(frozen=True, slots=True)
class FacesObserved:
    """The analysis of one sampled camera frame.

    ``distance`` is the identity distance to the reference face, computed only on some samples
    (and never when there is no reference); ``dark`` is set when the frame is (nearly) black,
    which is what a covered camera or a disabled video track sends; ``frame_jpeg`` is a small JPEG
    of the sampled frame, kept as evidence.
    """

    at: datetime
    face_count: int
    distance: float | None
    dark: bool
    frame_jpeg: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class TrackChanged:
    """A media track became live, stalled or ended.

    "live": the first frame arrived, or frames resumed after a stall. "stalled": no frame for the
    configured stall time, or, for audio, only digital silence (all-zero samples, which is what a
    muted microphone sends) for that long. "ended": the track ended for good.
    """

    at: datetime
    kind: TrackKind
    state: TrackState


@dataclass(frozen=True, slots=True)
class SpeechChanged:
    """The candidate started (``speaking``) or stopped speaking. Speech still going on when the
    connection closes is reported stopped before the connection's "closed"."""

    at: datetime
    speaking: bool


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """The peer connection's state: "connecting", "connected", "disconnected", "failed" or
    "closed". "closed" is reported exactly once per connection, whatever closed it."""

    at: datetime
    state: str


Observation = FacesObserved | TrackChanged | SpeechChanged | ConnectionChanged
