"""The shapes of the candidate's exam API: the routes build every answer from these models, and
the OpenAPI description (``/api/openapi.json``) is generated from them, so the two cannot differ.

Every model refuses fields it does not describe, so a test that reads real answers back through
them notices an answer that says more than the description.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from itembank.schemas import CandidateItem

Timestamp = Annotated[
    datetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str, when_used="json")
]
"""A time on the wire: ISO 8601 with its UTC offset, as Python writes it (``+00:00``)."""


class ApiModel(BaseModel):
    """A shape of the API: nothing beyond what it describes."""

    model_config = ConfigDict(extra="forbid")


class ServerTime(ApiModel):
    """The server's clock; every countdown follows it."""

    server_time: Timestamp


class AttemptStarted(ApiModel):
    """The attempt that was started or resumed."""

    attempt_id: int


class PartStarted(ApiModel):
    """The part that was started, and its server-side deadline."""

    id: int
    deadline: Timestamp


class SaveRequest(ApiModel):
    """One answer. ``value``: an option id or null (single choice), a list of option ids
    (multiple response) or text of at most 100,000 characters (essay)."""

    sequence: int = Field(
        ge=0,
        description="Increases with every change of this answer; at most the server's time in "
        "milliseconds plus 10 minutes (a counter 1, 2, 3 … is always fine)",
    )
    value: Any
    changed_at: Timestamp | None = Field(
        default=None,
        description="When the candidate made the change, by the server-synced clock. An answer "
        "that arrives after the deadline counts only with a time before it, within the late "
        "window (VAKT_LATE_SAVE_WINDOW_SECONDS) of the deadline and of the last contact",
    )


class SaveResult(ApiModel):
    """What a save did: ``applied`` is false when a newer sequence was stored already."""

    applied: bool
    sequence: int = Field(description="The newest sequence the server holds for this answer")
    saved_at: Timestamp
    delivered_late: bool = Field(
        description="It arrived after the deadline and counts (typed before it); the part's "
        "receipt is issued again over it"
    )


class FlagRequest(ApiModel):
    """Flag an item for review (``flagged`` true) or take the flag away (false)."""

    flagged: bool
    sequence: int = Field(
        ge=0,
        description="Increases with every change of this flag; at most the server's time in "
        "milliseconds plus 10 minutes (a counter 1, 2, 3 … is always fine)",
    )


class FlagResult(ApiModel):
    """What a flag change did: ``applied`` is false when a newer change was stored already;
    ``flagged`` is the flag the server holds now."""

    applied: bool
    flagged: bool
    sequence: int = Field(description="The newest sequence the server holds for this flag")


class PartClock(ApiModel):
    """The server's clock and the part's deadline; asking is the exam page's sign of life."""

    server_time: Timestamp
    deadline: Timestamp
    submitted_at: Timestamp | None
    paused: bool = False
    """The proctor stopped the part's clock: it does not run down until it goes on."""
    seconds_left: int = 0
    """What is left of the part's time, in whole seconds (kept while paused)."""


class Receipt(ApiModel):
    """The hand-in receipt: a SHA-256 digest of the part's final answers."""

    receipt: str = Field(pattern="^[0-9a-f]{64}$")
    submitted_at: Timestamp


class PartState(ApiModel):
    """One registered part of the attempt."""

    key: str
    title: str
    kind: str
    duration_minutes: int
    break_after_minutes: int
    id: int | None
    started_at: Timestamp | None
    deadline: Timestamp | None
    submitted_at: Timestamp | None
    receipt: str | None
    paused: bool = False
    """The proctor stopped the part's clock (``exam.pauses``)."""
    seconds_left: int | None = None
    """What is left of a started part's time, in whole seconds (kept while paused)."""


class SavedAnswer(ApiModel):
    """The newest saved answer to a question."""

    value: Any
    sequence: int
    saved_at: Timestamp


class StateItem(CandidateItem):
    """An item of the current part as the candidate sees it (no key, no grading guide)."""

    model_config = ConfigDict(extra="forbid")

    item_version_id: int


class AttemptState(ApiModel):
    """Everything the exam page needs: parts, deadlines, the current part's items and answers."""

    attempt_id: int
    status: str = Field(description="in_progress, finished or terminated")
    ended_reason: str | None
    server_time: Timestamp
    extra_time_percent: int
    allowed_aids: str
    parts: list[PartState]
    current_part: int | None
    items: list[StateItem]
    answers: dict[str, SavedAnswer] = Field(
        description='Keyed by "{item_version_id}/{question_id}"'
    )
    flagged: list[int] = Field(
        default_factory=list,
        description="The item versions of the current part the candidate flagged for review",
    )


class ErrorDetail(ApiModel):
    """A refusal, in the caller's language."""

    code: str
    message: str
    field: str | None = None
    details: list[str] | None = None


class ErrorBody(ApiModel):
    """Every 4xx answer of the API."""

    error: ErrorDetail


MAX_CHUNK = 100_000
"""The highest chunk number a recording can have (as ``proctoring.recordings`` takes)."""
MAX_OFFSET_MS = 24 * 3600 * 1000
"""A mark lies within a day of its file's start (a part is far shorter)."""


class OralMark(ApiModel):
    """A place in the part's recording: the chunk that begins its WebM file, the time from that
    file's start, and the chunk that holds the place."""

    stream: int = Field(ge=0, le=MAX_CHUNK, description="The chunk that begins the WebM file")
    ms: int = Field(ge=0, le=MAX_OFFSET_MS, description="Milliseconds from the file's start")
    chunk: int = Field(ge=0, le=MAX_CHUNK, description="The chunk that holds the place")


class OralStartRequest(ApiModel):
    """Where the candidate starts recording the answer."""

    mark: OralMark


class OralStopRequest(ApiModel):
    """Where the recording of take ``take`` ends."""

    take: int = Field(ge=1, description="The take the start answered")
    mark: OralMark


class OralTakeResult(ApiModel):
    """One recording of an oral answer as the server holds it."""

    item_version_id: int
    question_id: str
    take: int = Field(description="1 for the first recording, 2 for the first retake …")
    state: str = Field(description="recording or recorded")
    started_at: Timestamp
    stopped_at: Timestamp | None
    start: OralMark
    end: OralMark | None
    clamped: bool = Field(description="The end was moved back to the longest answer allowed")


class OralAnswerState(ApiModel):
    """The newest recording of one oral question, and whether it counts as answered."""

    item_version_id: int
    question_id: str
    take: int
    state: str
    started_at: Timestamp
    stopped_at: Timestamp | None
    answered: bool = Field(
        description="Recorded, and the server holds the recording through the end mark"
    )
    retakes_left: int


class OralAnswers(ApiModel):
    """The part's oral answers so far."""

    answers: list[OralAnswerState]
