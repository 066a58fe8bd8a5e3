"""The candidate's exam API: state, start, save, hand in, time. The exam page uses it; so can
other clients and load tests. Nothing here ever carries a key or a grading guide."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from exam import attempts, handin, lookups, saves
from exam.models import Answer, Attempt, AttemptPart, Registration
from itembank import blueprints
from itembank.models import ExamForm
from itembank.shuffling import shuffled_view
from vakt.accounts import Role
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web.device import DEVICE_COOKIE, bind_this_browser
from web.endpoints import api, current_user, db
from web.inputs import json_object
from web.openapi import openapi_json

CANDIDATES = (Role.CANDIDATE,)


def _now(request: Request) -> Any:
    return request.state.clock.now()


async def _own_attempt(request: Request, attempt_id: int) -> tuple[Attempt, Registration]:
    session = db(request)
    attempt = await session.get(Attempt, attempt_id)
    registration = await session.get(Registration, attempt.registration_id) if attempt else None
    if attempt is None or registration is None:
        raise NotFound(_l("No such attempt."))
    if registration.candidate_id != current_user(request).id:
        raise NotFound(_l("No such attempt."))
    await bind_this_browser(request, attempt)
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
    started = {part.part_index: part for part in await lookups.parts_of(session, attempt.id)}
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
                for i in lookups.registered_part_indexes(definition, registration)
            ],
            "current_part": current.part_index if current else None,
            "items": items,
            "answers": answers,
        }
    )


async def start_attempt(request: Request) -> Response:
    """POST /api/registrations/{registration_id}/attempt: start (or resume) the attempt."""
    attempt = await attempts.start_attempt(
        db(request),
        registration_id=int(request.path_params["registration_id"]),
        candidate=current_user(request),
        now=_now(request),
        checkin=request.state.checkin,
    )
    await bind_this_browser(request, attempt)
    return JSONResponse({"attempt_id": attempt.id}, status_code=201)


async def start_part(request: Request) -> Response:
    """POST /api/attempts/{attempt_id}/parts/next: start the next part (after its break)."""
    attempt, _registration = await _own_attempt(request, int(request.path_params["attempt_id"]))
    part = await attempts.start_part(
        db(request),
        attempt_id=attempt.id,
        candidate=current_user(request),
        now=_now(request),
        checkin=request.state.checkin,
    )
    return JSONResponse({"id": part.id, "deadline": part.deadline.isoformat()}, status_code=201)


async def save(request: Request) -> Response:
    """PUT /api/parts/{part_id}/answers/{item_version_id}/{question_id} {sequence, value}."""
    body = await json_object(request)
    sequence = body.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool):
        raise VaktError(_l("sequence must be a whole number."), field="sequence")
    if "value" not in body:
        raise VaktError(_l("value is required."), field="value")
    now = _now(request)
    settings = request.state.settings
    result = await saves.save_answer(
        db(request),
        attempt_part_id=int(request.path_params["part_id"]),
        candidate=current_user(request),
        item_version_id=int(request.path_params["item_version_id"]),
        question_id=request.path_params["question_id"],
        sequence=sequence,
        value=body["value"],
        now=now,
        device=request.cookies.get(DEVICE_COOKIE) or "",
        changed_at=_changed_at(body.get("changed_at")),
        late_window=settings.late_save_window,
    )
    return JSONResponse(
        {
            "applied": result.applied,
            "sequence": result.sequence,
            "saved_at": now.isoformat(),
            "delivered_late": result.delivered_late,
        }
    )


def _changed_at(value: Any) -> datetime | None:
    """When the candidate made the change, by the page's server-synced clock (optional)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise VaktError(
            _l("changed_at must be a date and time with a time zone (ISO 8601)."),
            field="changed_at",
        )
    return moment


async def submit(request: Request) -> Response:
    """POST /api/parts/{part_id}/submit: hand in the part; answers the receipt."""
    owned = await db(request).get(AttemptPart, int(request.path_params["part_id"]))
    if owned is None:
        raise NotFound(_l("No such part."))
    await _own_attempt(request, owned.attempt_id)
    part = await handin.submit_part(
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


async def part_clock(request: Request) -> Response:
    """GET /api/parts/{part_id}/clock: the server's clock and the part's deadline; the exam page
    asks about once a minute, which is also its sign of life (``saves.record_contact``)."""
    now = _now(request)
    part = await saves.record_contact(
        db(request),
        attempt_part_id=int(request.path_params["part_id"]),
        candidate=current_user(request),
        now=now,
    )
    return JSONResponse(
        {
            "server_time": now.isoformat(),
            "deadline": part.deadline.isoformat(),
            "submitted_at": part.submitted_at.isoformat() if part.submitted_at else None,
        }
    )


def routes() -> list[BaseRoute]:
    """Candidate API routes."""
    return [
        api("/api/time", server_time, login=False),
        api("/api/openapi.json", openapi_json, login=False),
        api("/api/attempts/{attempt_id:id}", attempt_state, roles=CANDIDATES),
        api(
            "/api/registrations/{registration_id:id}/attempt",
            start_attempt,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/attempts/{attempt_id:id}/parts/next",
            start_part,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/parts/{part_id:id}/answers/{item_version_id:id}/{question_id}",
            save,
            methods=["PUT"],
            roles=CANDIDATES,
        ),
        api("/api/parts/{part_id:id}/submit", submit, methods=["POST"], roles=CANDIDATES),
        api("/api/parts/{part_id:id}/clock", part_clock, roles=CANDIDATES),
    ]
