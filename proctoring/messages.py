"""Messages from a proctor to a candidate during the exam ("turn the camera towards you"): the
exam page shows the unread ones until the candidate has read them. Every message is audited;
text that cannot be stored is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Registration
from exam.pauses import ClockSignal, clock_signal
from exam.roles import require
from proctoring.access import REVIEW_REFUSED, REVIEWERS
from proctoring.involvement import note_involvement
from proctoring.models import ProctorMessage
from vakt import audit
from vakt.accounts import User
from vakt.db import MAX_ROW_ID
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from vakt.text import storable

MAX_MESSAGE = 1000
"""The longest message, in characters."""


async def _registration(
    session: AsyncSession, registration_id: int, sitting_id: int | None = None
) -> Registration:
    """The registration; a 404 when there is none, or when it is not of the sitting named."""
    registration = (
        await session.get(Registration, registration_id)
        if 1 <= registration_id <= MAX_ROW_ID
        else None
    )
    if registration is None or sitting_id not in (None, registration.sitting_id):
        raise NotFound(_l("No such registration."))
    return registration


async def send_message(
    session: AsyncSession,
    *,
    registration_id: int,
    text: str,
    proctor: User,
    now: datetime,
    sitting_id: int | None = None,
) -> ProctorMessage:
    """Send the registration's candidate a message; from a sitting's live grid, the registration
    must be of that sitting (``sitting_id``), else it is a 404."""
    require(proctor, REVIEWERS, REVIEW_REFUSED)
    text = storable(text.strip(), "text")
    if not text:
        raise VaktError(_l("Write the message."), field="text")
    if len(text) > MAX_MESSAGE:
        raise VaktError(_l("Keep it to {max} characters."), field="text", max=MAX_MESSAGE)
    registration = await _registration(session, registration_id, sitting_id)
    message = ProctorMessage(
        registration_id=registration.id, sender_id=proctor.id, text=text, sent_at=now
    )
    session.add(message)
    await session.flush()
    await note_involvement(session, registration_id=registration.id, proctor=proctor, now=now)
    await audit.record(
        session,
        actor_id=proctor.id,
        action="proctoring.message_sent",
        entity_type="registration",
        entity_id=registration.id,
        after={"message_id": message.id, "text": text},
    )
    return message


async def _own(session: AsyncSession, registration_id: int, candidate: User) -> Registration:
    registration = await _registration(session, registration_id)
    # Another candidate's registration is "not found": its existence is not theirs to know.
    if registration.candidate_id != candidate.id:
        raise NotFound(_l("No such registration."))
    return registration


@dataclass(frozen=True)
class CandidateNotices:
    """What the exam page asks for every few seconds: the proctors' unread messages, and
    whether a proctor has paused the clock or the attempt has been ended, so the page shows
    either at once instead of at its clock's next check."""

    messages: list[ProctorMessage]
    clock: ClockSignal


async def candidate_notices(
    session: AsyncSession, *, registration_id: int, candidate: User
) -> CandidateNotices:
    """The candidate's unread messages on their own registration (oldest first) and the state
    of its attempt's clock."""
    registration = await _own(session, registration_id, candidate)
    return CandidateNotices(
        messages=await _unread(session, registration),
        clock=await clock_signal(session, registration.id),
    )


async def unread_messages(
    session: AsyncSession, *, registration_id: int, candidate: User
) -> list[ProctorMessage]:
    """The candidate's unread messages on their own registration, oldest first."""
    return await _unread(session, await _own(session, registration_id, candidate))


async def _unread(session: AsyncSession, registration: Registration) -> list[ProctorMessage]:
    return list(
        await session.scalars(
            select(ProctorMessage)
            .where(
                ProctorMessage.registration_id == registration.id,
                ProctorMessage.read_at.is_(None),
            )
            .order_by(ProctorMessage.sent_at, ProctorMessage.id)
        )
    )


async def mark_read(
    session: AsyncSession, *, registration_id: int, through_id: int, candidate: User, now: datetime
) -> int:
    """Mark the candidate's messages up to and including ``through_id`` read (what the page
    showed; a message sent since stays unread); returns how many."""
    registration = await _own(session, registration_id, candidate)
    marked = await session.execute(
        update(ProctorMessage)
        .where(
            ProctorMessage.registration_id == registration.id,
            ProctorMessage.id <= min(max(through_id, 0), MAX_ROW_ID),
            ProctorMessage.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    count = int(marked.rowcount)  # type: ignore[attr-defined]
    if count:
        await audit.record(
            session,
            actor_id=candidate.id,
            action="proctoring.messages_read",
            entity_type="registration",
            entity_id=registration.id,
            after={"through": through_id, "count": count},
        )
    return count
