"""The proctors' live grid of a sitting: for every candidate whose attempt is running, the newest
still frame, the live channel's state, the flags still undecided, the part running now and its
time left, read in one query.

The grid lives in the database only (no process memory), so any worker of ``vakt serve
--workers N`` can serve a proctor's page and its stream of changes (``web.routes.proctoring.
live``): the stream repeats this query every few seconds and sends what changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart, AttemptStatus, Registration, Sitting
from exam.pauses import time_left
from exam.roles import require
from proctoring.access import PROCTORS, REFUSED
from proctoring.involvement import note_involvement
from proctoring.models import Flag, LiveChannel, Severity, Snapshot
from proctoring.storage import MediaStore
from vakt import audit
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import _l

_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}
_BY_RANK = {rank: severity for severity, rank in _RANK.items()}


@dataclass(frozen=True, slots=True)
class LiveCard:
    """One live candidate on the grid, as the page and its stream show it."""

    registration_id: int
    attempt_id: int
    candidate: str
    """The candidate's full name (proctors watch people they must recognise)."""
    connection: str | None
    """The live channel's connection state; None before the page ever connected."""
    camera: bool
    microphone: bool
    frame_id: int | None
    """The newest still frame (a snapshot id): its URL changes with every new frame."""
    open_flags: int
    """Flags no proctor has decided yet."""
    worst: str | None
    """The most severe of them (``Severity``)."""
    newest_flag_id: int | None
    newest_flag: str | None
    """The newest undecided flag's type (``FlagType``): what a new flag announces."""
    part_id: int | None
    part_number: int | None
    """The running part, counted from 1; None between parts."""
    deadline: str | None
    """When the running part's time is up (ISO 8601, UTC); it moves when a pause ends."""
    seconds_left: int | None
    """The part's time left now; constant while paused (the page counts down otherwise)."""
    paused: bool

    def as_json(self) -> dict[str, Any]:
        """The card as the page's script reads it."""
        return asdict(self)

    def stable(self) -> dict[str, Any]:
        """The card without its running clock (which the page counts down by itself): what
        tells whether the card changed."""
        shown = asdict(self)
        if not self.paused:
            shown["seconds_left"] = None
        return shown


@dataclass(frozen=True, slots=True)
class LiveGrid:
    """The grid of one sitting at one moment."""

    sitting_id: int
    cards: list[LiveCard]

    def digest(self) -> str:
        """Names this state of the grid (the stream's event id), apart from the running clocks:
        a stream resumed with the digest of the state it already has sends nothing new."""
        stable = [card.stable() for card in self.cards]
        encoded = json.dumps(stable, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(encoded).hexdigest()[:32]


async def live_sitting(session: AsyncSession, sitting_id: int, *, viewer: User) -> Sitting:
    """The sitting whose grid a proctor watches; a 404 when there is none."""
    require(viewer, PROCTORS, REFUSED)
    sitting = await session.get(Sitting, sitting_id)
    if sitting is None:
        raise NotFound(_l("No such sitting."))
    return sitting


@dataclass(frozen=True, slots=True)
class GridPage:
    """The live grid page: the sitting and its grid now."""

    sitting: Sitting
    grid: LiveGrid


async def open_grid(
    session: AsyncSession, sitting_id: int, *, viewer: User, now: datetime
) -> GridPage:
    """A proctor opens a sitting's live grid: audited once per opening, and every candidate on
    it is noted as proctored by the viewer (they take no part in grading them). The frames the
    grid then shows every few seconds are not audited one by one: the opening stands for them."""
    sitting = await live_sitting(session, sitting_id, viewer=viewer)
    grid = await live_grid(session, sitting.id, now=now)
    for card in grid.cards:
        await note_involvement(
            session, registration_id=card.registration_id, proctor=viewer, now=now
        )
    await audit.record(
        session,
        actor_id=viewer.id,
        action="proctoring.live_grid_viewed",
        entity_type="sitting",
        entity_id=sitting.id,
        after={"registrations": [card.registration_id for card in grid.cards]},
    )
    return GridPage(sitting, grid)


async def live_frame(
    session: AsyncSession,
    store: MediaStore,
    *,
    sitting_id: int,
    snapshot_id: int,
    viewer: User,
    now: datetime,
) -> bytes:
    """A still frame (JPEG) of one of the sitting's attempts, for its live grid; a frame of
    another sitting's attempt is "not found". The viewer is noted as proctoring the candidate."""
    require(viewer, PROCTORS, REFUSED)
    found = (
        await session.execute(
            select(Snapshot.stored_name, Registration.id)
            .join(Attempt, Attempt.id == Snapshot.attempt_id)
            .join(Registration, Registration.id == Attempt.registration_id)
            .where(
                Snapshot.id == snapshot_id,
                Snapshot.purged_at.is_(None),
                Registration.sitting_id == sitting_id,
            )
        )
    ).first()
    if found is None:
        raise NotFound(_l("No such snapshot."))
    stored_name, registration_id = found
    await note_involvement(session, registration_id=registration_id, proctor=viewer, now=now)
    try:
        return store.read_image(stored_name)
    except FileNotFoundError:
        # Replaced by a newer frame between the query and the read.
        raise NotFound(_l("No such snapshot.")) from None


async def live_grid(session: AsyncSession, sitting_id: int, *, now: datetime) -> LiveGrid:
    """The sitting's running attempts, by candidate name, with their live state (one query)."""
    open_flags = (
        select(
            Flag.attempt_id.label("attempt_id"),
            func.count().label("open"),
            func.max(
                case(
                    *((Flag.severity == severity, rank) for severity, rank in _RANK.items()),
                    else_=0,
                )
            ).label("worst"),
            func.max(Flag.id).label("newest"),
        )
        .where(Flag.decision.is_(None), Flag.attempt_id.is_not(None))
        .group_by(Flag.attempt_id)
        .subquery()
    )
    newest_flag = Flag.__table__.alias("newest_flag")
    frames = (
        select(Snapshot.attempt_id.label("attempt_id"), func.max(Snapshot.id).label("frame"))
        .where(Snapshot.purged_at.is_(None))
        .group_by(Snapshot.attempt_id)
        .subquery()
    )
    running = (
        select(func.max(AttemptPart.id).label("id"), AttemptPart.attempt_id.label("attempt_id"))
        .where(AttemptPart.submitted_at.is_(None))
        .group_by(AttemptPart.attempt_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Attempt.id,
            Registration.id,
            User.full_name,
            LiveChannel,
            frames.c.frame,
            open_flags.c.open,
            open_flags.c.worst,
            open_flags.c.newest,
            newest_flag.c.type,
            AttemptPart,
        )
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(User, User.id == Registration.candidate_id)
        .outerjoin(LiveChannel, LiveChannel.registration_id == Registration.id)
        .outerjoin(frames, frames.c.attempt_id == Attempt.id)
        .outerjoin(open_flags, open_flags.c.attempt_id == Attempt.id)
        .outerjoin(newest_flag, newest_flag.c.id == open_flags.c.newest)
        .outerjoin(running, running.c.attempt_id == Attempt.id)
        .outerjoin(AttemptPart, AttemptPart.id == running.c.id)
        .where(
            Registration.sitting_id == sitting_id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
        .order_by(User.full_name, Registration.id)
    )
    cards = []
    for (
        attempt_id,
        registration_id,
        name,
        channel,
        frame,
        open_count,
        worst,
        newest,
        newest_type,
        part,
    ) in rows:
        cards.append(
            LiveCard(
                registration_id=registration_id,
                attempt_id=attempt_id,
                candidate=name,
                connection=str(channel.connection_state) if channel else None,
                camera=bool(channel and channel.video_live),
                microphone=bool(channel and channel.audio_live),
                frame_id=frame,
                open_flags=open_count or 0,
                worst=str(_BY_RANK[worst]) if worst else None,
                newest_flag_id=newest,
                newest_flag=str(newest_type) if newest_type else None,
                part_id=part.id if part else None,
                part_number=part.part_index + 1 if part else None,
                deadline=part.deadline.isoformat() if part else None,
                seconds_left=int(time_left(part, now).total_seconds()) if part else None,
                paused=bool(part and part.paused_at is not None),
            )
        )
    return LiveGrid(sitting_id, cards)
