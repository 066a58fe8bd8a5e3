"""The start page: what each role can do from here."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from web.endpoints import page
from web.rendering import render


async def home(request: Request) -> Response:
    """The signed-in user's start page."""
    return render(request, "home.html")


def routes() -> list[BaseRoute]:
    """Start page routes."""
    return [page("/", home)]
