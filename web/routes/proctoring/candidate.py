"""Proctoring over HTTP: the profile and check-in photos, the live channel's offer, recording
chunks, events from the exam page, and the proctors' (and graders') access to the media.

Every fetch of a recording, snapshot or photo by staff is written to the audit log.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from sqlalchemy import func, select
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute

from exam.checkin import IdentityStatus
from exam.models import Attempt, AttemptPart, Registration, Sitting
from itembank.models import Scheme
from proctoring import flags, identity, recordings, service
from proctoring.live import LiveConfig, LiveKey
from proctoring.models import (
    Flag,
    IdentityVerification,
    LiveChannel,
    ProfilePhoto,
    Recording,
    RecordingChunk,
    Snapshot,
)
from proctoring.monitor import LiveFlagger
from proctoring.observations import Observation
from proctoring.schemas import BrowserEvent, LiveOffer, Policy, RecordingFinish
from vakt import audit
from vakt.accounts import Role, User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l
from web.endpoints import api, csrf_token, current_user, db, form_str, page
from web.i18n import request_translations, translate
from web.inputs import json_model
from web.proctor_words import ProctorWords
from web.rendering import render

CANDIDATES = (Role.CANDIDATE,)
PROCTORS = (Role.PROCTOR,)
GRADERS = (Role.GRADER,)
PRIVATE_MEDIA = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _now(request: Request) -> Any:
    return request.state.clock.now()


async def _own_registration(request: Request) -> Registration:
    registration = await db(request).get(Registration, int(request.path_params["registration_id"]))
    if registration is None or registration.candidate_id != current_user(request).id:
        raise NotFound(_l("No such registration."))
    return registration


async def _own_part(request: Request) -> tuple[AttemptPart, Registration]:
    session = db(request)
    part = await session.get(AttemptPart, int(request.path_params["part_id"]))
    attempt = await session.get(Attempt, part.attempt_id) if part else None
    registration = await session.get(Registration, attempt.registration_id) if attempt else None
    if (
        part is None
        or registration is None
        or registration.candidate_id != current_user(request).id
    ):
        raise NotFound(_l("No such part."))
    return part, registration


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
            now=_now(request),
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
    photo = await identity.current_profile_photo(db(request), current_user(request).id)
    if photo is None:
        raise NotFound(_l("You have no profile photo yet."))
    return Response(
        request.state.media.read_image(photo.stored_name),
        media_type="image/jpeg",
        headers=PRIVATE_MEDIA,
    )


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
        now=_now(request),
    )
    if verification.outcome == IdentityStatus.PASSED.value:
        return RedirectResponse(f"/exam/{registration.id}/take", status_code=303)
    # Doubtful: the candidate goes on; a proctor decides. Say so plainly.
    return await _render_identity_page(request, registration, verification=verification)


# ---- the live channel, recordings and events (JSON) --------------------------------------------


def _live_config(policy: Policy, reference: list[float] | None) -> LiveConfig:
    return LiveConfig(
        sample_interval_seconds=policy.sample_interval_seconds,
        identity_interval_seconds=policy.identity_interval_seconds,
        reference_descriptor=tuple(reference) if reference else None,
        stall_seconds=policy.media_off_seconds,
    )


async def live_offer(request: Request) -> Response:
    """POST /api/registrations/{id}/live {sdp, type}: connect the camera and microphone."""
    registration = await _own_registration(request)
    offer = await json_model(request, LiveOffer)
    session, now = db(request), _now(request)
    context = await service.context_of(session, registration.id)
    if not context.policy.enabled:
        raise Conflict(_l("This exam is not proctored."))
    if context.attempt is not None and context.attempt.status != "in_progress":
        raise Conflict(_l("The exam has ended."))
    profile = await identity.current_profile_photo(session, registration.candidate_id)
    connection_id = secrets.token_hex(16)
    flagger = LiveFlagger(
        registration_id=registration.id,
        policy=context.policy,
        sessionmaker=request.state.sessionmaker,
        store=request.state.media,
        connection_id=connection_id,
    )
    flaggers: dict[int, LiveFlagger] = request.state.live_flaggers

    async def on_observation(_key: LiveKey, observation: Observation) -> None:
        # A replaced connection's last words (its close) must not overwrite the new one's state.
        if flaggers.get(registration.id) is flagger:
            await flagger.observe(observation)

    try:
        sdp, kind = await request.state.live.answer(
            LiveKey(registration.id, context.current_part.id if context.current_part else None),
            offer.sdp,
            offer.type,
            _live_config(context.policy, profile.descriptor if profile else None),
            on_observation,
        )
    except ValueError:
        raise VaktError(
            _l("The browser's connection offer could not be used. Reload the page."),
            status_code=422,
        ) from None
    flaggers[registration.id] = flagger
    try:
        # Committed before the answer goes out: the page then asks about this connection only,
        # and its first observations find it named as the registration's current one.
        await flagger.begin(now)
    except BaseException:
        await request.state.live.close(registration.id)
        raise
    return JSONResponse({"sdp": sdp, "type": kind, "connection": connection_id})


async def live_status(request: Request) -> Response:
    """GET /api/registrations/{id}/live[?connection=ID]: what the server receives from the live
    channel. ``sees`` is whether a part may start now; with ``connection`` (the id the offer's
    answer gave), only while that connection is the one the server receives."""
    registration = await _own_registration(request)
    row = await service.live_state(db(request), registration.id)
    named = request.query_params.get("connection")
    return JSONResponse(
        {
            "connection_state": row.connection_state if row else "new",
            "video_live": bool(row and row.video_live),
            "audio_live": bool(row and row.audio_live),
            "sees": service.receives_media(row, connection_id=named),
        },
        headers={"Cache-Control": "no-store"},
    )


async def browser_event(request: Request) -> Response:
    """POST /api/registrations/{id}/events: something the exam page noticed (a flag)."""
    registration = await _own_registration(request)
    event = await json_model(request, BrowserEvent)
    now = _now(request)
    context = await service.context_of(db(request), registration.id)
    if not context.policy.enabled:
        return Response(status_code=204)
    await service.record_browser_event(db(request), context=context, event=event, now=now)
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
    part, registration = await _own_part(request)
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
        index=int(request.path_params["index"]),
        data=bytes(body),
        now=_now(request),
    )
    return JSONResponse(
        {"stored": True, "missing": receipt.missing}, status_code=201 if receipt.created else 200
    )


async def finish_recording(request: Request) -> Response:
    """POST /api/parts/{id}/recording/finish {last_index}: the recording of the part ended."""
    part, _registration = await _own_part(request)
    body = await json_model(request, RecordingFinish)
    recording = await recordings.finish_recording(
        db(request), part=part, last_index=body.last_index, now=_now(request)
    )
    missing = await recordings.missing_chunks(db(request), recording)
    return JSONResponse({"last_index": recording.last_index, "missing": missing})


# ---- proctors ------------------------------------------------------------------------------------


async def proctor_overview(request: Request) -> Response:
    """GET /proctor: attempts with their flags and live state, newest first."""
    session = db(request)
    flag_counts = (
        select(
            Flag.registration_id,
            func.count().label("total"),
            func.count().filter(Flag.severity == "high").label("high"),
        )
        .group_by(Flag.registration_id)
        .subquery()
    )
    latest_check = (
        select(func.max(IdentityVerification.id).label("id"), IdentityVerification.registration_id)
        .group_by(IdentityVerification.registration_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Attempt,
            Registration,
            Sitting,
            User,
            LiveChannel,
            IdentityVerification,
            flag_counts.c.total,
            flag_counts.c.high,
        )
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .join(User, User.id == Registration.candidate_id)
        .outerjoin(LiveChannel, LiveChannel.registration_id == Registration.id)
        .outerjoin(latest_check, latest_check.c.registration_id == Registration.id)
        .outerjoin(IdentityVerification, IdentityVerification.id == latest_check.c.id)
        .outerjoin(flag_counts, flag_counts.c.registration_id == Registration.id)
        .order_by(Attempt.started_at.desc())
        .limit(200)
    )
    attempts = [
        {
            "attempt": attempt,
            "registration": registration,
            "sitting": sitting,
            "candidate": candidate,
            "flags": total or 0,
            "high": high or 0,
            "live": live,
            "verification": verification,
        }
        for attempt, registration, sitting, candidate, live, verification, total, high in rows
    ]
    return render(
        request,
        "proctoring/overview.html",
        {"attempts": attempts, "words": ProctorWords(request_translations(request))},
    )


async def proctor_registration(request: Request) -> Response:
    """GET /proctor/registrations/{id}: identity check, flags and recordings of one candidate."""
    session = db(request)
    registration = await session.get(Registration, int(request.path_params["registration_id"]))
    if registration is None:
        raise NotFound(_l("No such registration."))
    sitting = await session.get(Sitting, registration.sitting_id)
    candidate = await session.get(User, registration.candidate_id)
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == registration.id)
    )
    verifications = list(
        await session.scalars(
            select(IdentityVerification)
            .where(IdentityVerification.registration_id == registration.id)
            .order_by(IdentityVerification.checked_at)
        )
    )
    parts = (
        {
            part.id: part
            for part in await session.scalars(
                select(AttemptPart).where(AttemptPart.attempt_id == attempt.id)
            )
        }
        if attempt
        else {}
    )
    return render(
        request,
        "proctoring/registration.html",
        {
            "registration": registration,
            "sitting": sitting,
            "candidate": candidate,
            "attempt": attempt,
            "verifications": verifications,
            "flags": await flags.flags_of_registration(session, registration.id),
            "recordings": await recordings.recordings_of_registration(session, registration.id),
            "live": await service.live_state(session, registration.id),
            "words": ProctorWords(request_translations(request), parts),
        },
    )


async def _audited_fetch(request: Request, action: str, entity_type: str, entity_id: int) -> None:
    await audit.record(
        db(request),
        actor_id=current_user(request).id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
    )


async def _recording_response(request: Request, recording: Recording) -> Response:
    if recording.purged_at is not None:
        raise NotFound(_l("The recording has been deleted (its retention time ran out)."))
    files = await recordings.chunk_files(db(request), request.state.media, recording)
    if not files:
        raise NotFound(_l("Nothing of this recording has been received."))
    return StreamingResponse(
        request.state.media.read_chunks(files),
        media_type=recording.mime_type,
        headers=PRIVATE_MEDIA,
    )


async def proctor_recording(request: Request) -> Response:
    """GET /proctor/recordings/{id}: the recording as one WebM stream (the fetch is audited)."""
    recording = await db(request).get(Recording, int(request.path_params["recording_id"]))
    if recording is None:
        raise NotFound(_l("No such recording."))
    await _audited_fetch(request, "proctoring.recording_viewed", "recording", recording.id)
    return await _recording_response(request, recording)


async def grader_recording(request: Request) -> Response:
    """GET /grading/recordings/{id}: an oral answer's recording, for graders (audited)."""
    recording = await db(request).get(Recording, int(request.path_params["recording_id"]))
    if recording is None or not recording.is_answer:
        raise NotFound(_l("No such recording."))
    await _audited_fetch(request, "grading.oral_answer_viewed", "recording", recording.id)
    return await _recording_response(request, recording)


async def proctor_snapshot(request: Request) -> Response:
    """GET /proctor/snapshots/{id}: a flag's still frame (audited)."""
    snapshot = await db(request).get(Snapshot, int(request.path_params["snapshot_id"]))
    if snapshot is None or snapshot.purged_at is not None:
        raise NotFound(_l("No such snapshot."))
    await _audited_fetch(request, "proctoring.snapshot_viewed", "snapshot", snapshot.id)
    return Response(
        request.state.media.read_image(snapshot.stored_name),
        media_type="image/jpeg",
        headers=PRIVATE_MEDIA,
    )


async def proctor_identity_photo(request: Request) -> Response:
    """GET /proctor/identity/{id}/{live|profile}: the two photos of a check-in (audited)."""
    session = db(request)
    verification = await session.get(
        IdentityVerification, int(request.path_params["verification_id"])
    )
    if verification is None:
        raise NotFound(_l("No such identity check."))
    which = request.path_params["which"]
    if which == "live":
        name = verification.live_photo_name
    elif which == "profile" and verification.profile_photo_id is not None:
        profile = await session.get(ProfilePhoto, verification.profile_photo_id)
        name = profile.stored_name if profile else None
    else:
        name = None
    if name is None:
        raise NotFound(_l("No such photo."))
    await _audited_fetch(
        request, f"proctoring.{which}_photo_viewed", "identity_verification", verification.id
    )
    return Response(
        request.state.media.read_image(name), media_type="image/jpeg", headers=PRIVATE_MEDIA
    )


def routes() -> list[BaseRoute]:
    """Proctoring routes."""
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
            live_offer,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api("/api/registrations/{registration_id:id}/live", live_status, roles=CANDIDATES),
        api(
            "/api/registrations/{registration_id:id}/events",
            browser_event,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/parts/{part_id:id}/recording/{index:id}",
            upload_chunk,
            methods=["PUT"],
            roles=CANDIDATES,
        ),
        api(
            "/api/parts/{part_id:id}/recording/finish",
            finish_recording,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        page("/proctor", proctor_overview, roles=PROCTORS),
        page("/proctor/registrations/{registration_id:id}", proctor_registration, roles=PROCTORS),
        page("/proctor/recordings/{recording_id:id}", proctor_recording, roles=PROCTORS),
        page("/proctor/snapshots/{snapshot_id:id}", proctor_snapshot, roles=PROCTORS),
        page(
            "/proctor/identity/{verification_id:id}/{which:str}",
            proctor_identity_photo,
            roles=PROCTORS,
        ),
        page("/grading/recordings/{recording_id:id}", grader_recording, roles=GRADERS),
        *staff_routes(),
    ]


# ---- what the exam pages need from proctoring --------------------------------------------------


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
    if not policy.enabled or (attempt is not None and attempt.status != "in_progress"):
        return None
    next_chunk = 0
    if current is not None:
        # On another computer (or after clearing the browser) the recording goes on after the
        # pieces the server already holds, never over them.
        top = await db(request).scalar(
            select(func.max(RecordingChunk.index))
            .join(Recording, Recording.id == RecordingChunk.recording_id)
            .where(Recording.attempt_part_id == current.id)
        )
        next_chunk = 0 if top is None else top + 1
    return {
        "registration": registration.id,
        "attempt": attempt.id if attempt else None,
        "part": current.id if current else None,
        "csrf": csrf_token(request),
        "serverTime": _now(request).isoformat(),
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


LIVE_VIDEO = {"maxFramerate": 2, "scaleResolutionDownBy": 1, "maxBitrate": 200_000}
"""What the browser sends on the live channel (the recording has its own 640x480 at full rate).
The server decodes every frame it receives: 2 frames a second are plenty for one sample every
2 s and keep a live candidate under 3 % of a core; the full 640x480 keeps faces large enough to
find and to compare (bench/README.md)."""


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


# ---- staff: a scheme's proctoring policy -------------------------------------------------------

POLICY_FIELDS: list[tuple[str, Any]] = [
    ("identity_threshold", _l("Identity: largest face distance taken as the same person")),
    ("sample_interval_seconds", _l("Seconds between analysed camera frames")),
    ("identity_interval_seconds", _l("Seconds between identity comparisons during the exam")),
    ("no_face_seconds", _l("Flag no face after (seconds)")),
    ("multiple_faces_seconds", _l("Flag more than one face after (seconds)")),
    ("face_mismatch_seconds", _l("Flag a face that does not match after (seconds)")),
    ("speech_seconds", _l("Flag speech lasting longer than (seconds)")),
    ("media_off_seconds", _l("Camera or microphone counts as off after (seconds)")),
    (
        "live_reconnect_grace_seconds",
        _l("Flag a lost live channel, camera or microphone after (seconds)"),
    ),
    ("chunk_seconds", _l("Recording piece length (seconds)")),
    ("max_chunk_bytes", _l("Largest recording piece (bytes)")),
    ("video_bits_per_second", _l("Recording video bitrate (bits per second)")),
]


async def _render_policy(
    request: Request,
    scheme: Scheme,
    values: dict[str, Any],
    *,
    error: str | None = None,
    error_field: str | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "proctoring/policy.html",
        {
            "scheme": scheme,
            "values": values,
            "fields": [(name, translate(request, label)) for name, label in POLICY_FIELDS],
            "error": error,
            "error_field": error_field,
            "saved": saved,
        },
        status_code=status_code,
    )


async def _scheme(request: Request) -> Scheme:
    scheme = await db(request).get(Scheme, int(request.path_params["scheme_id"]))
    if scheme is None:
        raise NotFound(_l("No such scheme."))
    return scheme


async def policy_page(request: Request) -> Response:
    """GET /staff/schemes/{id}/proctoring: the scheme's proctoring settings."""
    scheme = await _scheme(request)
    policy = await service.policy_for_scheme(db(request), scheme.id)
    return await _render_policy(
        request,
        scheme,
        policy.model_dump(mode="json"),
        saved=request.query_params.get("saved") == "1",
    )


async def policy_save(request: Request) -> Response:
    """POST /staff/schemes/{id}/proctoring: change the settings (every value validated)."""
    scheme = await _scheme(request)
    form = await request.form()
    current = (await service.policy_for_scheme(db(request), scheme.id)).model_dump(mode="json")
    values: dict[str, Any] = {name: form_str(form, name).strip() for name, _label in POLICY_FIELDS}
    values["enabled"] = form_str(form, "enabled") == "on"
    try:
        await service.set_policy(
            db(request),
            scheme_id=scheme.id,
            values={**current, **values},
            actor=current_user(request),
            now=_now(request),
        )
    except VaktError as error:
        return await _render_policy(
            request,
            scheme,
            values,
            error=translate(request, error.message, error.params),
            error_field=error.field,
            status_code=422,
        )
    return RedirectResponse(f"/staff/schemes/{scheme.id}/proctoring?saved=1", status_code=303)


def staff_routes() -> list[BaseRoute]:
    """The administrators' proctoring settings."""
    administrators = (Role.ADMINISTRATOR,)
    return [
        page("/staff/schemes/{scheme_id:id}/proctoring", policy_page, roles=administrators),
        page(
            "/staff/schemes/{scheme_id:id}/proctoring",
            policy_save,
            methods=["POST"],
            roles=administrators,
            name="policy_save",
        ),
    ]
