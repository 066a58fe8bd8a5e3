"""The watchdog: what nobody reported. A part whose live channel stays away, a camera or
microphone that stays off longer than the reconnect grace, and flags still open on parts that
have been handed in (``jobs.watch_once`` runs it in every worker)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart, AttemptStatus, Registration, Sitting
from proctoring import flags
from proctoring.models import (
    ConnectionState,
    Flag,
    FlagSource,
    FlagType,
    LiveChannel,
    ProctoringPolicy,
)
from proctoring.recordings import chunk_at
from proctoring.schemas import Policy
from proctoring.service import policy_for_scheme

NEVER_CONNECTED = "never connected"
"""The evidence's ``state`` of a lost channel that never reached the server."""


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
            Flag.type == FlagType.LIVE_CHANNEL_LOST,
            Flag.ended_at.is_(None),
            LiveChannel.connection_state == ConnectionState.CONNECTED,
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
        Flag.type == FlagType.LIVE_CHANNEL_LOST, Flag.ended_at.is_(None)
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
            or_(
                LiveChannel.registration_id.is_(None),
                LiveChannel.connection_state != ConnectionState.CONNECTED,
            ),
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
            source=FlagSource.LIVE,
            registration_id=registration.id,
            attempt_id=attempt.id,
            attempt_part_id=part.id,
            started_at=lost_since,
            evidence={"state": live.connection_state if live else NEVER_CONNECTED},
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
            Flag.type == flag_type, Flag.ended_at.is_(None)
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
                LiveChannel.connection_state == ConnectionState.CONNECTED,
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
            if live is None or live.connection_state != ConnectionState.CONNECTED or since is None:
                continue
            if now - since < timedelta(seconds=policy.live_reconnect_grace_seconds):
                continue
            started = max(since, part.started_at)
            await flags.raise_flag(
                session,
                policy=policy,
                flag_type=flag_type,
                source=FlagSource.LIVE,
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
