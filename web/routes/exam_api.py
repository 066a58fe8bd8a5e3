"""The candidate's exam API: state, start, save, hand in, time. The exam page uses it; so can
other clients and load tests. Nothing here ever carries a key or a grading guide."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from exam import service
from exam.models import Answer, Attempt, AttemptPart, AttemptStatus, Registration
from itembank import blueprints
from itembank.models import ExamForm
from itembank.shuffling import shuffled_view
from vakt.accounts import Role
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web.device import device_token, remember_device
from web.endpoints import api, current_user, db
from web.openapi import openapi_json
from web.routes import proctoring

CANDIDATES = (Role.CANDIDATE,)


def _now(request: Request) -> Any:
    return request.state.clock.now()


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise VaktError(_l("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise VaktError(_l("The request body must be a JSON object."))
    return body


async def _bind(request: Request, attempt: Attempt) -> None:
    """Refuse a running attempt from another browser than the one it is tied to."""
    if attempt.status == AttemptStatus.IN_PROGRESS.value:
        await service.bind_device(
            db(request),
            attempt=attempt,
            device_token=device_token(request),
            actor=current_user(request),
            now=_now(request),
        )


async def _own_attempt(request: Request, attempt_id: int) -> tuple[Attempt, Registration]:
    session = db(request)
    attempt = await session.get(Attempt, attempt_id)
    registration = await session.get(Registration, attempt.registration_id) if attempt else None
    if attempt is None or registration is None:
        raise NotFound(_l("No such attempt."))
    if registration.candidate_id != current_user(request).id:
        raise NotFound(_l("No such attempt."))
    await _bind(request, attempt)
    return attempt, registration


def _part_json(
    part: AttemptPart | None, definition_part: blueprints.BlueprintPart
) -> dict[str, Any]:
    return {
        "key": definition_part.key,
        "title": definition_part.title,
        "kind": definition_part.kind.value,
        "duration_minutes": definition_part.duration_minutes,
        "break_after_minutes": definition_part.break_after_minutes,
        "id": part.id if part else None,
        "started_at": part.started_at.isoformat() if part else None,
        "deadline": part.deadline.isoformat() if part else None,
        "submitted_at": part.submitted_at.isoformat() if part and part.submitted_at else None,
        "receipt": part.receipt_digest if part else None,
    }


async def attempt_state(request: Request) -> Response:
    """GET /api/attempts/{attempt_id}: parts, deadlines, the current part's items and answers."""
    session = db(request)
    attempt, registration = await _own_attempt(request, int(request.path_params["attempt_id"]))
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    definition = blueprints.BlueprintDefinition.model_validate(form.blueprint_snapshot)
    started = {part.part_index: part for part in await service.parts_of(session, attempt.id)}
    current = next((p for p in started.values() if p.submitted_at is None), None)
    items: list[dict[str, Any]] = []
    answers: dict[str, Any] = {}
    if current is not None:
        version_ids = [
            row.item_version_id for row in form.items if row.part_index == current.part_index
        ]
        views = await request.state.candidate_views.of(session, version_ids)
        items = [
            {
                "item_version_id": version_id,
                **shuffled_view(
                    views[version_id], form_seed=form.seed, version_id=version_id
                ).model_dump(mode="json"),
            }
            for version_id in version_ids
        ]
        for answer in await session.scalars(
            select(Answer).where(Answer.attempt_part_id == current.id)
        ):
            answers[f"{answer.item_version_id}/{answer.question_id}"] = {
                "value": answer.value,
                "sequence": answer.sequence,
                "saved_at": answer.saved_at.isoformat(),
            }
    return JSONResponse(
        {
            "attempt_id": attempt.id,
            "status": attempt.status,
            "ended_reason": attempt.ended_reason or None,
            "server_time": _now(request).isoformat(),
            "extra_time_percent": attempt.extra_time_percent,
            "allowed_aids": definition.allowed_aids,
            "parts": [
                _part_json(started.get(i), definition.parts[i])
                for i in service.registered_part_indexes(definition, registration)
            ],
            "current_part": current.part_index if current else None,
            "items": items,
            "answers": answers,
        }
    )


async def start_attempt(request: Request) -> Response:
    """POST /api/registrations/{registration_id}/attempt: start (or resume) the attempt."""
    attempt = await service.start_attempt(
        db(request),
        registration_id=int(request.path_params["registration_id"]),
        candidate=current_user(request),
        now=_now(request),
    )
    await _bind(request, attempt)
    return remember_device(request, JSONResponse({"attempt_id": attempt.id}, status_code=201))


async def start_part(request: Request) -> Response:
    """POST /api/attempts/{attempt_id}/parts/next: start the next part (after its break)."""
    attempt, registration = await _own_attempt(request, int(request.path_params["attempt_id"]))
    proctoring_context = await proctoring.before_part_start(request, registration)
    part = await service.start_part(
        db(request),
        attempt_id=attempt.id,
        candidate=current_user(request),
        now=_now(request),
    )
    await proctoring.after_part_start(request, proctoring_context, part)
    return JSONResponse({"id": part.id, "deadline": part.deadline.isoformat()}, status_code=201)


async def save(request: Request) -> Response:
    """PUT /api/parts/{part_id}/answers/{item_version_id}/{question_id} {sequence, value}."""
    body = await _json_object(request)
    sequence = body.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool):
        raise VaktError(_l("sequence must be a whole number."), field="sequence")
    if "value" not in body:
        raise VaktError(_l("value is required."), field="value")
    now = _now(request)
    result = await service.save_answer(
        db(request),
        attempt_part_id=int(request.path_params["part_id"]),
        candidate=current_user(request),
        item_version_id=int(request.path_params["item_version_id"]),
        question_id=request.path_params["question_id"],
        sequence=sequence,
        value=body["value"],
        now=now,
        device=device_token(request),
    )
    return JSONResponse(
        {"applied": result.applied, "sequence": result.sequence, "saved_at": now.isoformat()}
    )


async def submit(request: Request) -> Response:
    """POST /api/parts/{part_id}/submit: hand in the part; answers the receipt."""
    owned = await db(request).get(AttemptPart, int(request.path_params["part_id"]))
    if owned is None:
        raise NotFound(_l("No such part."))
    await _own_attempt(request, owned.attempt_id)
    part = await service.submit_part(
        db(request),
        attempt_part_id=int(request.path_params["part_id"]),
        candidate=current_user(request),
        now=_now(request),
    )
    assert part.submitted_at is not None
    return JSONResponse(
        {"receipt": part.receipt_digest, "submitted_at": part.submitted_at.isoformat()}
    )


async def server_time(request: Request) -> Response:
    """GET /api/time: the server's clock, which every countdown follows."""
    return JSONResponse({"server_time": _now(request).isoformat()})


def routes() -> list[BaseRoute]:
    """Candidate API routes."""
    return [
        api("/api/time", server_time, login=False),
        api("/api/openapi.json", openapi_json, login=False),
        api("/api/attempts/{attempt_id:int}", attempt_state, roles=CANDIDATES),
        api(
            "/api/registrations/{registration_id:int}/attempt",
            start_attempt,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/attempts/{attempt_id:int}/parts/next",
            start_part,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/parts/{part_id:int}/answers/{item_version_id:int}/{question_id}",
            save,
            methods=["PUT"],
            roles=CANDIDATES,
        ),
        api("/api/parts/{part_id:int}/submit", submit, methods=["POST"], roles=CANDIDATES),
    ]
