"""The audit log: append-only, every state change, each entry chained to the one before by SHA-256.

Appending takes a lock on the single ``audit_head`` row first (an UPDATE), so concurrent writers
queue up instead of forking the chain; the head also remembers the last sequence number and hash,
which is how a deleted last entry is noticed. The lock is held until the writer's transaction
ends, so every writer's appends should be its last statements: a service whose work records
several entries defers them with ``deferred`` and appends them at once at its end.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Table, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from vakt.db import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64
_DEFERRED = "vakt.audit.deferred"
"""Key in ``session.info``: the events a ``deferred`` block has recorded so far."""
_AuditJSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class AuditEntry(Base):
    """One state change: who did what to which thing, when, and how it looked before and after."""

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None] = mapped_column(_AuditJSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(_AuditJSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The single row that serialises appends and remembers where the chain ends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


def _entry_digest(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    prev_hash: str,
) -> str:
    canonical = json.dumps(
        {
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "before": before,
            "after": after,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    # Round-trip through JSON so the hash sees exactly what the database will return.
    return None if value is None else json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class AuditEvent:
    """One state change to append: who did what to which thing, before and after."""

    actor_id: int | None
    action: str
    entity_type: str
    entity_id: object
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


async def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry | None:
    """Append one entry to the chain in the caller's transaction; inside ``deferred``, at the
    block's end instead (None then: the entry has no place in the chain yet)."""
    event = AuditEvent(actor_id, action, entity_type, entity_id, before, after)
    pending: list[AuditEvent] | None = session.info.get(_DEFERRED)
    if pending is not None:
        pending.append(event)
        return None
    return (await record_many(session, [event]))[0]


@asynccontextmanager
async def deferred(session: AsyncSession) -> AsyncIterator[None]:
    """Collect the entries ``record`` is asked for inside the block and append them, in order,
    when it ends without an error: one take of the chain's head, after the block's other
    statements, so the head is held from there to the commit only. Nested blocks append with
    the outermost. Nothing in the block may read the entries it records."""
    if session.info.get(_DEFERRED) is not None:
        yield
        return
    pending: list[AuditEvent] = []
    session.info[_DEFERRED] = pending
    try:
        yield
    finally:
        del session.info[_DEFERRED]
    # After the block's own statements: the head is the last lock the transaction takes.
    await session.flush()
    await record_many(session, pending)


async def record_many(session: AsyncSession, events: Sequence[AuditEvent]) -> list[AuditEntry]:
    """Append several entries in order, taking the chain's lock once (for bulk operations).

    Two statements once the head is taken: the UPDATE that takes it and reserves the sequence
    numbers, then (PostgreSQL) the entries' INSERT and the head's new hash in one statement;
    the head is held from the first to the commit, so every round trip here is one every other
    writer waits for."""
    if not events:
        return []
    head = (
        await session.execute(
            update(AuditHead)
            .where(AuditHead.id == 1)
            .values(last_seq=AuditHead.last_seq + len(events))
            .returning(AuditHead.last_seq, AuditHead.last_hash)
        )
    ).one_or_none()
    if head is None:
        session.add(AuditHead(id=1, last_seq=len(events), last_hash=GENESIS_HASH))
        await session.flush()
        first_seq, prev_hash = 1, GENESIS_HASH
    else:
        first_seq, prev_hash = head.last_seq - len(events) + 1, head.last_hash
    at = utcnow()
    rows: list[dict[str, Any]] = []
    for offset, event in enumerate(events):
        fields: dict[str, Any] = {
            "seq": first_seq + offset,
            "at": at,
            "actor_id": event.actor_id,
            "action": event.action,
            "entity_type": event.entity_type,
            "entity_id": str(event.entity_id),
            "before": _jsonable(event.before),
            "after": _jsonable(event.after),
            "prev_hash": prev_hash,
        }
        prev_hash = _entry_digest(**fields)
        rows.append({**fields, "hash": prev_hash})
    move_head = update(AuditHead).where(AuditHead.id == 1).values(last_hash=prev_hash)
    if session.get_bind().dialect.name == "postgresql":
        # A data-modifying WITH runs whether or not the UPDATE refers to it.
        entries_cte = insert(_ENTRIES).values(rows).cte("new_audit_entries")
        await session.execute(move_head.add_cte(entries_cte))
    else:
        await session.execute(insert(_ENTRIES), rows)
        await session.execute(move_head)
    return [AuditEntry(**row) for row in rows]


_ENTRIES = cast(Table, AuditEntry.__table__)
"""The entries' table, for Core INSERTs (no objects to track: nothing reads them back)."""


@dataclass
class ChainReport:
    """The outcome of verifying the chain: how many entries were checked and what was wrong."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no entry was edited, inserted or deleted."""
        return not self.problems


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Recompute every hash in order and compare with the stored chain and head."""
    report = ChainReport()
    expected_prev = GENESIS_HASH
    expected_seq = 1
    result = await session.stream_scalars(select(AuditEntry).order_by(AuditEntry.seq))
    async for entry in result:
        report.checked += 1
        if entry.seq != expected_seq:
            report.problems.append(
                f"entries {expected_seq}..{entry.seq - 1} are missing (deleted?)"
            )
        if entry.prev_hash != expected_prev:
            report.problems.append(f"entry {entry.seq}: does not link to the entry before it")
        digest = _entry_digest(
            seq=entry.seq,
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            before=entry.before,
            after=entry.after,
            prev_hash=entry.prev_hash,
        )
        if digest != entry.hash:
            report.problems.append(f"entry {entry.seq}: content does not match its hash (edited?)")
        expected_prev = entry.hash
        expected_seq = entry.seq + 1
    head = await session.get(AuditHead, 1)
    last_seq = expected_seq - 1
    if head is not None and (head.last_seq != last_seq or head.last_hash != expected_prev):
        report.problems.append(
            f"the chain ends at entry {last_seq} but the head records entry {head.last_seq} "
            "(entries deleted from the end?)"
        )
    return report
