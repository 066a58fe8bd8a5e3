"""Proctoring routes for staff who look at candidates: the proctors' overview and review of one
registration, their (audited) fetches of recordings, still frames and identity photos. Graders
fetch an oral answer through grading, by the script's code only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from proctoring import media, queries
from proctoring.access import PROCTORS
from vakt.errors import NotFound
from vakt.i18n import _l
from web.endpoints import current_user, db, now, page, path_id
from web.i18n import request_translations
from web.media_ranges import ranged_response
from web.proctor_words import ProctorWords
from web.proctoring_view import PRIVATE_MEDIA
from web.rendering import render


async def proctor_overview(request: Request) -> Response:
    """GET /proctor: attempts with their flags and live state, newest first."""
    attempts = await queries.attempts_overview(db(request))
    return render(
        request,
        "proctoring/overview.html",
        {"attempts": attempts, "words": ProctorWords(request_translations(request))},
    )


async def proctor_registration(request: Request) -> Response:
    """GET /proctor/registrations/{id}: identity check, flags and recordings of one candidate."""
    review = await queries.registration_review(
        db(request),
        path_id(request, "registration_id"),
        viewer=current_user(request),
        now=now(request),
    )
    return render(
        request,
        "proctoring/registration.html",
        {
            "registration": review.registration,
            "sitting": review.sitting,
            "candidate": review.candidate,
            "attempt": review.attempt,
            "verifications": review.verifications,
            "flags": review.flags,
            "recordings": review.recordings,
            "live": review.live,
            "words": ProctorWords(request_translations(request), review.parts),
        },
    )


def _stream(request: Request, recording: media.RecordingFiles) -> Response:
    # One resource across the chunk files, with Range, so the review page's video can seek
    # to a flag's moment.
    return ranged_response(
        recording.files,
        media_type=recording.mime_type,
        range_header=request.headers.get("range"),
        headers=PRIVATE_MEDIA,
    )


async def proctor_recording(request: Request) -> Response:
    """GET /proctor/recordings/{id}: the recording as one WebM resource, with Range (each
    fetch is audited); ``?from=N``: the WebM file that begins with piece N (after the
    candidate's recorder started again)."""
    stream = request.query_params.get("from")
    if stream is not None and not (stream.isascii() and stream.isdigit() and len(stream) <= 6):
        raise NotFound(_l("No such recording."))
    recording = await media.recording_for_proctor(
        db(request),
        request.state.media,
        recording_id=path_id(request, "recording_id"),
        viewer=current_user(request),
        now=now(request),
        stream=int(stream) if stream is not None else None,
    )
    return _stream(request, recording)


async def proctor_snapshot(request: Request) -> Response:
    """GET /proctor/snapshots/{id}: a flag's still frame (audited)."""
    image = await media.snapshot_for_proctor(
        db(request),
        request.state.media,
        snapshot_id=path_id(request, "snapshot_id"),
        viewer=current_user(request),
        now=now(request),
    )
    return Response(image, media_type="image/jpeg", headers=PRIVATE_MEDIA)


async def proctor_identity_photo(request: Request) -> Response:
    """GET /proctor/identity/{id}/{live|profile}: the two photos of a check-in (audited)."""
    image = await media.identity_photo_for_proctor(
        db(request),
        request.state.media,
        verification_id=path_id(request, "verification_id"),
        which=request.path_params["which"],
        viewer=current_user(request),
        now=now(request),
    )
    return Response(image, media_type="image/jpeg", headers=PRIVATE_MEDIA)


def routes() -> list[BaseRoute]:
    """The proctors' pages and media."""
    return [
        page("/proctor", proctor_overview, roles=PROCTORS),
        page("/proctor/registrations/{registration_id:id}", proctor_registration, roles=PROCTORS),
        page("/proctor/recordings/{recording_id:id}", proctor_recording, roles=PROCTORS),
        page("/proctor/snapshots/{snapshot_id:id}", proctor_snapshot, roles=PROCTORS),
        page(
            "/proctor/identity/{verification_id:id}/{which:str}",
            proctor_identity_photo,
            roles=PROCTORS,
        ),
    ]
