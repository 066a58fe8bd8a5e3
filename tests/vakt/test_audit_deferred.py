"""Deferred appends: a service's entries go to the chain at its end, in order, or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vakt import audit
from vakt.audit import AuditEntry, AuditHead, verify_chain


async def _note(session: AsyncSession, number: int) -> None:
    await audit.record(
        session, actor_id=None, action="test.deferred", entity_type="thing", entity_id=number,
        after={"value": number, "note": "æøå"},
    )  # fmt: skip


async def _deferred_entries(session: AsyncSession) -> list[str]:
    return list(
        await session.scalars(
            select(AuditEntry.entity_id)
            .where(AuditEntry.action == "test.deferred")
            .order_by(AuditEntry.seq)
        )
    )


@pytest.mark.asyncio
async def test_deferred_entries_are_appended_in_order_at_the_end_of_the_outer_block(
    session: AsyncSession,
) -> None:
    async with audit.deferred(session):
        await _note(session, 1)
        async with audit.deferred(session):
            await _note(session, 2)
        # The inner block appends with the outer one: nothing is in the chain yet.
        assert await _deferred_entries(session) == []
        await _note(session, 3)
        assert await _deferred_entries(session) == []
    assert await _deferred_entries(session) == ["1", "2", "3"]
    await session.commit()
    report = await verify_chain(session)
    assert report.ok, report.problems
    # Appended after the block: recording works as before.
    await _note(session, 4)
    await session.commit()
    assert await _deferred_entries(session) == ["1", "2", "3", "4"]
    assert (await verify_chain(session)).ok


@pytest.mark.asyncio
async def test_a_failing_block_appends_nothing(session: AsyncSession) -> None:
    before = await session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(RuntimeError):
        async with audit.deferred(session):
            await _note(session, 1)
            raise RuntimeError("the service failed")
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == before
    assert "vakt.audit.deferred" not in session.info
    # The session records at once again.
    await _note(session, 2)
    await session.commit()
    assert await _deferred_entries(session) == ["2"]
    assert (await verify_chain(session)).ok


@pytest.mark.asyncio
async def test_many_entries_in_one_append_chain_and_verify(session: AsyncSession) -> None:
    events = [
        audit.AuditEvent(None, "test.deferred", "thing", number, None, {"n": number})
        for number in range(50)
    ]
    entries = await audit.record_many(session, events)
    await session.commit()
    assert [entry.seq for entry in entries] == list(range(entries[0].seq, entries[0].seq + 50))
    stored = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "test.deferred").order_by(AuditEntry.seq)
        )
    ).all()
    assert [(e.seq, e.hash, e.prev_hash) for e in stored] == [
        (e.seq, e.hash, e.prev_hash) for e in entries
    ]
    head = await session.get(AuditHead, 1)
    assert head is not None and (head.last_seq, head.last_hash) == (
        entries[-1].seq,
        entries[-1].hash,
    )
    assert (await verify_chain(session)).ok
