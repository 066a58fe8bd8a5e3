"""Proctoring tables: scheme policies, profile photos, identity checks, the live channel's state,
recordings with their chunks, snapshots and flags; the proctor review (attempt reviews, identity
decisions) and proctors' messages to candidates.

Media bytes never live in the database: rows name files under the data folder (``storage``) by
generated names, so nothing a candidate sends can choose a path or be served as a static file.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from exam.checkin import IdentityStatus
from vakt.db import Base, JSONDocument, UTCDateTime, text_enum, utcnow


class FlagType(enum.StrEnum):
    """What a flag says happened."""

    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_MISMATCH = "face_mismatch"
    CAMERA_OFF = "camera_off"
    MICROPHONE_OFF = "microphone_off"
    SPEECH = "speech"
    TAB_HIDDEN = "tab_hidden"
    WINDOW_UNFOCUSED = "window_unfocused"
    FULLSCREEN_LEFT = "fullscreen_left"
    PASTE = "paste"
    SECOND_SCREEN = "second_screen"
    NETWORK_LOSS = "network_loss"
    LIVE_CHANNEL_LOST = "live_channel_lost"
    RECORDING_GAP = "recording_gap"
    IDENTITY_DOUBTFUL = "identity_doubtful"


class Severity(enum.StrEnum):
    """How much a flag weighs when a proctor sorts the review queue."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class FlagSource(enum.StrEnum):
    """Who noticed what a flag says."""

    BROWSER = "browser"
    """The exam page (a hidden tab, a paste, a camera the browser lost)."""
    LIVE = "live"
    """The server, in the live picture and sound (or their absence)."""
    RECORDING = "recording"
    """The server, in the recording (missing pieces)."""
    IDENTITY = "identity"
    """The identity check at check-in."""
    DELIVERY = "delivery"
    """Answers typed before the deadline that arrived after it (``exam.events``)."""


class FlagDecision(enum.StrEnum):
    """What a proctor decided about a flag on review."""

    DISMISSED = "dismissed"
    """Nothing wrong happened (with the reason why)."""
    CONFIRMED = "confirmed"
    """It happened as flagged (it may be cited as evidence of cheating)."""


class ReviewOutcome(enum.StrEnum):
    """Where an attempt's review stands once someone decided something about it."""

    CLEARED = "cleared"
    """Every flag decided; no cheating."""
    CHEATING_PROPOSED = "cheating_proposed"
    """A proctor proposed cheating; a second person must confirm it (four eyes)."""
    CHEATING_CONFIRMED = "cheating_confirmed"
    """Cheating decided: the attempt ended "Ikke bestått"."""


class ConnectionState(enum.StrEnum):
    """A live channel's peer connection state (WebRTC's words, as aiortc reports them)."""

    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class IdentityReason(enum.StrEnum):
    """Why an identity check came out as it did."""

    MATCH = "match"
    NO_MATCH = "no_match"
    NO_PROFILE_PHOTO = "no_profile_photo"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"


class ProctoringPolicy(Base):
    """A scheme's proctoring settings (thresholds, sampling, recording); see ``schemas.Policy``."""

    __tablename__ = "proctoring_policy"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ProfilePhoto(Base):
    """A candidate's profile photo, taken with the camera; the newest one is the current one."""

    __tablename__ = "profile_photo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    descriptor: Mapped[list[float]] = mapped_column(JSONDocument)
    """dlib's 128-number face descriptor, compared with the live photo at check-in."""
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdentityVerification(Base):
    """The check-in photo of one registration compared with the profile photo."""

    __tablename__ = "identity_verification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    profile_photo_id: Mapped[int | None] = mapped_column(ForeignKey("profile_photo.id"))
    live_photo_name: Mapped[str | None] = mapped_column(String(80))
    face_count: Mapped[int] = mapped_column(Integer)
    distance: Mapped[float | None] = mapped_column(Float)
    """Descriptor distance to the profile photo (smaller is more alike); None without a face."""
    threshold: Mapped[float] = mapped_column(Float)
    outcome: Mapped[IdentityStatus] = mapped_column(text_enum(IdentityStatus, 20))
    """Passed or referred (to a proctor)."""
    reason: Mapped[IdentityReason] = mapped_column(text_enum(IdentityReason, 40))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LiveChannel(Base):
    """The newest known state of a registration's live camera and microphone channel.

    Kept in the database (not only in the serving process) so that any worker can tell whether
    a part may start, and the watchdog can flag an attempt whose channel is gone.
    """

    __tablename__ = "live_channel"

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), primary_key=True)
    """Keyed by registration: the channel opens on the page before the attempt exists."""
    connection_id: Mapped[str | None] = mapped_column(String(32))
    """The current peer connection; reports from a replaced one are ignored."""
    connection_state: Mapped[ConnectionState] = mapped_column(text_enum(ConnectionState, 20))
    video_live: Mapped[bool] = mapped_column(Boolean, default=False)
    audio_live: Mapped[bool] = mapped_column(Boolean, default=False)
    video_off_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the current connection's camera stopped delivering (a stall); None while it
    delivers, or before it first did. The watchdog flags it once off longer than the grace."""
    audio_off_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """The same for the microphone (silence counts as off)."""
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Recording(Base):
    """The video of one attempt part, stored as the numbered chunks the browser sent."""

    __tablename__ = "recording"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_part_id: Mapped[int] = mapped_column(ForeignKey("attempt_part.id"), unique=True)
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    is_answer: Mapped[bool] = mapped_column(Boolean, default=False)
    """The oral part's recording is the candidate's answer (graders see it)."""
    mime_type: Mapped[str] = mapped_column(String(80), default="video/webm")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_chunk_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    last_index: Mapped[int | None] = mapped_column(Integer)
    """The index of the final chunk, once the browser has said the recording ended."""
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gaps_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scanned_through: Mapped[int] = mapped_column(Integer, default=-1)
    """The last chunk whose bytes were checked as the WebM stream's continuation."""
    scan_state: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    """Where the check stands after that chunk (``webm.ScanState``)."""
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecordingChunk(Base):
    """One uploaded chunk, as received (no transcoding), with its digest for idempotent retries."""

    __tablename__ = "recording_chunk"

    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recording.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    """Checked as WebM (a chunk that arrives before the one it continues is checked later)."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Snapshot(Base):
    """A still frame kept as a flag's evidence."""

    __tablename__ = "snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    attempt_part_id: Mapped[int | None] = mapped_column(ForeignKey("attempt_part.id"))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    face_count: Mapped[int | None] = mapped_column(Integer)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Flag(Base):
    """Something a proctor should look at: what, how serious, when, and the evidence."""

    __tablename__ = "proctoring_flag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id"), index=True)
    attempt_part_id: Mapped[int | None] = mapped_column(ForeignKey("attempt_part.id"))
    type: Mapped[FlagType] = mapped_column(text_enum(FlagType, 40))
    severity: Mapped[Severity] = mapped_column(text_enum(Severity, 10))
    source: Mapped[FlagSource] = mapped_column(text_enum(FlagSource, 20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    """What backs it: a snapshot id, a chunk index, a distance, counts."""
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[FlagDecision | None] = mapped_column(text_enum(FlagDecision, 20))
    """A proctor's decision on review (``proctoring.review``); None while undecided."""
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class ProctorInvolvement(Base):
    """A proctor who looked at a candidate's proctoring (the review page, a recording, a still
    frame, a photo): such a person takes no part in grading that candidate's answers."""

    __tablename__ = "proctor_involvement"
    __table_args__ = (UniqueConstraint("registration_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AttemptReview(Base):
    """A proctor review of one attempt: who holds it now (a claim that expires) and what was
    decided (cleared, cheating proposed, cheating confirmed) by whom and on what grounds."""

    __tablename__ = "attempt_review"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), primary_key=True)
    """One review per attempt: the key is what makes two first claims collide."""
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[ReviewOutcome | None] = mapped_column(text_enum(ReviewOutcome, 30))
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grounds: Mapped[str] = mapped_column(Text, default="")
    """Why cheating was proposed; once confirmed the candidate sees these words."""
    evidence: Mapped[list[int]] = mapped_column(JSONDocument, default=list)
    """The attempt's confirmed flags the proposal rests on (their ids)."""
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_grounds: Mapped[str] = mapped_column(Text, default="")
    """Why the last proposal was rejected (kept until a new one is made)."""


class IdentityDecision(Base):
    """A proctor's decision whether a registration's candidate is who they claim to be; one
    not confirmed holds the attempt from grading and from the certification decision."""

    __tablename__ = "identity_decision"

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), primary_key=True)
    confirmed: Mapped[bool] = mapped_column(Boolean)
    grounds: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProctorMessage(Base):
    """A message from a proctor to a candidate during the exam, shown on the exam page until
    read."""

    __tablename__ = "proctor_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
