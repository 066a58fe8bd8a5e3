"""The candidate's exam API: state, start, save, hand in, time. The exam page uses it; so can
other clients and load tests. Every answer is built from the models in ``exam.schemas``, which
also describe it (``/api/openapi.json``). Nothing here ever carries a key or a grading guide."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from exam import attempts, flags, handin, oral, pauses, queries, saves, schemas
from exam.models import Attempt, AttemptPart, OralTake, Registration
from exam.roles import CANDIDATES
from itembank.blueprints import BlueprintPart
from vakt.errors import VaktError
from vakt.i18n import _l
from web.device import DEVICE_COOKIE, bind_this_browser
from web.endpoints import api, current_user, db, now, path_id
from web.inputs import json_object
from web.openapi import openapi_json
from web.seb import seb_gate


def _answer(model: BaseModel, status_code: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status_code)


async def _own_attempt(request: Request, attempt_id: int) -> tuple[Attempt, Registration]:
    """The candidate's attempt, tied to this browser (refused on another computer)."""
    attempt, registration = await queries.candidate_attempt(
        db(request), attempt_id, current_user(request)
    )
    await bind_this_browser(request, attempt)
    return attempt, registration


async def attempt_state(request: Request) -> Response:
    """GET /api/attempts/{attempt_id}: parts, deadlines, the current part's items and answers."""
    attempt, registration = await _own_attempt(request, path_id(request, "attempt_id"))
    moment = now(request)
    state = await queries.exam_state(
        db(request),
        registration=registration,
        sitting=await queries.sitting_of(db(request), registration),
        attempt=attempt,
        now=moment,
        views=request.state.candidate_views,
        late_window=request.state.settings.late_save_window,
    )
    started = {part.part_index: part for part in state.started}
    definition = state.definition
    return _answer(
        schemas.AttemptState(
            attempt_id=attempt.id,
            status=attempt.status,
            ended_reason=attempt.ended_reason or None,
            server_time=moment,
            extra_time_percent=attempt.extra_time_percent,
            allowed_aids=definition.allowed_aids,
            parts=[_part_state(started.get(i), definition.parts[i], moment) for i in state.order],
            current_part=state.current.part_index if state.current else None,
            items=[
                schemas.StateItem(item_version_id=item.item_version_id, **dict(item.view))
                for item in state.items
            ],
            answers={
                key: schemas.SavedAnswer(
                    value=answer.value, sequence=answer.sequence, saved_at=answer.saved_at
                )
                for key, answer in state.answers.items()
            },
            flagged=sorted(v for v, flag in state.flags.items() if flag.flagged),
        )
    )


def _seconds_left(part: AttemptPart, moment: datetime) -> int:
    return max(0, math.ceil(pauses.time_left(part, moment).total_seconds()))


def _part_state(part: Any, blueprint_part: BlueprintPart, moment: datetime) -> schemas.PartState:
    return schemas.PartState(
        key=blueprint_part.key,
        title=blueprint_part.title,
        kind=blueprint_part.kind.value,
        duration_minutes=blueprint_part.duration_minutes,
        break_after_minutes=blueprint_part.break_after_minutes,
        id=part.id if part else None,
        started_at=part.started_at if part else None,
        deadline=part.deadline if part else None,
        submitted_at=part.submitted_at if part else None,
        receipt=part.receipt_digest if part else None,
        paused=bool(part and part.paused_at),
        seconds_left=_seconds_left(part, moment) if part and not part.submitted_at else None,
    )


async def start_attempt(request: Request) -> Response:
    """POST /api/registrations/{registration_id}/attempt: start (or resume) the attempt."""
    attempt = await attempts.start_attempt(
        db(request),
        registration_id=path_id(request, "registration_id"),
        candidate=current_user(request),
        now=now(request),
        checkin=request.state.checkin,
    )
    await bind_this_browser(request, attempt)
    return _answer(schemas.AttemptStarted(attempt_id=attempt.id), status_code=201)


async def start_part(request: Request) -> Response:
    """POST /api/attempts/{attempt_id}/parts/next: start the next part (after its break)."""
    attempt, _registration = await _own_attempt(request, path_id(request, "attempt_id"))
    part = await attempts.start_part(
        db(request),
        attempt_id=attempt.id,
        candidate=current_user(request),
        now=now(request),
        checkin=request.state.checkin,
    )
    return _answer(schemas.PartStarted(id=part.id, deadline=part.deadline), status_code=201)


async def save(request: Request) -> Response:
    """PUT /api/parts/{part_id}/answers/{item_version_id}/{question_id} {sequence, value}."""
    body = await json_object(request)
    sequence = body.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool):
        raise VaktError(_l("sequence must be a whole number."), field="sequence")
    if "value" not in body:
        raise VaktError(_l("value is required."), field="value")
    moment = now(request)
    result = await saves.save_answer(
        db(request),
        attempt_part_id=path_id(request, "part_id"),
        candidate=current_user(request),
        item_version_id=path_id(request, "item_version_id"),
        question_id=request.path_params["question_id"],
        sequence=sequence,
        value=body["value"],
        now=moment,
        device=request.cookies.get(DEVICE_COOKIE) or "",
        changed_at=_changed_at(body.get("changed_at")),
        late_window=request.state.settings.late_save_window,
    )
    return _answer(
        schemas.SaveResult(
            applied=result.applied,
            sequence=result.sequence,
            saved_at=moment,
            delivered_late=result.delivered_late,
        )
    )


async def flag(request: Request) -> Response:
    """PUT /api/parts/{part_id}/flags/{item_version_id} {flagged, sequence}: flag for review."""
    body = await json_object(request)
    flagged, sequence = body.get("flagged"), body.get("sequence")
    if not isinstance(flagged, bool):
        raise VaktError(_l("flagged must be true or false."), field="flagged")
    if not isinstance(sequence, int) or isinstance(sequence, bool):
        raise VaktError(_l("sequence must be a whole number."), field="sequence")
    result = await flags.set_flag(
        db(request),
        attempt_part_id=path_id(request, "part_id"),
        candidate=current_user(request),
        item_version_id=path_id(request, "item_version_id"),
        flagged=flagged,
        sequence=sequence,
        now=now(request),
        device=request.cookies.get(DEVICE_COOKIE) or "",
    )
    return _answer(
        schemas.FlagResult(applied=result.applied, flagged=result.flagged, sequence=result.sequence)
    )


def _take(take: OralTake) -> schemas.OralTakeResult:
    end = (
        schemas.OralMark(stream=take.end_stream, ms=take.end_ms, chunk=take.end_chunk)
        if take.end_stream is not None and take.end_ms is not None and take.end_chunk is not None
        else None
    )
    return schemas.OralTakeResult(
        item_version_id=take.item_version_id,
        question_id=take.question_id,
        take=take.take,
        state=take.state,
        started_at=take.started_at,
        stopped_at=take.stopped_at,
        start=schemas.OralMark(stream=take.start_stream, ms=take.start_ms, chunk=take.start_chunk),
        end=end,
        clamped=take.clamped,
    )


async def oral_start(request: Request) -> Response:
    """POST /api/parts/{part_id}/oral/{item_version_id}/{question_id}/start {mark}."""
    body = await json_object(request)
    take = await oral.start_answer(
        db(request),
        attempt_part_id=path_id(request, "part_id"),
        candidate=current_user(request),
        item_version_id=path_id(request, "item_version_id"),
        question_id=request.path_params["question_id"],
        mark=body.get("mark"),
        now=now(request),
        device=request.cookies.get(DEVICE_COOKIE) or "",
    )
    return _answer(_take(take))


async def oral_stop(request: Request) -> Response:
    """POST /api/parts/{part_id}/oral/{item_version_id}/{question_id}/stop {take, mark}."""
    body = await json_object(request)
    take = await oral.stop_answer(
        db(request),
        attempt_part_id=path_id(request, "part_id"),
        candidate=current_user(request),
        item_version_id=path_id(request, "item_version_id"),
        question_id=request.path_params["question_id"],
        take=body.get("take"),
        mark=body.get("mark"),
        now=now(request),
        device=request.cookies.get(DEVICE_COOKIE) or "",
    )
    return _answer(_take(take))


async def oral_answers(request: Request) -> Response:
    """GET /api/parts/{part_id}/oral: the part's oral answers and whether each counts."""
    found = await oral.part_answers(
        db(request),
        attempt_part_id=path_id(request, "part_id"),
        candidate=current_user(request),
        receipts=request.state.recording_receipts,
    )
    return _answer(
        schemas.OralAnswers(
            answers=[
                schemas.OralAnswerState(
                    item_version_id=status.item_version_id,
                    question_id=status.question_id,
                    take=status.take,
                    state=status.state,
                    started_at=status.started_at,
                    stopped_at=status.stopped_at,
                    answered=status.answered,
                    retakes_left=status.retakes_left,
                )
                for status in found
            ]
        )
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
    owned, attempt = await queries.candidate_part(
        db(request), path_id(request, "part_id"), current_user(request)
    )
    await bind_this_browser(request, attempt)
    part = await handin.submit_part(
        db(request), attempt_part_id=owned.id, candidate=current_user(request), now=now(request)
    )
    assert part.submitted_at is not None and part.receipt_digest is not None
    return _answer(schemas.Receipt(receipt=part.receipt_digest, submitted_at=part.submitted_at))


async def server_time(request: Request) -> Response:
    """GET /api/time: the server's clock, which every countdown follows."""
    return _answer(schemas.ServerTime(server_time=now(request)))


async def part_clock(request: Request) -> Response:
    """GET /api/parts/{part_id}/clock: the server's clock and the part's deadline; the exam page
    asks about once a minute, which is also its sign of life (``saves.record_contact``)."""
    moment = now(request)
    part = await saves.record_contact(
        db(request),
        attempt_part_id=path_id(request, "part_id"),
        candidate=current_user(request),
        now=moment,
    )
    return _answer(
        schemas.PartClock(
            server_time=moment,
            deadline=part.deadline,
            submitted_at=part.submitted_at,
            paused=part.paused_at is not None,
            seconds_left=_seconds_left(part, moment),
        )
    )


def routes() -> list[BaseRoute]:
    """Candidate API routes."""
    return [
        api("/api/time", server_time, login=False),
        api("/api/openapi.json", openapi_json, login=False),
        api("/api/attempts/{attempt_id:id}", seb_gate(attempt_state), roles=CANDIDATES),
        api(
            "/api/registrations/{registration_id:id}/attempt",
            seb_gate(start_attempt),
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/attempts/{attempt_id:id}/parts/next",
            seb_gate(start_part),
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/parts/{part_id:id}/answers/{item_version_id:id}/{question_id}",
            seb_gate(save),
            methods=["PUT"],
            roles=CANDIDATES,
        ),
        api(
            "/api/parts/{part_id:id}/flags/{item_version_id:id}",
            seb_gate(flag),
            methods=["PUT"],
            roles=CANDIDATES,
        ),
        api(
            "/api/parts/{part_id:id}/oral/{item_version_id:id}/{question_id}/start",
            seb_gate(oral_start),
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api(
            "/api/parts/{part_id:id}/oral/{item_version_id:id}/{question_id}/stop",
            seb_gate(oral_stop),
            methods=["POST"],
            roles=CANDIDATES,
        ),
        api("/api/parts/{part_id:id}/oral", seb_gate(oral_answers), roles=CANDIDATES),
        api("/api/parts/{part_id:id}/submit", seb_gate(submit), methods=["POST"], roles=CANDIDATES),
        api("/api/parts/{part_id:id}/clock", seb_gate(part_clock), roles=CANDIDATES),
    ]
