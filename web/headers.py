"""Security headers on every response."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

SANDBOXED_FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
"""For an item's SVG file: it may hold script, and it is the bank's content, not the site's."""


def item_file_headers(media_type: str, cache_control: str) -> dict[str, str]:
    """The headers of an item's file, wherever it is served (the bank, the exam)."""
    headers = {"Cache-Control": cache_control}
    if media_type == "image/svg+xml":
        headers["Content-Security-Policy"] = SANDBOXED_FILE_CSP
    return headers


class SecurityHeadersMiddleware:
    """Adds a strict CSP (no inline script), framing and sniffing protection, and no caching of
    pages that may hold confidential content."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault(
                    "Permissions-Policy", "camera=(self), microphone=(self), geolocation=()"
                )
                if not scope["path"].startswith("/static/"):
                    headers.setdefault("Cache-Control", "no-store")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)
