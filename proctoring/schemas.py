"""Proctoring settings of a scheme and the shapes the browser sends."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from proctoring.models import FlagDecision, FlagType, Severity
from vakt.db import MAX_ROW_ID

DEFAULT_SEVERITY: dict[FlagType, Severity] = {
    FlagType.NO_FACE: Severity.MEDIUM,
    FlagType.MULTIPLE_FACES: Severity.HIGH,
    FlagType.FACE_MISMATCH: Severity.HIGH,
    FlagType.CAMERA_OFF: Severity.HIGH,
    FlagType.MICROPHONE_OFF: Severity.HIGH,
    FlagType.SPEECH: Severity.MEDIUM,
    FlagType.TAB_HIDDEN: Severity.MEDIUM,
    FlagType.WINDOW_UNFOCUSED: Severity.LOW,
    FlagType.FULLSCREEN_LEFT: Severity.LOW,
    FlagType.PASTE: Severity.MEDIUM,
    FlagType.SECOND_SCREEN: Severity.HIGH,
    FlagType.NETWORK_LOSS: Severity.LOW,
    FlagType.LIVE_CHANNEL_LOST: Severity.MEDIUM,
    FlagType.RECORDING_GAP: Severity.MEDIUM,
    FlagType.IDENTITY_DOUBTFUL: Severity.HIGH,
}


class Policy(BaseModel):
    """How a scheme's exams are proctored. Every threshold is data, never code."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Camera and microphone required, a live channel and a recording for every part."""
    identity_threshold: float = Field(default=0.6, gt=0, lt=2)
    """Largest descriptor distance still taken as the same person (dlib's usual 0.6)."""
    sample_interval_seconds: float = Field(default=2.0, ge=0.5, le=60)
    """How often a live video frame is analysed for faces."""
    identity_interval_seconds: float = Field(default=30.0, ge=0, le=3600)
    """How often a live frame is compared with the profile photo (0: never)."""
    no_face_seconds: float = Field(default=10.0, ge=0, le=600)
    multiple_faces_seconds: float = Field(default=2.0, ge=0, le=600)
    face_mismatch_seconds: float = Field(default=0.0, ge=0, le=600)
    speech_seconds: float = Field(default=10.0, ge=0, le=600)
    """Speech lasting longer than this is flagged (reading a question aloud is not)."""
    media_off_seconds: float = Field(default=5.0, ge=1, le=600)
    """A camera or microphone that delivers nothing this long counts as off."""
    live_reconnect_grace_seconds: float = Field(default=20.0, ge=0, le=600)
    """A page change (a reload) reconnects the live channel and starts the camera and microphone
    again; a gap shorter than this is not flagged: neither the lost channel nor a camera or
    microphone that is off (the browser reports one only after this long, too)."""
    chunk_seconds: int = Field(default=5, ge=1, le=60)
    """The browser uploads the recording in chunks this long."""
    max_chunk_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024)
    video_bits_per_second: int = Field(default=400_000, ge=100_000, le=4_000_000)
    severity: dict[FlagType, Severity] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    review_claim_minutes: int = Field(default=30, ge=1, le=24 * 60)
    """A proctor's claim on an attempt's review lasts this long; then another may take it over."""
    cheating_four_eyes: bool = True
    """A proposal of cheating ends the attempt only once a second person confirms it."""

    def severity_of(self, flag_type: FlagType) -> Severity:
        """The severity this scheme gives a flag type."""
        return self.severity.get(flag_type, DEFAULT_SEVERITY[flag_type])


class ReviewState(enum.StrEnum):
    """Where an attempt stands in the proctor review (computed, never stored)."""

    UNREVIEWED = "unreviewed"
    """Flags to decide (or an attempt to clear) and nobody at it."""
    CLAIMED = "claimed"
    """A proctor holds a live claim on it."""
    FOUR_EYES = "four_eyes"
    """Cheating proposed; waiting for a second person to confirm or reject it."""
    CLEARED = "cleared"
    """Every flag decided, no cheating."""
    CHEATING_CONFIRMED = "cheating_confirmed"
    """Cheating decided; the attempt ended "Ikke bestått"."""


class ReviewFilters(BaseModel):
    """What the review queue is narrowed to (nothing: every attempt that needs a review)."""

    model_config = ConfigDict(extra="forbid")

    sitting_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    scheme_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    flag_type: FlagType | None = None
    """Attempts with a flag of this type."""
    state: ReviewState | None = None
    """Attempts in this state; None: unreviewed, claimed and four-eyes (what needs someone)."""


class FlagDecisionInput(BaseModel):
    """A proctor's decision on a flag."""

    model_config = ConfigDict(extra="forbid")

    decision: FlagDecision
    reason: str = Field(default="", max_length=4000)


class CheatingProposal(BaseModel):
    """A proposal of cheating: the grounds and the attempt's confirmed flags it rests on."""

    model_config = ConfigDict(extra="forbid")

    grounds: str = Field(max_length=4000)
    evidence: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(max_length=100)


BrowserEventType = Literal[
    "tab_hidden",
    "window_unfocused",
    "fullscreen_left",
    "paste",
    "second_screen",
    "network_loss",
    "camera_off",
    "microphone_off",
]


class BrowserEvent(BaseModel):
    """Something the exam page noticed: a state that began or ended, or a single moment."""

    model_config = ConfigDict(extra="forbid")

    type: BrowserEventType
    active: bool = True
    """True when the state began (e.g. the tab was hidden), False when it ended."""
    started_at: datetime | None = None
    """For an event reported after the fact (network loss): when it began, in server time."""
    ended_at: datetime | None = None
    part_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    detail: str = Field(default="", max_length=500)
    """Why, in the browser's words (an error name such as ``NotReadableError``, ``ended``)."""
    characters: int | None = Field(default=None, ge=0, le=100_000_000)
    """For a paste: how many characters were pasted (never what, nor where)."""


class LiveOffer(BaseModel):
    """The browser's WebRTC offer (complete, with its ICE candidates)."""

    model_config = ConfigDict(extra="forbid")

    sdp: str = Field(min_length=1, max_length=100_000)
    type: Literal["offer"]
    part_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)


class RecordingFinish(BaseModel):
    """The browser's word that a recording ended, and which chunk was the last."""

    model_config = ConfigDict(extra="forbid")

    last_index: int = Field(ge=0, le=100_000)


class LiveAnswer(BaseModel):
    """The server's WebRTC answer."""

    sdp: str
    type: Literal["answer"]
    connection: str
    """This connection's id: ask ``GET …/live?connection=`` whether the server receives it."""


class ChunkStored(BaseModel):
    """A chunk is held by the server (201: stored now; 200: it already was)."""

    stored: bool
    missing: list[int]
    """Chunks below the highest one received that have not arrived."""


class RecordingEnded(BaseModel):
    """The recording's end is noted."""

    last_index: int
    missing: list[int]


class CandidateMessage(BaseModel):
    """A proctor's message as the candidate's exam page shows it (no sender named)."""

    id: int
    text: str
    sent_at: datetime


class UnreadMessages(BaseModel):
    """The candidate's unread messages, oldest first, and whether the exam page must change at
    once: its clock paused by a proctor, or its attempt ended by the exam staff."""

    messages: list[CandidateMessage]
    paused: bool = Field(description="A part of the attempt is paused by a proctor now")
    ended: bool = Field(description="The exam staff ended the attempt (cheating confirmed)")


class MessagesRead(BaseModel):
    """The candidate dismissed the messages up to and including ``through`` (the newest shown)."""

    model_config = ConfigDict(extra="forbid")

    through: int = Field(ge=1, le=MAX_ROW_ID)


class MessagesMarked(BaseModel):
    """How many messages were marked read."""

    marked: int


class WatchOffer(BaseModel):
    """A proctor's browser's WebRTC offer to receive a candidate's live picture and sound."""

    model_config = ConfigDict(extra="forbid")

    sdp: str = Field(min_length=1, max_length=100_000)
    type: Literal["offer"]


class WatchAnswer(BaseModel):
    """The server's answer: the candidate's picture and sound, relayed."""

    sdp: str
    type: Literal["answer"]
