"""Safe Exam Browser on the exam's routes: every exam request of a scheme that requires SEB is
checked by ``exam.seb.require_seb`` before its handler runs (``seb_gate`` wraps the exam page and
each JSON entrance of the exam), so no handler can forget it.

The URL SEB hashes is the one it requested: the public address (``Settings.public_url``, the
scheme and host the candidates' browsers reach) with the request's path and query. Behind a
proxy the application's own view of scheme and host may differ from it.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from exam import seb
from web.endpoints import Handler, current_user, db
from web.i18n import translate
from web.rendering import render


def request_url(request: Request) -> str:
    """The absolute URL of this request as the candidate's browser sent it."""
    public = urlsplit(request.state.settings.public_url)
    query = request.url.query
    return f"{public.scheme}://{public.netloc}{request.url.path}" + (f"?{query}" if query else "")


def seb_proof(request: Request) -> seb.SebProof:
    """What this request shows of Safe Exam Browser."""
    return seb.SebProof(
        url=request_url(request),
        config_key_hash=request.headers.get(seb.CONFIG_KEY_HEADER),
        request_hash=request.headers.get(seb.REQUEST_HASH_HEADER),
    )


def _id(request: Request, name: str) -> int | None:
    value = request.path_params.get(name)
    return int(value) if value is not None else None


def seb_gate(handler: Handler, *, page: bool = False) -> Handler:
    """``handler`` refused (403) for a scheme that requires SEB unless the request comes from
    SEB with Vakt's configuration. A page answers with how to start SEB (and the configuration
    to download); the API with the error as JSON."""

    @functools.wraps(handler)
    async def gated(request: Request) -> Response:
        try:
            await seb.require_seb(
                db(request),
                candidate=current_user(request),
                proof=seb_proof(request),
                registration_id=_id(request, "registration_id"),
                attempt_id=_id(request, "attempt_id"),
                part_id=_id(request, "part_id"),
            )
        except seb.SebRequired as refused:
            if not page:
                raise
            return render(
                request,
                "candidate/seb_required.html",
                {
                    "message": translate(request, refused.message, refused.params),
                    "registration_id": refused.registration_id,
                },
                status_code=403,
            )
        return await handler(request)

    gated.seb_gated = True  # type: ignore[attr-defined]
    return gated


def is_seb_gated(endpoint: Handler) -> bool:
    """Whether ``endpoint`` (or a handler it wraps) is behind ``seb_gate``."""
    current: object = endpoint
    while current is not None:
        if getattr(current, "seb_gated", False):
            return True
        current = getattr(current, "__wrapped__", None)
    return False
