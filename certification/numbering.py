"""Numbers of appeals and complaints: a prefix, the year and a sequence within it
("K-2026-0001"). The year and sequence are unique together, so of two rows numbered at once the
one that loses the race is numbered again, in a savepoint, with the next number."""

from __future__ import annotations

from typing import Any

import sqlalchemy.exc
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.models import Appeal, Complaint
from vakt.errors import Conflict
from vakt.i18n import _l

NUMBER_TRIES = 5


async def numbered(session: AsyncSession, row: Appeal | Complaint, prefix: str, year: int) -> None:
    """Add ``row`` with the next number of ``year`` (flushed)."""
    model: Any = type(row)
    for _ in range(NUMBER_TRIES):
        highest = await session.scalar(select(func.max(model.sequence)).where(model.year == year))
        row.year, row.sequence = year, (highest or 0) + 1
        row.number = f"{prefix}-{year}-{row.sequence:04d}"
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
            return
        except sqlalchemy.exc.IntegrityError:
            continue
    raise Conflict(_l("Many are being registered just now. Try again."))
