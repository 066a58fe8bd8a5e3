"""Fixtures of proctoring's own tests."""

from __future__ import annotations

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from proctoring.schemas import Policy
from tests.exam.factories import Exam, build_exam
from vakt.accounts import User


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    """A proctored exam (the default policy) with two registered candidates."""
    return await build_exam(session, users, proctoring=Policy())
