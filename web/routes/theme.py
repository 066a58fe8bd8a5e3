"""The body's look: its main colour as a style sheet and its logo, on every page.

The CSP allows no inline style, so the colour setting reaches the pages as a small style sheet
of its own, loaded after vakt.css."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from vakt.settings import LOGO_TYPES, Settings
from web.headers import item_file_headers

THEME_CACHE = "public, max-age=300"
"""Short: a changed setting shows within minutes of the restart."""


async def theme_css(request: Request) -> Response:
    """The main colour as the --accent custom property that the header and buttons use."""
    settings: Settings = request.state.settings
    return Response(
        f":root {{ --accent: {settings.body_colour}; }}\n",
        media_type="text/css",
        headers={"Cache-Control": THEME_CACHE},
    )


async def body_logo(request: Request) -> Response:
    """The body's logo file (a 404 when none is set)."""
    settings: Settings = request.state.settings
    logo = settings.body_logo
    if logo is None or not logo.is_file():
        return Response("Not found", status_code=404, media_type="text/plain")
    media_type = LOGO_TYPES[logo.suffix.lower()]
    return FileResponse(
        logo, media_type=media_type, headers=item_file_headers(media_type, THEME_CACHE)
    )


def routes() -> list[BaseRoute]:
    """The theme's style sheet and the logo (no sign-in: the login and public pages use them)."""
    return [
        Route("/theme.css", theme_css, methods=["GET"]),
        Route("/body-logo", body_logo, methods=["GET"]),
    ]
