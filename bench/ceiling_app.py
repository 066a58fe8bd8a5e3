"""The ceiling for bench_delivery.py: a bare Starlette app whose save endpoint does one INSERT.

It answers the same paths the delivery harness uses (``PUT /api/parts/{part}/answers/{item}/{q}``
and ``GET /api/time``) with nothing around them: no session cookie, no CSRF check, no sign-in, no
ownership or deadline checks, no upsert, just one row (the size of an ``answer_save`` row) inserted
through SQLAlchemy async in its own transaction. Whatever Vakt's save costs above this is the price
of its guarantees and its framework. Not part of the product package; served by uvicorn:

    BENCH_CEILING_DATABASE_URL=sqlite+aiosqlite:///x.sqlite3 \\
        uvicorn ceiling_app:create_app --factory --app-dir bench --workers 1

The table (``bench_ceiling_save``) is made by ``create_table`` before the app is served.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    insert,
)
from sqlalchemy.dialects.postgresql import JSONB
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vakt.db import (
    POOL_RECYCLE_SECONDS,
    UTCDateTime,
    create_engine,
    create_sessionmaker,
    utcnow,
)
from vakt.settings import Settings

DATABASE_URL_VARIABLE = "BENCH_CEILING_DATABASE_URL"

metadata = MetaData()
saves = Table(
    "bench_ceiling_save",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("attempt_part_id", Integer, nullable=False, index=True),
    Column("item_version_id", Integer, nullable=False),
    Column("question_id", String(80), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("value", JSON().with_variant(JSONB(), "postgresql")),
    Column("received_at", UTCDateTime, nullable=False),
    Column("applied", Boolean, nullable=False),
)


async def create_table(database_url: str) -> None:
    """(Re)create the ceiling's table in the given database."""
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
    await engine.dispose()


async def save(request: Request) -> Response:
    """One INSERT, committed before the answer (as Vakt commits before its response starts)."""
    try:
        body: Any = json.loads(await request.body())
    except ValueError:
        return JSONResponse({"error": "not JSON"}, status_code=400)
    if not isinstance(body, dict) or not isinstance(body.get("sequence"), int):
        return JSONResponse({"error": "sequence"}, status_code=400)
    now = utcnow()
    async with request.state.sessionmaker() as session:
        await session.execute(
            insert(saves).values(
                attempt_part_id=request.path_params["part_id"],
                item_version_id=request.path_params["item_version_id"],
                question_id=request.path_params["question_id"],
                sequence=body["sequence"],
                value=body.get("value"),
                received_at=now,
                applied=True,
            )
        )
        await session.commit()
    return JSONResponse(
        {"applied": True, "sequence": body["sequence"], "saved_at": now.isoformat()}
    )


async def server_time(_request: Request) -> Response:
    """The clock, as Vakt's ``GET /api/time``."""
    return JSONResponse({"server_time": utcnow().isoformat()})


def create_app() -> Starlette:
    """The ceiling app on the database named by ``BENCH_CEILING_DATABASE_URL``."""
    database_url = os.environ[DATABASE_URL_VARIABLE]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        # The same engine factory (and so the same SQLite pragmas) and pool as Vakt's app.
        settings = Settings(database_url=database_url)
        engine = create_engine(
            database_url,
            pool_recycle=POOL_RECYCLE_SECONDS,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        try:
            yield {"sessionmaker": create_sessionmaker(engine)}
        finally:
            await engine.dispose()

    return Starlette(
        routes=[
            Route("/api/time", server_time),
            Route(
                "/api/parts/{part_id:int}/answers/{item_version_id:int}/{question_id}",
                save,
                methods=["PUT"],
            ),
        ],
        lifespan=lifespan,
    )
