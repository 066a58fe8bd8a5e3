"""Helpers for HTTP tests: signing in and reading CSRF tokens from pages."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from tests.conftest import PASSWORD

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token in a page's first form."""
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def csrf(client: httpx.AsyncClient, path: str = "/login") -> str:
    """A fresh CSRF token for this client's session."""
    response = await client.get(path)
    return csrf_from(response.text)


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    """Sign in through the real form; returns the final response."""
    token = await csrf(client)
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
    )
    assert response.status_code == 303, response.text
    return response


async def accept_rules(client: httpx.AsyncClient, registration_id: int) -> None:
    """Accept the code of conduct and the self-declaration through the real form, as a
    candidate does before the exam (the API refuses to start without it)."""
    from exam.declarations import TEXT_VERSION

    page = await client.get(f"/exam/{registration_id}/rules")
    response = await client.post(
        f"/exam/{registration_id}/rules",
        data={
            "conduct": "yes",
            "declaration": "yes",
            "text_version": TEXT_VERSION,
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 303, response.text


@contextlib.asynccontextmanager
async def browsers(app: Starlette, *addresses: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One running app and a client for each address (each with cookies of its own, as separate
    browsers), for tests about more than one browser or network address."""
    async with contextlib.AsyncExitStack() as stack:
        manager = await stack.enter_async_context(LifespanManager(app))
        clients = []
        for address in addresses:
            transport = httpx.ASGITransport(
                app=manager.app, client=(address, 50000), raise_app_exceptions=False
            )
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://testserver")
                )
            )
        yield clients
