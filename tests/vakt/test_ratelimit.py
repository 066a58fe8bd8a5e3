"""Counting requests per client and window in the database: the limit, a new window, and the
client key (an IPv6 host counts by its /64)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vakt.ratelimit import RateLimitWindow, client_key, hit

START = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)


def test_client_keys() -> None:
    assert client_key("public", "203.0.113.7") == "public:203.0.113.7"
    assert client_key("public", "2001:db8:1:2:3:4:5:6") == client_key("public", "2001:db8:1:2::9")
    assert client_key("public", "2001:db8:1:2::9") == "public:2001:db8:1:2::/64"
    assert client_key("public", "::ffff:203.0.113.7") == "public:203.0.113.7"
    assert client_key("public", "unknown") == "public:unknown"
    assert len(client_key("public", "x" * 500)) <= 80


@pytest.mark.asyncio
async def test_the_limit_per_window(session: AsyncSession) -> None:
    verdicts = [
        await hit(session, key="k", limit=3, window_seconds=60, now=START + timedelta(seconds=s))
        for s in range(4)
    ]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert verdicts[-1].retry_after_seconds == 57
    other = await hit(session, key="other", limit=3, window_seconds=60, now=START)
    assert other.allowed
    later = await hit(
        session, key="k", limit=3, window_seconds=60, now=START + timedelta(minutes=1)
    )
    assert later.allowed and later.retry_after_seconds == 60
    # Opening the new window forgot the finished ones.
    assert await session.scalar(select(func.count()).select_from(RateLimitWindow)) == 1
