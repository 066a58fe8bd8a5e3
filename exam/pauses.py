"""Stopping a candidate's clock for an incident (a proctor's check, a technical fault) and
starting it again: the time that was left when the clock stopped is the time left on resume,
to the microsecond, because the deadline moves by exactly the paused time.

While a part is paused its answers are not saved and it is not handed in, neither by the
candidate nor at its deadline (``exam.saves``, ``exam.handin``). Pausing and resuming are
conditional UPDATEs on the part's row, so a hand-in, a save's history insert and the deadline
task cannot interleave with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from exam import timing
from exam.models import Attempt, AttemptPart, AttemptStatus, PartPause, Registration
from exam.roles import CLOCK_PAUSERS, require
from vakt import audit
from vakt.accounts import User
from vakt.db import MAX_ROW_ID
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l
from vakt.text import storable

PAUSED = _l("The exam is paused by the proctor. Wait until it goes on; your time is kept.")
"""What the candidate is told when a save or a hand-in comes while the clock stands still."""

MAX_GROUNDS = 2000
"""The longest grounds accepted for a pause, in characters."""

_REFUSED = _l("Only proctors and the exam staff pause a candidate's exam.")


async def _running_part(
    session: AsyncSession, attempt_part_id: int, registration_id: int, sitting_id: int | None
) -> AttemptPart:
    """The part, when it is of the registration named (and that registration of the sitting
    named, if one is): a part of anyone else's attempt is "not found", whoever asks and from
    whichever page, so a form with another candidate's part id stops nobody's clock."""
    query = (
        select(AttemptPart)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .where(AttemptPart.id == attempt_part_id, Attempt.registration_id == registration_id)
        .execution_options(populate_existing=True)
    )
    if sitting_id is not None:
        query = query.join(Registration, Registration.id == Attempt.registration_id).where(
            Registration.sitting_id == sitting_id
        )
    named = [attempt_part_id, registration_id] + ([] if sitting_id is None else [sitting_id])
    # An id no row can have is "not found" here, not an overflow in the query.
    part = await session.scalar(query) if all(1 <= i <= MAX_ROW_ID for i in named) else None
    if part is None:
        raise NotFound(_l("No such part."))
    return part


async def pause_part(
    session: AsyncSession,
    *,
    attempt_part_id: int,
    registration_id: int,
    actor: User,
    grounds: str,
    now: datetime,
    sitting_id: int | None = None,
) -> PartPause:
    """Stop the part's clock now, with written grounds. The part must be of the registration
    named (and of the sitting named, when one is): anyone else's is a 404. Refused once the
    part is handed in, its attempt ended, its time is up, or it is paused already."""
    require(actor, CLOCK_PAUSERS, _REFUSED)
    grounds = storable(grounds.strip(), "grounds")
    if not grounds:
        raise VaktError(_l("Say why the exam is paused."), field="grounds")
    if len(grounds) > MAX_GROUNDS:
        raise VaktError(_l("Keep it to {max} characters."), field="grounds", max=MAX_GROUNDS)
    part = await _running_part(session, attempt_part_id, registration_id, sitting_id)
    attempt = await session.get(Attempt, part.attempt_id)
    assert attempt is not None
    if attempt.status != AttemptStatus.IN_PROGRESS or part.submitted_at is not None:
        raise Conflict(_l("This part has been handed in; its clock cannot be paused."))
    if part.paused_at is not None:
        raise Conflict(_l("This part is paused already."))
    if now >= part.deadline:
        raise Conflict(_l("The time for this part is up; it can no longer be paused."))
    stopped = await session.execute(
        update(AttemptPart)
        .where(
            AttemptPart.id == part.id,
            AttemptPart.submitted_at.is_(None),
            AttemptPart.paused_at.is_(None),
            AttemptPart.deadline > now,
        )
        .values(paused_at=now)
        .execution_options(synchronize_session=False)
    )
    if not stopped.rowcount:  # type: ignore[attr-defined]
        raise Conflict(_l("This part was handed in or paused a moment ago."))
    set_committed_value(part, "paused_at", now)
    pause = PartPause(
        attempt_part_id=part.id,
        paused_at=now,
        paused_by_id=actor.id,
        grounds=grounds,
        deadline_before=part.deadline,
    )
    session.add(pause)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="attempt.part_paused",
        entity_type="attempt_part",
        entity_id=part.id,
        after={
            "pause_id": pause.id,
            "grounds": grounds,
            "paused_at": now.isoformat(),
            "time_left": str(part.deadline - now),
        },
    )
    return pause


async def resume_part(
    session: AsyncSession,
    *,
    attempt_part_id: int,
    registration_id: int,
    actor: User,
    now: datetime,
    sitting_id: int | None = None,
) -> PartPause:
    """Start the part's clock again: its deadline moves by the paused time, so exactly the
    time that was left when it stopped is left now. The part must be of the registration named
    (and of the sitting named, when one is): anyone else's is a 404."""
    require(actor, CLOCK_PAUSERS, _REFUSED)
    part = await _running_part(session, attempt_part_id, registration_id, sitting_id)
    pause = await open_pause(session, part.id)
    if part.paused_at is None or pause is None:
        raise Conflict(_l("This part is not paused."))
    paused_at = part.paused_at
    deadline = part.deadline + max(now - paused_at, timedelta(0))
    moved = await session.execute(
        update(AttemptPart)
        .where(AttemptPart.id == part.id, AttemptPart.paused_at == paused_at)
        .values(paused_at=None, deadline=deadline)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise Conflict(_l("This part was resumed a moment ago."))
    set_committed_value(part, "paused_at", None)
    set_committed_value(part, "deadline", deadline)
    pause.resumed_at, pause.resumed_by_id, pause.deadline_after = now, actor.id, deadline
    await audit.record(
        session,
        actor_id=actor.id,
        action="attempt.part_resumed",
        entity_type="attempt_part",
        entity_id=part.id,
        before={"deadline": pause.deadline_before.isoformat()},
        after={
            "pause_id": pause.id,
            "deadline": deadline.isoformat(),
            "paused": str(now - paused_at),
        },
    )
    return pause


async def open_pause(session: AsyncSession, attempt_part_id: int) -> PartPause | None:
    """The part's pause that has not ended, if it is paused."""
    pause: PartPause | None = await session.scalar(
        select(PartPause)
        .where(PartPause.attempt_part_id == attempt_part_id, PartPause.resumed_at.is_(None))
        .order_by(PartPause.id.desc())
        .limit(1)
    )
    return pause


async def pauses_of(session: AsyncSession, attempt_part_id: int) -> list[PartPause]:
    """Every pause of a part, oldest first (the record of its incidents)."""
    return list(
        await session.scalars(
            select(PartPause)
            .where(PartPause.attempt_part_id == attempt_part_id)
            .order_by(PartPause.paused_at, PartPause.id)
        )
    )


def time_left(part: AttemptPart, now: datetime) -> timedelta:
    """What is left of the part's time: it does not run down while the part is paused."""
    return timing.remaining(part.deadline, part.paused_at or now)


async def end_pause_on_termination(
    session: AsyncSession, attempt_part: AttemptPart, *, actor_id: int, now: datetime
) -> None:
    """Close the part's open pause when its attempt is ended for cheating (the clock does not
    start again: the part is handed in)."""
    if attempt_part.paused_at is None:
        return
    pause = await open_pause(session, attempt_part.id)
    if pause is not None:
        pause.resumed_at, pause.resumed_by_id = now, actor_id
    attempt_part.paused_at = None


@dataclass(frozen=True)
class ClockSignal:
    """What the exam page must act on at once, between its clock's minute-by-minute checks."""

    paused: bool
    """A part of the attempt is paused now."""
    ended: bool
    """The exam staff ended the attempt (a confirmed decision of cheating)."""


async def clock_signal(session: AsyncSession, registration_id: int) -> ClockSignal:
    """Whether the registration's attempt is paused or ended, read in one query."""
    row = (
        await session.execute(
            select(
                Attempt.status,
                func.count(AttemptPart.id).filter(AttemptPart.paused_at.is_not(None)),
            )
            .outerjoin(AttemptPart, AttemptPart.attempt_id == Attempt.id)
            .where(Attempt.registration_id == registration_id)
            .group_by(Attempt.id, Attempt.status)
        )
    ).first()
    if row is None:
        return ClockSignal(paused=False, ended=False)
    status, paused_parts = row
    return ClockSignal(paused=paused_parts > 0, ended=status == AttemptStatus.TERMINATED)
