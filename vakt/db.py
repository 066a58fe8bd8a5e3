"""Database wiring: the declarative base, engine creation and shared column types."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model in every domain package."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        # SQLite has no time zones: keep naive UTC there so text comparison orders correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


MAX_ROW_ID = 2**31 - 1
"""The largest id a row can have (PostgreSQL's INTEGER): an id from outside that is larger is
refused before it reaches a query, where it would be an overflow, not a "no such row"."""


def text_enum(members: type[enum.StrEnum], length: int) -> Enum:
    """A column holding an enum's members, stored as the plain strings they always were: VARCHAR
    of ``length``, no database enum type and no CHECK constraint, so adding a member needs no
    migration and the column reads back as the enum."""
    return Enum(
        members,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda kind: [member.value for member in kind],
    )


JSONDocument = JSON().with_variant(JSONB(), "postgresql")
"""A JSON column: JSONB on PostgreSQL, JSON text elsewhere."""


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


POOL_RECYCLE_SECONDS = 1800
"""Pooled connections are replaced after half an hour, so that one a firewall or the database
dropped quietly is not kept for ever. There is deliberately no ping before each use: with asyncpg
a ping is three round trips, more than a save's own work. A connection found dead fails its request
once; SQLAlchemy then renews the whole pool, and the request is answered 503, to be tried again
(``web.errors``)."""


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL mode, foreign keys and a busy timeout."""
    engine = create_async_engine(database_url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    return engine


def create_sessionmaker(
    engine: AsyncEngine, info: dict[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit; ``info`` is given to each (what
    the application wires into every session, such as the subscribers of domain events)."""
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


MODEL_MODULES = (
    "vakt.accounts",
    "vakt.sessions",
    "vakt.audit",
    "vakt.notifications",
    "vakt.ratelimit",
    "itembank.models",
    "exam.models",
    "proctoring.models",
    "grading.models",
    "certification.models",
)
"""Every module that defines tables. Listed by name so this package never imports a domain."""


def load_all_models() -> MetaData:
    """Import every model module and return the complete metadata (for migrations and checks)."""
    import importlib

    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
