"""Every state-changing route refuses a request without this session's CSRF token."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from tests.web.helpers import sign_in
from vakt.accounts import User


def _unsafe_routes(app: Starlette) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, Route):
            for method in route.methods or ():
                if method not in ("GET", "HEAD", "OPTIONS"):
                    path = re.sub(r"\{[a-z_]+(:[a-z]+)?\}", "1", route.path)
                    found.append((method, path))
    return found


@pytest.mark.asyncio
async def test_every_unsafe_route_checks_csrf(
    app: Starlette, client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    routes = _unsafe_routes(app)
    assert len(routes) >= 10
    await sign_in(client, "administrator")
    for method, path in routes:
        form = await client.request(method, path, data={"to": "approved", "language": "en"})
        assert form.status_code == 403, (method, path, form.status_code)
        as_json = await client.request(method, path, json={"to": "approved"})
        assert as_json.status_code == 403, (method, path, as_json.status_code)
        wrong = await client.request(method, path, json={}, headers={"X-CSRF-Token": "nope"})
        assert wrong.status_code == 403, (method, path)
