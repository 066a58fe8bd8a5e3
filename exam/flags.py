"""Flags for review: the candidate marks items to come back to. They are kept on the server with
the answers, so they follow the candidate to another computer, under the same rules as saving an
answer: the candidate's own part, from the browser the attempt is tied to, while the part runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import ItemFlag
from exam.save_statements import check_sequence, save_target
from vakt import audit
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import _l

_FLAG = cast(Table, ItemFlag.__table__)


@dataclass(frozen=True)
class FlagResult:
    """What a flag change did: whether it became the newest, and the flag the server now holds."""

    applied: bool
    flagged: bool
    sequence: int


def _upsert(dialect_insert: Any) -> Any:
    statement = dialect_insert(_FLAG).values(
        attempt_part_id=bindparam("part_id"),
        item_version_id=bindparam("item_version_id"),
        flagged=bindparam("flagged"),
        sequence=bindparam("sequence"),
        changed_at=bindparam("now"),
    )
    # The database decides between two changes arriving at once: only a newer sequence wins.
    return statement.on_conflict_do_update(
        index_elements=[_FLAG.c.attempt_part_id, _FLAG.c.item_version_id],
        set_={
            "flagged": statement.excluded.flagged,
            "sequence": statement.excluded.sequence,
            "changed_at": statement.excluded.changed_at,
        },
        where=_FLAG.c.sequence < statement.excluded.sequence,
    )


_UPSERT_FLAG = {"postgresql": _upsert(postgresql_insert), "sqlite": _upsert(sqlite_insert)}


async def set_flag(
    session: AsyncSession,
    *,
    attempt_part_id: int,
    candidate: User,
    item_version_id: int,
    flagged: bool,
    sequence: int,
    now: datetime,
    device: str | None = None,
) -> FlagResult:
    """Flag an item of a running part for review, or take the flag away. Idempotent: a repeated
    or older sequence number changes nothing. Refused (404) for another candidate's part or an
    item not on the part, from another browser than the attempt's (403), and (409) once the
    part is handed in, its time is up, or while the proctor has paused it. Every change that
    takes effect is audited."""
    target = await save_target(session, attempt_part_id, candidate, item_version_id)
    if target.document is None:
        raise NotFound(_l("That item is not part of this exam part."))
    target.check_open(
        device,
        now,
        handed_in=_l("This part has been handed in; flags can no longer change."),
        time_up=_l("The time for this part is up; flags can no longer change."),
    )
    check_sequence(sequence, now)
    result = await session.execute(
        _UPSERT_FLAG[session.get_bind().dialect.name],
        {
            "part_id": attempt_part_id,
            "item_version_id": item_version_id,
            "flagged": flagged,
            "sequence": sequence,
            "now": now,
        },
    )
    if result.rowcount:  # type: ignore[attr-defined]
        await audit.record(
            session,
            actor_id=candidate.id,
            action="attempt.flag_item" if flagged else "attempt.unflag_item",
            entity_type="attempt_part",
            entity_id=attempt_part_id,
            after={"item_version_id": item_version_id, "sequence": sequence},
        )
        return FlagResult(applied=True, flagged=flagged, sequence=sequence)
    held = (
        await session.execute(
            select(ItemFlag.flagged, ItemFlag.sequence).where(
                ItemFlag.attempt_part_id == attempt_part_id,
                ItemFlag.item_version_id == item_version_id,
            )
        )
    ).one()
    return FlagResult(applied=False, flagged=held.flagged, sequence=held.sequence)


async def flags_of(session: AsyncSession, attempt_part_id: int) -> dict[int, ItemFlag]:
    """A part's flags as the candidate last left them, by item version (flagged or not)."""
    rows = await session.scalars(
        select(ItemFlag).where(ItemFlag.attempt_part_id == attempt_part_id)
    )
    return {row.item_version_id: row for row in rows}
