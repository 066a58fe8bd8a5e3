"""Flags: opening and closing them, one open flag per type and attempt at a time.

Every flag is written to the audit log when it opens and when it closes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from proctoring.models import Flag, FlagSource, FlagType
from proctoring.schemas import Policy
from vakt import audit


def _describe(flag: Flag) -> dict[str, Any]:
    return {
        "type": flag.type,
        "severity": flag.severity,
        "source": flag.source,
        "registration_id": flag.registration_id,
        "attempt_id": flag.attempt_id,
        "attempt_part_id": flag.attempt_part_id,
        "started_at": flag.started_at,
        "ended_at": flag.ended_at,
        "evidence": flag.evidence,
    }


async def open_flag_of(
    session: AsyncSession, *, registration_id: int, flag_type: FlagType
) -> Flag | None:
    """The registration's open flag of this type, if there is one."""
    flag: Flag | None = await session.scalar(
        select(Flag)
        .where(
            Flag.registration_id == registration_id,
            Flag.type == flag_type,
            Flag.ended_at.is_(None),
        )
        .order_by(Flag.id.desc())
        .limit(1)
    )
    return flag


async def raise_flag(
    session: AsyncSession,
    *,
    policy: Policy,
    flag_type: FlagType,
    source: FlagSource,
    registration_id: int,
    attempt_id: int | None,
    attempt_part_id: int | None,
    started_at: datetime,
    ended_at: datetime | None = None,
    evidence: dict[str, Any] | None = None,
    note: str = "",
) -> Flag:
    """Record a flag. A state that is already flagged and still open is not flagged twice; a flag
    with ``ended_at`` is a closed period (or, equal to ``started_at``, a single moment)."""
    if ended_at is None:
        existing = await open_flag_of(session, registration_id=registration_id, flag_type=flag_type)
        if existing is not None:
            return existing
    flag = Flag(
        registration_id=registration_id,
        attempt_id=attempt_id,
        attempt_part_id=attempt_part_id,
        type=flag_type,
        severity=policy.severity_of(flag_type),
        source=source,
        started_at=started_at,
        ended_at=ended_at,
        evidence=evidence or {},
        note=note,
    )
    session.add(flag)
    await session.flush()
    await audit.record(
        session,
        actor_id=None,
        action="proctoring.flag_raised",
        entity_type="proctoring_flag",
        entity_id=flag.id,
        after=_describe(flag),
    )
    return flag


async def end_flag(
    session: AsyncSession,
    *,
    registration_id: int,
    flag_type: FlagType,
    ended_at: datetime,
    evidence: dict[str, Any] | None = None,
    source: FlagSource | None = None,
) -> Flag | None:
    """Close the open flag of this type (if any) at ``ended_at``.

    With ``source``, only a flag raised by that source is closed: whoever may end a flag must
    not end one that someone else noticed (the candidate's browser cannot end what the server
    saw)."""
    flag = await open_flag_of(session, registration_id=registration_id, flag_type=flag_type)
    if flag is None or (source is not None and flag.source != source):
        return None
    if evidence:
        flag.evidence = {**flag.evidence, **evidence}
    await close(session, flag, ended_at)
    return flag


async def close(session: AsyncSession, flag: Flag, ended_at: datetime, why: str = "") -> None:
    """End an open flag at ``ended_at`` (never before it started)."""
    flag.ended_at = max(ended_at, flag.started_at)
    await audit.record(
        session,
        actor_id=None,
        action="proctoring.flag_ended",
        entity_type="proctoring_flag",
        entity_id=flag.id,
        after={"ended_at": flag.ended_at, **({"why": why} if why else {})},
    )


async def flags_of_registration(session: AsyncSession, registration_id: int) -> list[Flag]:
    """Every flag of a registration (its check-in and its attempt), oldest first."""
    return list(
        await session.scalars(
            select(Flag)
            .where(Flag.registration_id == registration_id)
            .order_by(Flag.started_at, Flag.id)
        )
    )
