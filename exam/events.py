"""What happens in an exam that other domains act on: a part handed in, an attempt ended,
results released, answers that arrived late, a candidate's identity confirmed.

The exam publishes events; other domains subscribe to them, and the application wires the two
together once (``web.app.create_app``), on the database sessions it makes: ``publish`` finds the
subscribers in the session's ``info`` (``with_events``). The exam never imports its subscribers,
so a domain that builds on exams (proctoring, grading, certification) is added without the exam
knowing it, and every way in (a page, the API, the deadline task) publishes alike.

Subscribers run in the publisher's transaction: what they write commits or rolls back with the
change that caused it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class PartHandedIn:
    """A part was handed in: by the candidate, at the deadline or on termination
    (``submitted_by``: ``exam.models.SubmittedBy``). ``kind`` is the blueprint part's kind."""

    registration_id: int
    attempt_id: int
    attempt_part_id: int
    part_key: str
    kind: str
    submitted_by: str
    submitted_at: datetime


@dataclass(frozen=True)
class AttemptEnded:
    """An attempt ended: every part handed in (``finished``) or ended for cheating
    (``terminated``, with the grounds in ``reason``)."""

    registration_id: int
    attempt_id: int
    status: str
    ended_at: datetime
    reason: str


@dataclass(frozen=True)
class ResultsReleased:
    """The candidate may now see an attempt's results."""

    registration_id: int
    attempt_id: int
    released_at: datetime


@dataclass(frozen=True)
class LateAnswersDelivered:
    """Answers typed before a part's deadline reached the server after it (the connection was
    lost): ``last_contact_at`` is the candidate's last contact before the loss, ``delivered_at``
    when the late answers arrived."""

    registration_id: int
    attempt_id: int
    attempt_part_id: int
    deadline: datetime
    last_contact_at: datetime
    delivered_at: datetime
    answers: int


@dataclass(frozen=True)
class IdentityConfirmed:
    """A proctor confirmed the candidate's identity (published by whoever decides it,
    ``proctoring.review.decide_identity``): what was held for it goes on."""

    registration_id: int
    confirmed_at: datetime


Event = TypeVar("Event")
Subscriber = Callable[[AsyncSession, Any], Awaitable[None]]


class ExamEvents:
    """The subscribers of each kind of exam event."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Any], list[Subscriber]] = {}

    def subscribe(
        self, kind: type[Event], subscriber: Callable[[AsyncSession, Event], Awaitable[None]]
    ) -> None:
        """Call ``subscriber`` with every event of ``kind`` from now on."""
        self._subscribers.setdefault(kind, []).append(subscriber)

    async def publish(self, session: AsyncSession, event: object) -> None:
        """Tell every subscriber of the event's kind, in the order they subscribed."""
        for subscriber in self._subscribers.get(type(event), []):
            await subscriber(session, event)


EVENTS_KEY = "exam_events"
"""Where a session's ``info`` holds the subscribers (``with_events``)."""


def with_events(events: ExamEvents) -> dict[str, Any]:
    """The ``info`` for the sessions of an application whose domains hear of exam events."""
    return {EVENTS_KEY: events}


async def publish(session: AsyncSession, event: object) -> None:
    """Tell the subscribers wired to this session (none outside an application)."""
    events = session.info.get(EVENTS_KEY)
    if isinstance(events, ExamEvents):
        await events.publish(session, event)
