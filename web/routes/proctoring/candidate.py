"""Proctoring routes for candidates: the profile photo, the check-in photo, the live channel's
offer and state, events from the exam page, and the recording's chunks."""

from __future__ import annotations

import asyncio
import dataclasses

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from exam.checkin import IdentityStatus
from exam.lookups import own_registration
from exam.models import Registration, Sitting
from proctoring import identity, media, recordings, service
from proctoring.access import CANDIDATES, own_part
from proctoring.browser_events import report_browser_event
from proctoring.models import IdentityVerification
from proctoring.schemas import BrowserEvent, LiveOffer, RecordingFinish
from vakt.errors import VaktError
from vakt.i18n import _l
from web.endpoints import api, current_user, db, now, page, path_id
from web.i18n import translate
from web.inputs import json_model
from web.proctoring_view import PRIVATE_MEDIA
from web.rendering import render
from web.routes.exam.common import checkin_steps
from web.seb import seb_gate


async def _own_registration(request: Request) -> Registration:
    return await own_registration(
        db(request), path_id(request, "registration_id"), current_user(request)
    )


async def _photo_bytes(request: Request) -> bytes:
    form = await request.form(max_part_size=identity.MAX_PHOTO_BYTES + 1024)
    upload = form.get("photo")
    if not isinstance(upload, UploadFile):
        raise VaktError(_l("Take a photo first."), field="photo", status_code=422)
    data = await upload.read()
    identity.check_photo_size(data)
    return data


async def _describe(request: Request, data: bytes) -> identity.PhotoFacts:
    # The face analysis takes a good fraction of a second of CPU: never on the event loop.
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.state.identity, identity.describe_photo, data)


# ---- the profile photo ---------------------------------------------------------------------------


async def _render_photo_page(
    request: Request, *, error: str | None = None, status_code: int = 200
) -> Response:
    photo = await identity.current_profile_photo(db(request), current_user(request).id)
    return render(
        request,
        "proctoring/photo.html",
        {
            "photo": photo,
            "error": error,
            "saved": request.query_params.get("saved") == "1",
            "action": "/my/photo",
            "title": _l("Profile photo"),
        },
        status_code=status_code,
    )


async def photo_page(request: Request) -> Response:
    """GET /my/photo: the candidate's profile photo, and the camera to take a new one."""
    return await _render_photo_page(request)


async def photo_save(request: Request) -> Response:
    """POST /my/photo: keep a new profile photo (exactly one face)."""
    try:
        data = await _photo_bytes(request)
        facts = await _describe(request, data)
        await identity.save_profile_photo(
            db(request),
            request.state.media,
            candidate=current_user(request),
            data=data,
            facts=facts,
            now=now(request),
        )
    except VaktError as error:
        return await _render_photo_page(
            request,
            error=translate(request, error.message, error.params),
            status_code=error.status_code,
        )
    return RedirectResponse("/my/photo?saved=1", status_code=303)


async def photo_image(request: Request) -> Response:
    """GET /my/photo/current: the candidate's own profile photo."""
    data = await media.own_profile_photo(db(request), request.state.media, current_user(request))
    return Response(data, media_type="image/jpeg", headers=PRIVATE_MEDIA)


# ---- the check-in photo ------------------------------------------------------------------------


async def _render_identity_page(
    request: Request,
    registration: Registration,
    *,
    verification: IdentityVerification | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    sitting = await db(request).get(Sitting, registration.sitting_id)
    has_photo = (
        await identity.current_profile_photo(db(request), current_user(request).id)
    ) is not None
    return render(
        request,
        "proctoring/identity.html",
        {
            "registration": registration,
            "sitting": sitting,
            "verification": verification,
            "has_profile_photo": has_photo,
            "error": error,
            "action": f"/exam/{registration.id}/identity",
            "steps": await checkin_steps(request, registration, "identity"),
        },
        status_code=status_code,
    )


async def identity_page(request: Request) -> Response:
    """GET /exam/{id}/identity: take the check-in photo (compared with the profile photo)."""
    registration = await _own_registration(request)
    done = await identity.latest_verification(db(request), registration.id)
    if done is not None:
        return RedirectResponse(f"/exam/{registration.id}/take", status_code=303)
    return await _render_identity_page(request, registration)


async def identity_check(request: Request) -> Response:
    """POST /exam/{id}/identity: compare the photo, keep the score, and go on to the exam."""
    registration = await _own_registration(request)
    if await identity.latest_verification(db(request), registration.id) is not None:
        return RedirectResponse(f"/exam/{registration.id}/take", status_code=303)
    try:
        data = await _photo_bytes(request)
        facts = await _describe(request, data)
    except VaktError as error:
        return await _render_identity_page(
            request,
            registration,
            error=translate(request, error.message, error.params),
            status_code=error.status_code,
        )
    verification = await identity.verify_identity(
        db(request),
        request.state.media,
        registration=registration,
        candidate=current_user(request),
        data=data,
        facts=facts,
        now=now(request),
    )
    if verification.outcome == IdentityStatus.PASSED:
        return RedirectResponse(f"/exam/{registration.id}/take", status_code=303)
    # Doubtful: the candidate goes on; a proctor decides. Say so plainly.
    return await _render_identity_page(request, registration, verification=verification)


# ---- the live channel, recordings and events (JSON) --------------------------------------------


async def live_offer(request: Request) -> Response:
    """POST /api/registrations/{id}/live {sdp, type}: connect the camera and microphone."""
    registration = await _own_registration(request)
    offer = await json_model(request, LiveOffer)
    answer = await request.state.live_channels.open(
        db(request), registration, offer, now=now(request)
    )
    return JSONResponse(answer.model_dump())


async def live_status(request: Request) -> Response:
    """GET /api/registrations/{id}/live[?connection=ID]: what the server receives from the live
    channel. ``sees`` is whether a part may start now; with ``connection`` (the id the offer's
    answer gave), only while that connection is the one the server receives."""
    registration = await _own_registration(request)
    received = await service.received_media(
        db(request), registration.id, connection_id=request.query_params.get("connection")
    )
    return JSONResponse(dataclasses.asdict(received), headers={"Cache-Control": "no-store"})


async def browser_event(request: Request) -> Response:
    """POST /api/registrations/{id}/events: something the exam page noticed (a flag)."""
    registration = await _own_registration(request)
    event = await json_model(request, BrowserEvent)
    await report_browser_event(
        db(request), registration_id=registration.id, event=event, now=now(request)
    )
    return Response(status_code=204)


WEBM_TYPES = frozenset({"video/webm", "audio/webm"})
"""What a recording chunk may be sent as (MediaRecorder's blob type, perhaps with codecs)."""


def _require_webm_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in WEBM_TYPES:
        raise recordings.NotWebM(
            _l("A recording chunk must be sent as WebM video (Content-Type video/webm).")
        )


async def upload_chunk(request: Request) -> Response:
    """PUT /api/parts/{id}/recording/{index}: one chunk of the part's recording (WebM bytes)."""
    part, registration = await own_part(
        db(request), path_id(request, "part_id"), current_user(request)
    )
    _require_webm_type(request)
    policy = await service.policy_for_registration(db(request), registration)
    limit = policy.max_chunk_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise recordings.ChunkTooLarge(_l("The chunk is larger than {limit} bytes."), limit=limit)
    body = bytearray()
    try:
        async for piece in request.stream():
            body.extend(piece)
            if len(body) > limit:
                raise recordings.ChunkTooLarge(
                    _l("The chunk is larger than {limit} bytes."), limit=limit
                )
    except ClientDisconnect:
        # The page went away mid-upload (a reload): it keeps the chunk and sends it again.
        # Nobody hears this answer; it only keeps a normal event out of the error log.
        return Response(status_code=400)
    receipt = await recordings.accept_chunk(
        db(request),
        request.state.media,
        part=part,
        policy=policy,
        index=path_id(request, "index"),
        data=bytes(body),
        now=now(request),
    )
    return JSONResponse(
        {"stored": True, "missing": receipt.missing}, status_code=201 if receipt.created else 200
    )


async def finish_recording(request: Request) -> Response:
    """POST /api/parts/{id}/recording/finish {last_index}: the recording of the part ended."""
    part, _registration = await own_part(
        db(request), path_id(request, "part_id"), current_user(request)
    )
    body = await json_model(request, RecordingFinish)
    ended = await recordings.end_recording(
        db(request), part=part, last_index=body.last_index, now=now(request)
    )
    return JSONResponse({"last_index": ended.last_index, "missing": ended.missing})


def routes() -> list[BaseRoute]:
    """The candidates' proctoring routes."""
    return [
        page("/my/photo", photo_page, roles=CANDIDATES),
        page("/my/photo", photo_save, methods=["POST"], roles=CANDIDATES, name="photo_save"),
        page("/my/photo/current", photo_image, roles=CANDIDATES),
        page("/exam/{registration_id:id}/identity", identity_page, roles=CANDIDATES),
        page(
            "/exam/{registration_id:id}/identity",
            identity_check,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/registrations/{registration_id:id}/live",
            seb_gate(live_offer),
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/registrations/{registration_id:id}/live", seb_gate(live_status), roles=CANDIDATES
        ),
        api(
            "/api/registrations/{registration_id:id}/events",
            seb_gate(browser_event),
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/parts/{part_id:id}/recording/{index:id}",
            seb_gate(upload_chunk),
            methods=["PUT"],
            roles=CANDIDATES,
        ),
        api(
            "/api/parts/{part_id:id}/recording/finish",
            seb_gate(finish_recording),
            methods=["POST"],
            roles=CANDIDATES,
        ),
    ]
