"""Fixtures the item bank's web tests share."""

from __future__ import annotations

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import schemes


@pytest_asyncio.fixture
async def scheme_id(session: AsyncSession) -> int:
    """A committed scheme (code DM) for the bank's pages to work in."""
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    await session.commit()
    return scheme.id
