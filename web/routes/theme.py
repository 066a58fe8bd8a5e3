"""The body's look: its main colour as a style sheet and its logo, on every page.

The CSP allows no inline style, so the colour setting reaches the pages as a small style sheet
of its own, loaded after Designsystemet and vakt.css: it sets Vakt's --accent (the header) and
Designsystemet's accent colour scale (buttons, links, fields, tables), derived from the one colour
by mixing it with black (darker: text, hover) or white (lighter: surfaces). The setting has at
least 4.5:1 contrast with white, and the darker shades only raise it, so text stays AA."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from vakt.settings import LOGO_TYPES, Settings
from web.headers import item_file_headers

THEME_CACHE = "public, max-age=300"
"""Short: a changed setting shows within minutes of the restart."""
ACCENT_SCALE = (
    ("base-default", "{c}"),
    ("base-hover", "color-mix(in srgb, {c} 80%, #000)"),
    ("base-active", "color-mix(in srgb, {c} 65%, #000)"),
    ("base-contrast-default", "#fff"),
    ("base-contrast-subtle", "color-mix(in srgb, {c} 12%, #fff)"),
    ("border-default", "{c}"),
    ("border-strong", "color-mix(in srgb, {c} 85%, #000)"),
    ("border-subtle", "color-mix(in srgb, {c} 40%, #fff)"),
    ("text-subtle", "color-mix(in srgb, {c} 85%, #000)"),
    ("text-default", "color-mix(in srgb, {c} 45%, #000)"),
    ("surface-tinted", "color-mix(in srgb, {c} 10%, #fff)"),
    ("surface-hover", "color-mix(in srgb, {c} 18%, #fff)"),
    ("surface-active", "color-mix(in srgb, {c} 26%, #fff)"),
    ("background-tinted", "color-mix(in srgb, {c} 5%, #fff)"),
)
"""Designsystemet's accent colour scale (--ds-color-accent-*), as shades of the body's colour."""


def theme_style_sheet(colour: str) -> str:
    """The style sheet that puts ``colour`` into Vakt's and Designsystemet's custom properties."""
    lines = [f"  --accent: {colour};"]
    lines += [
        f"  --ds-color-accent-{name}: {value.format(c=colour)};" for name, value in ACCENT_SCALE
    ]
    return ":root {\n" + "\n".join(lines) + "\n}\n"


async def theme_css(request: Request) -> Response:
    """The main colour as the custom properties the header, buttons and links use."""
    settings: Settings = request.state.settings
    return Response(
        theme_style_sheet(settings.body_colour),
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
