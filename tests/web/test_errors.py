"""Errors are clear, translated and never show a traceback."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from tests.web.helpers import sign_in
from vakt.accounts import User


@pytest.mark.asyncio
async def test_unknown_page_is_a_translated_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert "Siden du ba om, finnes ikke" in response.text
    english = await client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert "The page you asked for does not exist" in english.text


@pytest.mark.asyncio
async def test_api_errors_are_json(client: httpx.AsyncClient, users: dict[str, User]) -> None:
    response = await client.get("/api/items", headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Please sign in."
    await sign_in(client, "item_writer")
    missing = await client.get("/api/items/999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"


@pytest.mark.asyncio
async def test_wrong_method_is_405_not_500(client: httpx.AsyncClient) -> None:
    response = await client.put("/login")
    assert response.status_code in (403, 405)


@pytest.mark.asyncio
async def test_unexpected_failure_is_a_plain_500(
    app: Starlette,
    client: httpx.AsyncClient,
    users: dict[str, User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from itembank import search as service

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    await sign_in(client, "item_writer")
    monkeypatch.setattr(service, "search_items", broken)
    response = await client.get("/items")
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert "Noe gikk galt hos oss" in response.text


@pytest.mark.asyncio
async def test_no_free_database_connection_is_a_503_to_try_again(
    client: httpx.AsyncClient, users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An overloaded server (every pooled connection taken for the pool's whole timeout) says
    so, in the reader's language, with Retry-After: the exam page then sends the answer again."""
    import sqlalchemy.exc

    from itembank import search as service

    async def pool_exhausted(*_args: object, **_kwargs: object) -> None:
        raise sqlalchemy.exc.TimeoutError("QueuePool limit of size 20 overflow 10 reached")

    await sign_in(client, "item_writer")
    monkeypatch.setattr(service, "search_items", pool_exhausted)
    page = await client.get("/items")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert "QueuePool" not in page.text and "Traceback" not in page.text
    assert "Prøv igjen om litt" in page.text
    api = await client.get("/api/items", headers={"Accept-Language": "en"})
    assert api.status_code == 503
    assert api.json()["error"]["code"] == "busy"
    assert api.json()["error"]["message"].startswith("The server is very busy right now.")


@pytest.mark.asyncio
async def test_a_lock_wait_that_ran_out_is_a_503_to_try_again(
    client: httpx.AsyncClient, users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite under many writers gives up after its busy timeout ("database is locked"): the
    server is overloaded, not broken. The error is raised here as the driver raises it, rather
    than by holding a real lock for the whole busy timeout (ten seconds)."""
    import sqlite3

    import sqlalchemy.exc

    from itembank import search as service

    async def locked(*_args: object, **_kwargs: object) -> None:
        raise sqlalchemy.exc.OperationalError(
            "UPDATE item", {}, sqlite3.OperationalError("database is locked")
        )

    await sign_in(client, "item_writer")
    monkeypatch.setattr(service, "search_items", locked)
    api = await client.get("/api/items", headers={"Accept-Language": "en"})
    assert api.status_code == 503
    assert api.headers["retry-after"] == "5"
    assert api.json()["error"]["code"] == "busy"
    assert "locked" not in api.text


@pytest.mark.asyncio
async def test_a_lost_database_connection_fails_one_request_at_most_and_never_with_a_500(
    client: httpx.AsyncClient, users: dict[str, User], engine: AsyncEngine, session: AsyncSession
) -> None:
    """The database drops every connection (as at a restart): the next request is answered 503
    with Retry-After (or served on a fresh connection), and the one after it is served."""
    if engine.dialect.name != "postgresql":
        pytest.skip("needs a database server that can drop its clients' connections")
    await sign_in(client, "item_writer")
    assert (await client.get("/api/items")).status_code == 200  # the pool holds a connection
    async with engine.connect() as connection:
        dropped = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert dropped
    await session.invalidate()  # the test's own connection was dropped too
    first = await client.get("/api/items", headers={"Accept-Language": "en"})
    assert first.status_code in (200, 503)
    if first.status_code == 503:
        assert first.headers["retry-after"] == "1"
        assert first.json()["error"]["message"].startswith("The server lost its connection")
    assert (await client.get("/api/items")).status_code == 200
