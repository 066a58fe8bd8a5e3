"""Counting requests per client and fixed time window in the database, so that the limit holds
across every worker process of ``vakt serve --workers N`` (memory would count per process).

One row per client key and window; the count goes up in one statement (an upsert), so two
processes counting at once never lose a request. Finished windows are deleted whenever a
client opens a new one."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from vakt.db import Base

KEY_LENGTH = 80


class RateLimitWindow(Base):
    """How many requests one client key made in one window (``window`` counts windows since
    the epoch)."""

    __tablename__ = "rate_limit_window"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    count: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class Verdict:
    """Whether one more request is allowed, and if not, how long until the window ends."""

    allowed: bool
    retry_after_seconds: int


def client_key(scope: str, address: str) -> str:
    """The key a client address counts under: an IPv6 address by its /64 network (one host
    is given a whole /64 and could otherwise change address for every request)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        client = address[:40]
    else:
        mapped = parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else None
        if isinstance(parsed, ipaddress.IPv6Address) and mapped is None:
            client = str(ipaddress.ip_network(f"{parsed}/64", strict=False))
        else:
            client = str(mapped or parsed)
    return f"{scope}:{client}"[:KEY_LENGTH]


async def hit(
    session: AsyncSession, *, key: str, limit: int, window_seconds: int, now: datetime
) -> Verdict:
    """Count one request by ``key`` now (in the caller's transaction); not allowed once it is
    over ``limit`` requests in the current window."""
    epoch = now.timestamp()
    window = math.floor(epoch / window_seconds)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(RateLimitWindow)
        .values(key=key, window=window, count=1)
        .on_conflict_do_update(
            index_elements=[RateLimitWindow.key, RateLimitWindow.window],
            set_={"count": RateLimitWindow.count + 1},
        )
        .returning(RateLimitWindow.count)
    )
    count = int((await session.execute(statement)).scalar_one())
    if count == 1:
        await session.execute(
            # Once per client and window: every client's finished windows are forgotten.
            delete(RateLimitWindow).where(RateLimitWindow.window < window)
        )
    retry_after = max(1, math.ceil((window + 1) * window_seconds - epoch))
    return Verdict(allowed=count <= limit, retry_after_seconds=retry_after)
