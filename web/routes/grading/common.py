"""What the graders' pages and their API share (no routes here)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from grading.answers import AnswerVideo, OralRecordings
from grading.holds import IdentityHolds
from grading.independence import Examiners
from web.media_ranges import ranged_response
from web.proctoring_view import PRIVATE_MEDIA

MAX_CODE = 12
"""As long as a script's code may be."""


def examiners(request: Request) -> Examiners:
    """Who took part in examining candidates (proctoring tells grading)."""
    found: Examiners = request.state.examiners
    return found


def holds(request: Request) -> IdentityHolds:
    """The registrations held from grading (proctoring tells grading)."""
    found: IdentityHolds = request.state.identity_holds
    return found


def recordings(request: Request) -> OralRecordings:
    """Where the oral answers' recordings are."""
    found: OralRecordings = request.state.oral_recordings
    return found


def script_code(request: Request) -> str:
    """The ``{code}`` of the path (a longer one names no script: the service says 404)."""
    return str(request.path_params["code"])[: MAX_CODE + 1]


def video_response(request: Request, video: AnswerVideo) -> Response:
    """An oral answer as one resource a ``<video>`` can seek in; its name and headers say
    nothing about whose answer it is or when it was recorded."""
    return ranged_response(
        [Path(path) for path in video.files],
        media_type=video.mime_type,
        range_header=request.headers.get("range"),
        headers={**PRIVATE_MEDIA, "Content-Disposition": 'inline; filename="answer.webm"'},
    )


def mark_text(value: float | None) -> str:
    """A mark as a number field holds it ('' when not marked yet)."""
    if value is None:
        return ""
    return str(int(value)) if value.is_integer() else repr(value)
