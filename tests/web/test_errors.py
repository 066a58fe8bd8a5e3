"""Errors are clear, translated and never show a traceback."""

from __future__ import annotations

import httpx
import pytest
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
    from itembank import service

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    await sign_in(client, "item_writer")
    monkeypatch.setattr(service, "search_items", broken)
    response = await client.get("/items")
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert "Noe gikk galt hos oss" in response.text
