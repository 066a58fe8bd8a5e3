"""What pages outside proctoring show of it: the exam page's proctoring settings and texts, and
what "My page" shows (the profile photo, which recordings exist). Also how proctoring media is
sent (privately, never cached). No routes here: the route modules use these.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from exam.models import Attempt, AttemptPart, Registration
from proctoring import identity, recordings, service
from vakt.i18n import _l
from web.endpoints import csrf_token, current_user, db, now
from web.i18n import translate

PRIVATE_MEDIA = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
"""Headers of every photo, still frame and recording sent: nobody's cache keeps them."""

LIVE_VIDEO = {"maxFramerate": 2, "scaleResolutionDownBy": 1, "maxBitrate": 200_000}
"""What the browser sends on the live channel (the recording has its own 640x480 at full rate).
The server decodes every frame it receives: 2 frames a second are plenty for one sample every
2 s and keep a live candidate under 3 % of a core; the full 640x480 keeps faces large enough to
find and to compare (bench/README.md)."""


def _live_messages(request: Request) -> dict[str, str]:
    texts = {
        "starting": _l("Starting the camera and microphone…"),
        "ready": _l("Camera and microphone are on."),
        "notReady": _l("The part can start when the camera and microphone work."),
        "permissionDenied": _l(
            "The browser does not let the exam use the camera or microphone. Allow both for "
            "this site (the camera symbol in the address bar), then press “Try again”."
        ),
        "notFound": _l("No camera or microphone was found. Connect them, then press “Try again”."),
        "inUse": _l(
            "The camera or microphone is in use by another program. Close that program, then "
            "press “Try again”."
        ),
        "otherError": _l("The camera or microphone could not start ({message}). Try again."),
        "cameraLost": _l(
            "Your camera has stopped. The time keeps running: check the camera now. This is "
            "noted for the proctor."
        ),
        "microphoneLost": _l(
            "Your microphone has stopped. The time keeps running: check the microphone now. "
            "This is noted for the proctor."
        ),
        "mediaBack": _l("Camera and microphone are on again."),
        "liveLost": _l("The connection to the proctoring service was lost; trying again…"),
        "recordingWaiting": _l("{count} pieces of the recording are waiting to be sent"),
        "retry": _l("Try again"),
    }
    return {key: translate(request, text) for key, text in texts.items()}


async def proctor_config(
    request: Request,
    registration: Registration,
    attempt: Attempt | None,
    current: AttemptPart | None,
) -> dict[str, Any] | None:
    """The exam page's proctoring settings, or None when the exam is not proctored."""
    context = await service.context_of(db(request), registration.id)
    policy = context.policy
    if not policy.enabled or service.attempt_over(attempt):
        return None
    next_chunk = (
        await recordings.next_chunk_index(db(request), current.id) if current is not None else 0
    )
    return {
        "registration": registration.id,
        "attempt": attempt.id if attempt else None,
        "part": current.id if current else None,
        "csrf": csrf_token(request),
        "serverTime": now(request).isoformat(),
        "liveUrl": f"/api/registrations/{registration.id}/live",
        "eventsUrl": f"/api/registrations/{registration.id}/events",
        "chunkUrl": f"/api/parts/{current.id}/recording/" if current else None,
        "finishUrl": f"/api/parts/{current.id}/recording/finish" if current else None,
        "nextChunk": next_chunk,
        "chunkSeconds": policy.chunk_seconds,
        "mediaGraceSeconds": policy.live_reconnect_grace_seconds,
        "videoBitsPerSecond": policy.video_bits_per_second,
        "audioBitsPerSecond": 32_000,
        "live": LIVE_VIDEO,
        "messages": _live_messages(request),
    }


async def my_page_facts(request: Request, registrations: list[Registration]) -> dict[str, Any]:
    """What "My page" shows of proctoring: the profile photo and which recordings exist."""
    session = db(request)
    by_registration = {
        registration.id: await recordings.recordings_of_registration(session, registration.id)
        for registration in registrations
    }
    return {
        "profile_photo": await identity.current_profile_photo(session, current_user(request).id),
        "recordings_by_registration": by_registration,
        "retention_days": request.state.settings.recording_retention_days,
    }
