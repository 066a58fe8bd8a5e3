"""The audit log's hash chain catches edited, inserted and deleted entries."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vakt import audit
from vakt.audit import AuditEntry, verify_chain
from vakt.settings import Settings


async def _append(session: AsyncSession, count: int) -> None:
    for number in range(count):
        await audit.record(
            session, actor_id=None, action="test.change", entity_type="thing", entity_id=number,
            before={"value": number}, after={"value": number + 1, "note": "æøå"},
        )  # fmt: skip
    await session.commit()


@pytest.mark.asyncio
async def test_intact_chain_verifies(session: AsyncSession) -> None:
    await _append(session, 5)
    report = await verify_chain(session)
    assert report.ok, report.problems
    assert report.checked >= 5


@pytest.mark.asyncio
async def test_edited_entry_is_caught(session: AsyncSession) -> None:
    await _append(session, 5)
    last = await session.scalar(select(func.max(AuditEntry.seq)))
    assert last is not None
    await session.execute(
        update(AuditEntry).where(AuditEntry.seq == last - 2).values(after={"value": 999})
    )
    await session.commit()
    report = await verify_chain(session)
    assert not report.ok
    assert any(f"entry {last - 2}" in problem for problem in report.problems)


@pytest.mark.asyncio
async def test_rehashed_edit_still_breaks_the_link(session: AsyncSession) -> None:
    await _append(session, 4)
    last = await session.scalar(select(func.max(AuditEntry.seq)))
    assert last is not None
    await session.execute(
        update(AuditEntry).where(AuditEntry.seq == last - 1).values(hash="f" * 64)
    )
    await session.commit()
    report = await verify_chain(session)
    assert not report.ok


@pytest.mark.asyncio
async def test_deleted_entries_are_caught_in_the_middle_and_at_the_end(
    session: AsyncSession,
) -> None:
    await _append(session, 5)
    last = await session.scalar(select(func.max(AuditEntry.seq)))
    assert last is not None
    await session.execute(delete(AuditEntry).where(AuditEntry.seq == last - 2))
    await session.commit()
    assert not (await verify_chain(session)).ok


@pytest.mark.asyncio
async def test_deleting_the_last_entry_is_caught(session: AsyncSession) -> None:
    await _append(session, 3)
    last = await session.scalar(select(func.max(AuditEntry.seq)))
    await session.execute(delete(AuditEntry).where(AuditEntry.seq == last))
    await session.commit()
    report = await verify_chain(session)
    assert not report.ok
    assert any("head" in problem for problem in report.problems)


@pytest.mark.asyncio
async def test_cli_verify_reports_tampering(session: AsyncSession, settings: Settings) -> None:
    await _append(session, 3)
    env = {**os.environ, "VAKT_DATABASE_URL": settings.database_url}
    command = [sys.executable, "-m", "vakt.cli", "audit", "verify"]
    intact = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True
    )
    assert intact.returncode == 0, intact.stderr
    assert "intact" in intact.stdout
    await session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(action="hidden"))
    await session.commit()
    tampered = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True
    )
    assert tampered.returncode == 1
    assert "tampered" in tampered.stderr
