"""Exam delivery tables: applications, sittings, registrations, accommodations, attempts, answers.

Answers keep every save (appeals need the history); ``answer`` holds the newest per question.
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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from vakt.db import Base, JSONDocument, UTCDateTime, text_enum, utcnow


class ApplicationStatus(enum.StrEnum):
    """Where a candidate's application (the document review) stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class DecisionStatus(enum.StrEnum):
    """A staff decision on a request."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class AttemptStatus(enum.StrEnum):
    """Where a candidate's attempt stands."""

    IN_PROGRESS = "in_progress"
    FINISHED = "finished"
    TERMINATED = "terminated"


class SubmittedBy(enum.StrEnum):
    """How a part was handed in."""

    CANDIDATE = "candidate"
    DEADLINE = "deadline"
    TERMINATION = "termination"


class LateSaveRefusal(enum.StrEnum):
    """Why an answer that arrived after the deadline was refused (kept with the save)."""

    TYPED_AFTER_DEADLINE = "typed_after_deadline"
    """The change was made after the deadline, or the page did not say when it was made."""
    BEYOND_WINDOW = "beyond_window"
    """It arrived too long after the deadline or after the candidate's last contact."""


class Application(Base):
    """A candidate's application for certification in a scheme, with the staff's review."""

    __tablename__ = "application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(
        text_enum(ApplicationStatus, 20), default=ApplicationStatus.PENDING
    )
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")


class Sitting(Base):
    """A scheduled exam: a blueprint and a window in which candidates may start."""

    __tablename__ = "sitting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), index=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprint.id"))
    name: Mapped[str] = mapped_column(String(200))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class Registration(Base):
    """A candidate registered for a sitting, for all parts or (a retake) for some."""

    __tablename__ = "registration"
    __table_args__ = (UniqueConstraint("sitting_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    part_keys: Mapped[list[str]] = mapped_column(JSONDocument)
    retake_of_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Accommodation(Base):
    """A request for accommodation (e.g. extra time) and the staff's decision on it."""

    __tablename__ = "accommodation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    extra_time_percent: Mapped[int] = mapped_column(Integer, default=0)
    other_needs: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[DecisionStatus] = mapped_column(
        text_enum(DecisionStatus, 20), default=DecisionStatus.PENDING
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")


class Attempt(Base):
    """A candidate's way through a sitting, on the form fixed when it started."""

    __tablename__ = "attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), unique=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("exam_form.id"))
    extra_time_percent: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[AttemptStatus] = mapped_column(
        text_enum(AttemptStatus, 20), default=AttemptStatus.IN_PROGRESS
    )
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str] = mapped_column(Text, default="")
    results_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_digest: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the device token of the browser the attempt is bound to (see resume)."""
    device_confirmed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """True once a request came back carrying that device token: the browser has the cookie."""
    device_session_digest: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the sign-in session that bound the device: until the device is confirmed, that
    session may bind again (the answer that carried the cookie may have been lost)."""


class AttemptPart(Base):
    """One part of an attempt: its own start and deadline, its hand-in and receipt."""

    __tablename__ = "attempt_part"
    __table_args__ = (UniqueConstraint("attempt_id", "part_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    part_index: Mapped[int] = mapped_column(Integer)
    part_key: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by: Mapped[SubmittedBy | None] = mapped_column(text_enum(SubmittedBy, 20))
    receipt_digest: Mapped[str | None] = mapped_column(String(64))
    auto_score: Mapped[float | None] = mapped_column(Float)
    auto_max_score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    """The part's result once decided (computed by grading), None until then."""
    result_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(Float)
    """The part's points: the choice questions' score and the open answers' final marks."""
    max_score: Mapped[float | None] = mapped_column(Float)
    result_override_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the decision maker set the result against the points (with grounds)."""
    result_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    result_override_grounds: Mapped[str] = mapped_column(Text, default="", server_default="")
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the candidate's exam page last reached the server during the part (its clock
    requests); with the saves, it bounds how late answers lost in a network failure may come."""
    receipt_reissued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the receipt was last issued again over answers that arrived after the hand-in."""
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Since when the part's clock stands still for an incident (``exam.pauses``); None while
    it runs. While paused no answer is saved and the part is not handed in."""


class PartPause(Base):
    """One incident during which a part's clock stood still, with who paused it and why; on
    resume the deadline moved by exactly the paused time."""

    __tablename__ = "part_pause"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_part_id: Mapped[int] = mapped_column(ForeignKey("attempt_part.id"), index=True)
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    grounds: Mapped[str] = mapped_column(Text)
    deadline_before: Mapped[datetime] = mapped_column(UTCDateTime)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resumed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    deadline_after: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Answer(Base):
    """The newest saved answer to one question of one part."""

    __tablename__ = "answer"

    attempt_part_id: Mapped[int] = mapped_column(
        ForeignKey("attempt_part.id", ondelete="CASCADE"), primary_key=True
    )
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[Any] = mapped_column(JSONDocument)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Declaration(Base):
    """The candidate's acceptance of the code of conduct and self-declaration before an exam,
    with the version and a digest of the exact text shown."""

    __tablename__ = "declaration"
    __table_args__ = (UniqueConstraint("registration_id", "text_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    text_version: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(10))
    text_digest: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResumePermission(Base):
    """Staff allow a candidate to continue an attempt on another computer."""

    __tablename__ = "resume_permission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AnswerSave(Base):
    """Every save that reached the server, kept whether or not it became the newest answer."""

    __tablename__ = "answer_save"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    attempt_part_id: Mapped[int] = mapped_column(ForeignKey("attempt_part.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"))
    question_id: Mapped[str] = mapped_column(String(80))
    sequence: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[Any] = mapped_column(JSONDocument)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the candidate made the change, by the exam page's server-synced clock."""
    delivered_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """It arrived after the deadline, typed before it (the connection was lost)."""
    refusal: Mapped[LateSaveRefusal | None] = mapped_column(text_enum(LateSaveRefusal, 40))
    """Why a late save was refused, kept for the record."""


class SebSettings(Base):
    """A scheme's Safe Exam Browser settings (required or not, start URL, quit password hash,
    allowed Browser Exam Keys); see ``exam.seb.SebPolicy``."""

    __tablename__ = "exam_seb_settings"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ItemFlag(Base):
    """The candidate's "flag for review" on one item of a part, kept with the answers so it
    follows the candidate to another computer. Only the newest change is kept (by sequence, as
    answers are): a change sent twice, or an older one arriving late, changes nothing."""

    __tablename__ = "item_flag"

    attempt_part_id: Mapped[int] = mapped_column(
        ForeignKey("attempt_part.id", ondelete="CASCADE"), primary_key=True
    )
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"), primary_key=True)
    flagged: Mapped[bool] = mapped_column(Boolean)
    sequence: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """When the server took the change."""


class OralTakeState(enum.StrEnum):
    """Where one recording of an oral answer stands."""

    RECORDING = "recording"
    """Started: the candidate is answering."""
    RECORDED = "recorded"
    """Stopped: the answer's end is marked."""


class OralTake(Base):
    """One recording of the answer to an oral question: where it begins and ends in the part's
    recording, which runs for the whole part. A mark is a place in one WebM file of that
    recording: ``*_stream`` is the chunk that begins the file (the recorder started there),
    ``*_ms`` the time from the file's start, ``*_chunk`` the chunk that holds the mark. The
    newest recorded take is the answer; earlier ones are kept for the record."""

    __tablename__ = "oral_take"
    __table_args__ = (
        UniqueConstraint("attempt_part_id", "item_version_id", "question_id", "take"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_part_id: Mapped[int] = mapped_column(
        ForeignKey("attempt_part.id", ondelete="CASCADE"), index=True
    )
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"))
    question_id: Mapped[str] = mapped_column(String(80))
    take: Mapped[int] = mapped_column(Integer)
    """1 for the first recording, 2 for the first retake, ..."""
    state: Mapped[OralTakeState] = mapped_column(text_enum(OralTakeState, 20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    start_stream: Mapped[int] = mapped_column(Integer)
    start_ms: Mapped[int] = mapped_column(Integer)
    start_chunk: Mapped[int] = mapped_column(Integer)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_stream: Mapped[int | None] = mapped_column(Integer)
    end_ms: Mapped[int | None] = mapped_column(Integer)
    end_chunk: Mapped[int | None] = mapped_column(Integer)
    clamped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The end mark came later than the longest answer allowed and was moved back to it."""


class OralSettings(Base):
    """A scheme's rules for the oral answers (``exam.oral.OralRules``): how many times a
    candidate may record an answer again."""

    __tablename__ = "exam_oral_settings"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
