"""Proctoring services: a scheme's policy, the live channel's state, browser events, the watchdog
that notices what nobody reported, and retention.

Recordings are in ``recordings``; the identity check is in ``identity``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart, AttemptStatus, Registration, Sitting
from proctoring import flags
from proctoring.models import Flag, FlagType, LiveChannel, ProctoringPolicy
from proctoring.schemas import BrowserEvent, Policy
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l

BROWSER_SOURCE = "browser"
"""The ``source`` of flags the exam page reported."""
BROWSER_FLAGS: dict[str, FlagType] = {
    "tab_hidden": FlagType.TAB_HIDDEN,
    "window_unfocused": FlagType.WINDOW_UNFOCUSED,
    "fullscreen_left": FlagType.FULLSCREEN_LEFT,
    "paste": FlagType.PASTE,
    "second_screen": FlagType.SECOND_SCREEN,
    "network_loss": FlagType.NETWORK_LOSS,
    "camera_off": FlagType.CAMERA_OFF,
    "microphone_off": FlagType.MICROPHONE_OFF,
}


# ---- policy -----------------------------------------------------------------------------------


async def policy_for_scheme(session: AsyncSession, scheme_id: int) -> Policy:
    """The scheme's proctoring policy (the defaults until staff change it)."""
    row = await session.get(ProctoringPolicy, scheme_id)
    return Policy.model_validate(row.settings) if row else Policy()


async def set_policy(
    session: AsyncSession, *, scheme_id: int, values: dict[str, Any], actor: User, now: datetime
) -> Policy:
    """Change a scheme's policy; refuses values out of range with the field at fault."""
    try:
        policy = Policy.model_validate(values)
    except ValidationError as error:
        where = str(error.errors()[0]["loc"][0]) if error.errors()[0]["loc"] else ""
        raise VaktError(
            _l("{name}: the value is missing, not a number, or outside the allowed range."),
            field=where or None,
            status_code=422,
            name=where,
        ) from None
    row = await session.get(ProctoringPolicy, scheme_id)
    before = row.settings if row else None
    settings = policy.model_dump(mode="json")
    if row is None:
        session.add(
            ProctoringPolicy(
                scheme_id=scheme_id, settings=settings, updated_at=now, updated_by_id=actor.id
            )
        )
    else:
        row.settings, row.updated_at, row.updated_by_id = settings, now, actor.id
    await audit.record(
        session,
        actor_id=actor.id,
        action="proctoring.policy_changed",
        entity_type="scheme",
        entity_id=scheme_id,
        before=before,
        after=settings,
    )
    return policy


async def policy_for_registration(session: AsyncSession, registration: Registration) -> Policy:
    """The proctoring policy of the scheme a registration's sitting belongs to."""
    sitting = await session.get(Sitting, registration.sitting_id)
    assert sitting is not None
    return await policy_for_scheme(session, sitting.scheme_id)


@dataclass(frozen=True)
class Context:
    """A registration with what proctoring needs around it."""

    registration: Registration
    policy: Policy
    attempt: Attempt | None
    current_part: AttemptPart | None


async def context_of(session: AsyncSession, registration_id: int) -> Context:
    """The registration, its scheme's policy, its attempt and the part running now (if any)."""
    registration = await session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(_l("No such registration."))
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == registration_id)
    )
    current = None
    if attempt is not None:
        current = await session.scalar(
            select(AttemptPart).where(
                AttemptPart.attempt_id == attempt.id,
                AttemptPart.submitted_at.is_(None),
            )
        )
    return Context(
        registration, await policy_for_registration(session, registration), attempt, current
    )


# ---- the live channel's state ------------------------------------------------------------------


async def live_state(session: AsyncSession, registration_id: int) -> LiveChannel | None:
    """The newest known state of the registration's live channel."""
    return await session.get(LiveChannel, registration_id)


async def set_live_state(
    session: AsyncSession,
    *,
    registration_id: int,
    now: datetime,
    connection_state: str | None = None,
    video_live: bool | None = None,
    audio_live: bool | None = None,
    connection_id: str | None = None,
    new_connection: bool = False,
    video_stalled: bool = False,
    audio_stalled: bool = False,
) -> LiveChannel | None:
    """Remember what the live channel reported (kept in the database for every worker).

    ``connection_id`` names the peer connection reporting. ``new_connection`` makes it the
    registration's current one; a report from any other connection (one replaced by a newer
    offer, perhaps in another worker process) changes nothing and answers None. A stalled track
    is off since ``now`` (unless it already was) until it is live again; a track that merely
    ended, and every track of a closed connection, is not "off": the page went away, and the
    watchdog flags a channel that stays away.
    """
    row = await session.get(LiveChannel, registration_id, with_for_update=True)
    if row is None:
        # The offer's request and the connection's first observations may both be first here.
        dialect = session.get_bind().dialect.name
        dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        await session.execute(
            dialect_insert(LiveChannel)
            .values(
                registration_id=registration_id,
                connection_state="new",
                video_live=False,
                audio_live=False,
                updated_at=now,
            )
            .on_conflict_do_nothing()
        )
        row = await session.get(
            LiveChannel, registration_id, with_for_update=True, populate_existing=True
        )
        assert row is not None
    if new_connection:
        row.connection_id = connection_id
        row.video_live = row.audio_live = False
        row.video_off_since = row.audio_off_since = None
    elif connection_id is not None and row.connection_id != connection_id:
        return None
    if connection_state is not None:
        if connection_state == "connected" and row.connection_state != "connected":
            row.connected_at = now
        if connection_state in {"closed", "failed"}:
            row.video_live = row.audio_live = False
            row.video_off_since = row.audio_off_since = None
        row.connection_state = connection_state
    if video_live is not None:
        row.video_live = video_live
        if video_live:
            row.video_off_since = None
    if audio_live is not None:
        row.audio_live = audio_live
        if audio_live:
            row.audio_off_since = None
    if video_stalled and row.video_off_since is None:
        row.video_off_since = now
    if audio_stalled and row.audio_off_since is None:
        row.audio_off_since = now
    row.updated_at = now
    return row


def receives_media(row: LiveChannel | None, *, connection_id: str | None = None) -> bool:
    """Whether the live channel is connected with live picture and sound (what a part's start
    requires), and, given ``connection_id``, on that connection rather than another."""
    return (
        row is not None
        and (connection_id is None or row.connection_id == connection_id)
        and row.connection_state == "connected"
        and row.video_live
        and row.audio_live
    )


async def require_live_media(session: AsyncSession, context: Context) -> None:
    """Refuse to start a part while the camera and microphone do not reach the server."""
    if not context.policy.enabled:
        return
    row = await live_state(session, context.registration.id)
    if row is None or row.connection_state != "connected":
        raise Conflict(
            _l(
                "The part cannot start yet: your camera and microphone are not connected to the "
                "exam service. Allow the camera and microphone for this site, keep this page "
                "open until it says they are on, then start again."
            )
        )
    if not row.video_live:
        raise Conflict(
            _l(
                "The part cannot start yet: no picture arrives from your camera. Check that the "
                "camera is connected, not covered and not used by another program."
            )
        )
    if not row.audio_live:
        raise Conflict(
            _l(
                "The part cannot start yet: no sound arrives from your microphone. Check that "
                "the microphone is connected and not muted."
            )
        )


# ---- events the exam page reports ----------------------------------------------------------------


async def record_browser_event(
    session: AsyncSession, *, context: Context, event: BrowserEvent, now: datetime
) -> None:
    """Turn what the exam page noticed into a flag (or the end of one).

    Only what happens while a part runs counts: before the exam and in the breaks between parts
    the candidate may leave the page.
    """
    if context.attempt is None:
        return
    flag_type = BROWSER_FLAGS[event.type]
    part = context.current_part
    if event.part_id is not None and (part is None or part.id != event.part_id):
        # A late report about a part already handed in still belongs to that part.
        reported = await session.get(AttemptPart, event.part_id)
        if reported is None or reported.attempt_id != context.attempt.id:
            raise NotFound(_l("No such part."))
        part = reported
    if part is None:
        return
    earliest = part.started_at

    def clamp(moment: datetime | None, default: datetime) -> datetime:
        # The browser's times are only hints: keep them inside the part and never in the future.
        return min(max(moment, earliest), now) if moment else default

    attempt_id, part_id = context.attempt.id, part.id
    if event.type == "paste" or (event.started_at and event.ended_at):
        started = clamp(event.started_at, now)
        await flags.raise_flag(
            session,
            policy=context.policy,
            flag_type=flag_type,
            source=BROWSER_SOURCE,
            registration_id=context.registration.id,
            attempt_id=attempt_id,
            attempt_part_id=part_id,
            started_at=started,
            ended_at=max(clamp(event.ended_at, now), started),
            evidence={
                "chunk_index": chunk_at(part.started_at, started, context.policy),
                **({"characters": event.characters} if event.characters is not None else {}),
            },
            note=event.detail,
        )
    elif event.active:
        await flags.raise_flag(
            session,
            policy=context.policy,
            flag_type=flag_type,
            source=BROWSER_SOURCE,
            registration_id=context.registration.id,
            attempt_id=attempt_id,
            attempt_part_id=part_id,
            started_at=clamp(event.started_at, now),
            evidence={
                "chunk_index": chunk_at(
                    part.started_at, clamp(event.started_at, now), context.policy
                )
            },
            note=event.detail,
        )
    else:
        # Only what the browser raised may the browser end: a camera the server sees off stays
        # flagged whatever the page says. The end is kept between the flag's start and now.
        await flags.end_flag(
            session,
            registration_id=context.registration.id,
            flag_type=flag_type,
            ended_at=clamp(event.ended_at, now),
            source=BROWSER_SOURCE,
        )


def chunk_at(part_started: datetime, moment: datetime, policy: Policy) -> int:
    """The recording chunk that holds ``moment`` (the recorder starts with the part)."""
    return max(0, int((moment - part_started).total_seconds() // policy.chunk_seconds))


# ---- the watchdog ------------------------------------------------------------------------------


async def _unproctored_schemes(session: AsyncSession) -> list[int]:
    rows = await session.execute(select(ProctoringPolicy.scheme_id, ProctoringPolicy.settings))
    return [
        scheme_id for scheme_id, settings in rows if not Policy.model_validate(settings).enabled
    ]


async def watch_running_parts(session: AsyncSession, *, now: datetime) -> int:
    """Flag running parts whose live channel is gone, and end those flags when it is back.

    Runs in the background of every worker; the state it reads is in the database, so it does
    not matter which worker holds the peer connection. It reads only the parts that need
    something done (thousands of candidates may be in an exam). Returns how many flags changed.
    """
    changed = 0
    back = await session.execute(
        select(Flag.registration_id)
        .join(LiveChannel, LiveChannel.registration_id == Flag.registration_id)
        .where(
            Flag.type == FlagType.LIVE_CHANNEL_LOST.value,
            Flag.ended_at.is_(None),
            LiveChannel.connection_state == "connected",
        )
    )
    for (registration_id,) in back:
        await flags.end_flag(
            session,
            registration_id=registration_id,
            flag_type=FlagType.LIVE_CHANNEL_LOST,
            ended_at=now,
        )
        changed += 1
    already_flagged = select(Flag.registration_id).where(
        Flag.type == FlagType.LIVE_CHANNEL_LOST.value, Flag.ended_at.is_(None)
    )
    rows = await session.execute(
        select(AttemptPart, Attempt, Registration, LiveChannel, Sitting.scheme_id)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .outerjoin(LiveChannel, LiveChannel.registration_id == Registration.id)
        .where(
            AttemptPart.submitted_at.is_(None),
            AttemptPart.deadline > now,
            Attempt.status == AttemptStatus.IN_PROGRESS,
            Sitting.scheme_id.not_in(await _unproctored_schemes(session)),
            or_(LiveChannel.registration_id.is_(None), LiveChannel.connection_state != "connected"),
            Registration.id.not_in(already_flagged),
        )
    )
    policies: dict[int, Policy] = {}

    async def policy_of(scheme_id: int) -> Policy:
        if scheme_id not in policies:
            policies[scheme_id] = await policy_for_scheme(session, scheme_id)
        return policies[scheme_id]

    for part, attempt, registration, live, scheme_id in rows:
        policy = await policy_of(scheme_id)
        lost_since = max(live.updated_at if live else part.started_at, part.started_at)
        if now - lost_since < timedelta(seconds=policy.live_reconnect_grace_seconds):
            continue  # a page change reconnects in a moment
        await flags.raise_flag(
            session,
            policy=policy,
            flag_type=FlagType.LIVE_CHANNEL_LOST,
            source="live",
            registration_id=registration.id,
            attempt_id=attempt.id,
            attempt_part_id=part.id,
            started_at=lost_since,
            evidence={"state": live.connection_state if live else "never connected"},
        )
        changed += 1
    return changed + await _flag_media_off(session, now=now, policy_of=policy_of)


def _off_since(live: LiveChannel, flag_type: FlagType) -> datetime | None:
    return live.video_off_since if flag_type is FlagType.CAMERA_OFF else live.audio_off_since


MEDIA_OFF_FLAGS = (
    (FlagType.CAMERA_OFF, LiveChannel.video_off_since),
    (FlagType.MICROPHONE_OFF, LiveChannel.audio_off_since),
)


async def _flag_media_off(
    session: AsyncSession, *, now: datetime, policy_of: Callable[[int], Awaitable[Policy]]
) -> int:
    """Flag a camera or microphone that the live channel has received nothing from for longer
    than the reconnect grace: a reload stops both for a moment, and the new page's connection
    brings them back (or, if they stay off, is flagged in turn)."""
    changed = 0
    for flag_type, off_since in MEDIA_OFF_FLAGS:
        already_flagged = select(Flag.registration_id).where(
            Flag.type == flag_type.value, Flag.ended_at.is_(None)
        )
        rows = await session.execute(
            select(AttemptPart, Attempt, Registration.id, Sitting.scheme_id)
            .join(Attempt, Attempt.id == AttemptPart.attempt_id)
            .join(Registration, Registration.id == Attempt.registration_id)
            .join(Sitting, Sitting.id == Registration.sitting_id)
            .join(LiveChannel, LiveChannel.registration_id == Registration.id)
            .where(
                AttemptPart.submitted_at.is_(None),
                AttemptPart.deadline > now,
                Attempt.status == AttemptStatus.IN_PROGRESS,
                LiveChannel.connection_state == "connected",
                off_since.is_not(None),
                Registration.id.not_in(already_flagged),
            )
        )
        for part, attempt, registration_id, scheme_id in rows:
            policy = await policy_of(scheme_id)
            if not policy.enabled:
                continue
            # Read again, locked: the track may have come back since the query.
            live = await session.get(
                LiveChannel, registration_id, with_for_update=True, populate_existing=True
            )
            since = _off_since(live, flag_type) if live else None
            if live is None or live.connection_state != "connected" or since is None:
                continue
            if now - since < timedelta(seconds=policy.live_reconnect_grace_seconds):
                continue
            started = max(since, part.started_at)
            await flags.raise_flag(
                session,
                policy=policy,
                flag_type=flag_type,
                source="live",
                registration_id=registration_id,
                attempt_id=attempt.id,
                attempt_part_id=part.id,
                started_at=started,
                evidence={
                    "state": "stalled",
                    "chunk_index": chunk_at(part.started_at, started, policy),
                },
            )
            changed += 1
    return changed


async def end_flags_of_closed_parts(session: AsyncSession) -> int:
    """Close the flags still open on parts that have been handed in (at the hand-in)."""
    rows = await session.execute(
        select(Flag, AttemptPart)
        .join(AttemptPart, AttemptPart.id == Flag.attempt_part_id)
        .where(Flag.ended_at.is_(None), AttemptPart.submitted_at.is_not(None))
    )
    count = 0
    for flag, part in rows:
        assert part.submitted_at is not None
        await flags.close(session, flag, part.submitted_at, why="part handed in")
        count += 1
    return count
