"""Migrations build the schema the models describe, and can be undone."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from vakt.db import create_engine, load_all_models
from vakt.dbadmin import alembic_config
from vakt.settings import Settings


def _diff(url: str) -> list[object]:
    async def compare() -> list[object]:
        engine = create_engine(url)
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), load_all_models())
            )
        await engine.dispose()
        return list(diff)

    return asyncio.run(compare())


def _tables(url: str) -> set[str]:
    async def names() -> set[str]:
        engine = create_engine(url)
        async with engine.connect() as connection:
            found = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        await engine.dispose()
        return found

    return asyncio.run(names())


def test_models_and_migrations_agree(settings: Settings) -> None:
    assert _diff(settings.database_url) == []


def test_downgrade_to_nothing_and_up_again(settings: Settings) -> None:
    config = alembic_config(settings.database_url)
    command.downgrade(config, "base")
    assert _tables(settings.database_url) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert {"user_account", "item_version", "audit_entry", "exam_form"} <= _tables(
        settings.database_url
    )


@pytest.mark.parametrize("table", ["audit_entry", "item_version", "exam_form_item"])
def test_naming_convention_is_used(settings: Settings, table: str) -> None:
    async def primary_key_name() -> str | None:
        engine = create_engine(settings.database_url)
        async with engine.connect() as connection:
            name = await connection.run_sync(
                lambda sync: inspect(sync).get_pk_constraint(table)["name"]
            )
        await engine.dispose()
        return name

    name = asyncio.run(primary_key_name())
    # SQLite does not keep primary key names; PostgreSQL does.
    assert name in (None, f"pk_{table}")
