"""The candidate's pages: "My page", the system check, the code of conduct and the exam itself.

The exam page is rendered here with the candidate's answers; exam.js then keeps it alive
(autosave, offline queue, countdown) through the JSON API in exam_api.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from exam import (
    accommodations,
    attempts,
    declarations,
    lookups,
    registrations,
    results,
)
from exam.checkin import CheckInStep, accept_declaration
from exam.models import (
    Accommodation,
    Answer,
    Application,
    Attempt,
    AttemptPart,
    AttemptStatus,
    Registration,
    Sitting,
)
from itembank import blueprints
from itembank.models import ExamForm, Scheme
from itembank.schemas import CandidateItem
from itembank.service import read_file
from itembank.shuffling import shuffled_view
from vakt import audit
from vakt.accounts import Role, User
from vakt.errors import Forbidden, NotFound, VaktError
from vakt.i18n import _l
from web.device import bind_this_browser, device_token
from web.endpoints import csrf_token, current_user, db, form_str, page
from web.headers import item_file_headers
from web.i18n import request_language, translate
from web.inputs import json_body
from web.rendering import render
from web.routes import proctoring

CANDIDATES = (Role.CANDIDATE,)


def _now(request: Request) -> datetime:
    now: datetime = request.state.clock.now()
    return now


def _path_int(request: Request, name: str) -> int:
    return int(request.path_params[name])


# ---- My page ------------------------------------------------------------------------------------


@dataclass
class RegistrationView:
    """One registration as the candidate sees it on "My page"."""

    registration: Registration
    sitting: Sitting
    scheme: Scheme
    parts: list[blueprints.BlueprintPart]
    attempt: Attempt | None
    attempt_parts: list[AttemptPart]
    accommodations: list[Accommodation]
    accommodation_deadline: datetime
    can_request_accommodation: bool
    can_start: bool
    retake_until: datetime | None
    passed: bool | None = None
    error: str | None = None
    form_values: dict[str, str] = field(default_factory=dict)


async def _registration_views(
    session: AsyncSession, candidate: User, now: datetime
) -> list[RegistrationView]:
    rows = (
        await session.execute(
            select(Registration, Sitting, Scheme)
            .join(Sitting, Sitting.id == Registration.sitting_id)
            .join(Scheme, Scheme.id == Sitting.scheme_id)
            .where(Registration.candidate_id == candidate.id)
            .order_by(Sitting.opens_at.desc())
        )
    ).all()
    views = []
    for registration, sitting, scheme in rows:
        blueprint = await blueprints.get_blueprint(session, sitting.blueprint_id)
        definition = blueprints.BlueprintDefinition.model_validate(blueprint.definition)
        attempt = await session.scalar(
            select(Attempt).where(Attempt.registration_id == registration.id)
        )
        attempt_parts = await lookups.parts_of(session, attempt.id) if attempt else []
        requests = (
            await session.scalars(
                select(Accommodation)
                .where(Accommodation.registration_id == registration.id)
                .order_by(Accommodation.id)
            )
        ).all()
        deadline = sitting.opens_at - accommodations.ACCOMMODATION_NOTICE
        ended = attempt is not None and attempt.status != AttemptStatus.IN_PROGRESS.value
        view = RegistrationView(
            registration=registration,
            sitting=sitting,
            scheme=scheme,
            parts=[p for p in definition.parts if p.key in registration.part_keys],
            attempt=attempt,
            attempt_parts=attempt_parts,
            accommodations=list(requests),
            accommodation_deadline=deadline,
            can_request_accommodation=attempt is None and now <= deadline,
            can_start=not ended and sitting.opens_at <= now <= sitting.closes_at,
            retake_until=await registrations.retake_window_end(session, registration),
        )
        if attempt is not None and attempt.results_released_at is not None:
            view.passed = results.attempt_passed(attempt, attempt_parts, registration.part_keys)
        views.append(view)
    return views


@dataclass
class RetakeOption:
    """Parts the candidate may still retake in a scheme, and until when."""

    scheme: Scheme
    part_titles: list[str]
    until: datetime


async def _retake_options(
    session: AsyncSession, candidate: User, now: datetime
) -> list[RetakeOption]:
    options = []
    schemes = (
        await session.scalars(
            select(Scheme)
            .join(Application, Application.scheme_id == Scheme.id)
            .where(Application.candidate_id == candidate.id)
        )
    ).all()
    for scheme in schemes:
        cycle = await registrations.certification_cycle(
            session, candidate_id=candidate.id, scheme_id=scheme.id
        )
        if cycle is None or cycle.all_passed or cycle.pending or now > cycle.window_ends_at:
            continue
        first = await session.get(Registration, cycle.first_registration_id)
        sitting = await session.get(Sitting, first.sitting_id) if first else None
        titles = dict.fromkeys(cycle.open_parts, "")
        if sitting is not None:
            blueprint = await blueprints.get_blueprint(session, sitting.blueprint_id)
            for part in blueprints.BlueprintDefinition.model_validate(blueprint.definition).parts:
                if part.key in titles:
                    titles[part.key] = part.title
        options.append(
            RetakeOption(
                scheme=scheme,
                part_titles=[title or key for key, title in titles.items()],
                until=cycle.window_ends_at,
            )
        )
    return options


async def _render_my_page(
    request: Request,
    *,
    error_for: int | None = None,
    error: str | None = None,
    form_values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    session, candidate, now = db(request), current_user(request), _now(request)
    views = await _registration_views(session, candidate, now)
    for view in views:
        if view.registration.id == error_for:
            view.error, view.form_values = error, form_values or {}
    applications = (
        await session.execute(
            select(Application, Scheme)
            .join(Scheme, Scheme.id == Application.scheme_id)
            .where(Application.candidate_id == candidate.id)
        )
    ).all()
    return render(
        request,
        "candidate/my.html",
        {
            "now": now,
            "registrations": views,
            "applications": applications,
            "retakes": await _retake_options(session, candidate, now),
            "sent": request.query_params.get("sent"),
            **(await proctoring.my_page_facts(request, [v.registration for v in views])),
        },
        status_code=status_code,
    )


async def my_page(request: Request) -> Response:
    """GET /my: the candidate's sittings, accommodations, results and retake options."""
    return await _render_my_page(request)


async def request_accommodation(request: Request) -> Response:
    """POST /my/registrations/{id}/accommodation: ask for extra time or other arrangements."""
    form = await request.form()
    values = {
        name: form_str(form, name) for name in ("extra_time_percent", "other_needs", "reason")
    }
    registration_id = _path_int(request, "registration_id")
    try:
        raw = values["extra_time_percent"].strip() or "0"
        if not raw.isdigit():
            raise VaktError(
                _l("Extra time must be a whole number of percent, for example 25."),
                field="extra_time_percent",
            )
        await accommodations.request_accommodation(
            db(request),
            registration_id=registration_id,
            candidate=current_user(request),
            extra_time_percent=int(raw),
            reason=values["reason"],
            other_needs=values["other_needs"],
            now=_now(request),
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_my_page(
            request,
            error_for=registration_id,
            error=translate(request, exc.message, exc.params),
            form_values=values,
            status_code=exc.status_code,
        )
    return RedirectResponse("/my?sent=accommodation", status_code=303)


# ---- before the exam ----------------------------------------------------------------------------


async def _own_registration(request: Request) -> tuple[Registration, Sitting]:
    session = db(request)
    registration = await session.get(Registration, _path_int(request, "registration_id"))
    if registration is None or registration.candidate_id != current_user(request).id:
        raise NotFound(_l("No such registration."))
    sitting = await session.get(Sitting, registration.sitting_id)
    assert sitting is not None
    return registration, sitting


def _declaration_paragraphs(request: Request) -> tuple[list[str], list[str]]:
    conduct = [translate(request, text) for text in declarations.CODE_OF_CONDUCT]
    declaration = [translate(request, text) for text in declarations.SELF_DECLARATION]
    return conduct, declaration


async def exam_entry(request: Request) -> Response:
    """GET /exam/{id}: send the candidate to the next step before (or into) the exam."""
    registration, _sitting = await _own_registration(request)
    step = await request.state.checkin.missing_step(db(request), registration)
    if step is CheckInStep.DECLARATION:
        return RedirectResponse(f"/exam/{registration.id}/check", status_code=303)
    return _step_redirect(request, registration, step)


def _step_redirect(
    request: Request, registration: Registration, step: CheckInStep | None
) -> RedirectResponse:
    if step is CheckInStep.DECLARATION:
        return RedirectResponse(f"/exam/{registration.id}/rules", status_code=303)
    if step is CheckInStep.IDENTITY:
        url = request.state.checkin.identity_page_url(registration)
        return RedirectResponse(url or f"/exam/{registration.id}", status_code=303)
    return RedirectResponse(f"/exam/{registration.id}/take", status_code=303)


async def system_check(request: Request) -> Response:
    """GET /exam/{id}/check: browser, camera, microphone and connection, checked in the page."""
    registration, sitting = await _own_registration(request)
    return render(
        request,
        "candidate/check.html",
        {"registration": registration, "sitting": sitting},
    )


async def system_check_result(request: Request) -> Response:
    """POST /exam/{id}/check: the page reports what it found (kept in the audit log)."""
    registration, _sitting = await _own_registration(request)
    results = await json_body(request)
    checks = results.get("checks") if isinstance(results, dict) else None
    if not isinstance(checks, dict) or not all(
        isinstance(k, str) and isinstance(v, bool) for k, v in checks.items()
    ):
        raise VaktError(_l("The check results are not in the expected form."))
    await audit.record(
        db(request),
        actor_id=current_user(request).id,
        action="exam.system_check",
        entity_type="registration",
        entity_id=registration.id,
        after={"checks": {k: checks[k] for k in sorted(checks)[:20]}},
    )
    return Response(status_code=204)


async def rules_page(request: Request) -> Response:
    """GET /exam/{id}/rules: the code of conduct and self-declaration to accept."""
    registration, sitting = await _own_registration(request)
    return await _render_rules(request, registration, sitting)


async def _render_rules(
    request: Request,
    registration: Registration,
    sitting: Sitting,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    conduct, declaration = _declaration_paragraphs(request)
    blueprint = await blueprints.get_blueprint(db(request), sitting.blueprint_id)
    definition = blueprints.BlueprintDefinition.model_validate(blueprint.definition)
    return render(
        request,
        "candidate/rules.html",
        {
            "registration": registration,
            "sitting": sitting,
            "conduct": conduct,
            "declaration": declaration,
            "allowed_aids": definition.allowed_aids,
            "text_version": declarations.TEXT_VERSION,
            "accepted": await request.state.checkin.has_declaration(db(request), registration.id),
            "error": error,
        },
        status_code=status_code,
    )


async def accept_rules(request: Request) -> Response:
    """POST /exam/{id}/rules: store the acceptance with time, text version and digest."""
    registration, sitting = await _own_registration(request)
    form = await request.form()
    if form_str(form, "conduct") != "yes" or form_str(form, "declaration") != "yes":
        return await _render_rules(
            request,
            registration,
            sitting,
            error=translate(
                request,
                _l("Tick both boxes to accept the code of conduct and the self-declaration."),
            ),
            status_code=400,
        )
    if form_str(form, "text_version") != declarations.TEXT_VERSION:
        return await _render_rules(
            request,
            registration,
            sitting,
            error=translate(
                request, _l("The text has changed since you opened it. Read it again.")
            ),
            status_code=409,
        )
    conduct, declaration = _declaration_paragraphs(request)
    await accept_declaration(
        db(request),
        registration_id=registration.id,
        candidate=current_user(request),
        text_version=declarations.TEXT_VERSION,
        text_digest=declarations.text_digest([*conduct, *declaration]),
        language=request_language(request),
        now=_now(request),
    )
    return RedirectResponse(f"/exam/{registration.id}", status_code=303)


# ---- the exam -----------------------------------------------------------------------------------


@dataclass
class ExamItem:
    """One item on the exam page."""

    number: int
    item_version_id: int
    view: CandidateItem


async def _bound_attempt(request: Request, registration: Registration) -> Attempt | None:
    """The registration's attempt, tied to this browser (refused on another computer)."""
    attempt = await db(request).scalar(
        select(Attempt).where(Attempt.registration_id == registration.id)
    )
    if attempt is not None:
        await bind_this_browser(request, attempt)
    return attempt


async def take(request: Request) -> Response:
    """GET /exam/{id}/take: the current part with the candidate's answers, or what comes next."""
    registration, sitting = await _own_registration(request)
    step = await request.state.checkin.missing_step(db(request), registration)
    if step is not None:
        return _step_redirect(request, registration, step)
    # The browser gets its device cookie before it starts anything, so the start's own answer
    # is not the only one that carries it.
    device_token(request)
    try:
        attempt = await _bound_attempt(request, registration)
    except Forbidden as refused:
        return render(
            request,
            "candidate/elsewhere.html",
            {"message": translate(request, refused.message, refused.params)},
            status_code=403,
        )
    return await _render_take(request, registration, sitting, attempt)


async def _render_take(
    request: Request,
    registration: Registration,
    sitting: Sitting,
    attempt: Attempt | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    session, now = db(request), _now(request)
    if attempt is not None:
        form = await session.get(ExamForm, attempt.form_id)
        assert form is not None
        definition = blueprints.BlueprintDefinition.model_validate(form.blueprint_snapshot)
    else:
        blueprint = await blueprints.get_blueprint(session, sitting.blueprint_id)
        definition = blueprints.BlueprintDefinition.model_validate(blueprint.definition)
        form = None
    order = lookups.registered_part_indexes(definition, registration)
    started = await lookups.parts_of(session, attempt.id) if attempt else []
    current = next((p for p in started if p.submitted_at is None), None)
    next_index = order[len(started)] if len(started) < len(order) else None
    break_until = attempts.break_ends(definition, started) if next_index is not None else None
    items: list[ExamItem] = []
    answers: dict[str, Any] = {}
    if current is not None and form is not None:
        rows = sorted(
            (r for r in form.items if r.part_index == current.part_index),
            key=lambda r: r.position,
        )
        views = await request.state.candidate_views.of(
            session, [row.item_version_id for row in rows]
        )
        items = [
            ExamItem(
                number,
                row.item_version_id,
                shuffled_view(
                    views[row.item_version_id], form_seed=form.seed, version_id=row.item_version_id
                ),
            )
            for number, row in enumerate(rows, start=1)
        ]
        for answer in await session.scalars(
            select(Answer).where(Answer.attempt_part_id == current.id)
        ):
            answers[f"{answer.item_version_id}/{answer.question_id}"] = {
                "value": answer.value,
                "sequence": answer.sequence,
                "saved_at": answer.saved_at.isoformat(),
            }
    extra = (
        attempt.extra_time_percent
        if attempt
        else await accommodations.approved_extra_time(session, registration.id)
    )
    config = None
    if current is not None:
        config = {
            "registration": registration.id,
            "attempt": attempt.id if attempt else None,
            "part": current.id,
            "deadline": current.deadline.isoformat(),
            "serverTime": now.isoformat(),
            "clockUrl": f"/api/parts/{current.id}/clock",
            "lateWindowMinutes": round(request.state.settings.late_save_window_seconds / 60),
            "csrf": csrf_token(request),
            "answers": answers,
            "messages": _exam_messages(request),
        }
    late_part = _part_taking_late_answers(started, now, request.state.settings.late_save_window)
    if current is None and late_part is not None:
        # Answers typed before the deadline may still wait in this browser (offline, then a
        # reload): the page sends them (exam.js) and shows the receipt issued again.
        config = {
            "part": late_part.id,
            "csrf": csrf_token(request),
            "messages": {
                "deliveryWaiting": translate(
                    request,
                    _l(
                        "{count} answers typed before the time was up are still on this "
                        "computer. Keep this page open until the connection is back: they are "
                        "sent then."
                    ),
                )
            },
        }
    proctor = (
        await proctoring.proctor_config(request, registration, attempt, current)
        if current is not None or next_index is not None
        else None
    )
    return render(
        request,
        "candidate/take.html",
        {
            "registration": registration,
            "sitting": sitting,
            "attempt": attempt,
            "definition": definition,
            "order": order,
            "started": {p.part_index: p for p in started},
            "current": current,
            "current_part": definition.parts[current.part_index] if current else None,
            "next_part": definition.parts[next_index] if next_index is not None else None,
            "break_until": break_until if break_until and break_until > now else None,
            "extra_time_percent": extra,
            "items": items,
            "config_json": _script_json(config) if config else None,
            "proctor_json": _script_json(proctor) if proctor else None,
            "sitting_open": sitting.opens_at <= now <= sitting.closes_at,
            "now": now,
            "error": error,
        },
        status_code=status_code,
    )


def _part_taking_late_answers(
    started: list[AttemptPart], now: datetime, window: timedelta
) -> AttemptPart | None:
    """The last part, if it was handed in at its deadline (not before) and answers typed in time
    may still arrive (``exam.saves.save_answer``)."""
    last = started[-1] if started else None
    if last is None or last.submitted_at is None or last.submitted_at < last.deadline:
        return None
    return last if now <= last.deadline + window else None


def _script_json(data: Any) -> str:
    """JSON safe to put inside a <script> element: an answer containing "</script>" must not
    end it early."""
    return (
        json.dumps(data, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def _exam_messages(request: Request) -> dict[str, str]:
    """The exam page's script texts, in the candidate's language."""
    texts = {
        "saved": _l("All answers saved {time}"),
        "saving": _l("Saving…"),
        "waiting": _l(
            "Offline: {count} answers waiting. Keep working; they are kept on this computer."
        ),
        "online": _l("The connection is back. Your answers are being sent."),
        "offline": _l(
            "The connection is lost. Keep working: your answers are kept on this computer."
        ),
        "refused": _l("An answer was not saved: {message}"),
        "fiveMinutes": _l("5 minutes left of this part."),
        "oneMinute": _l("1 minute left of this part."),
        "timeUp": _l("The time is up. Your answers are being handed in."),
        "deadlineWaiting": _l(
            "Saved on the server: {saved} answers. Waiting to be sent: {waiting} answers, typed "
            "before the time was up. Keep this page open: they count when they reach the "
            "server within {minutes} minutes."
        ),
        "deadlineSaved": _l(
            "Every answer typed before the time was up is saved on the server. The part is "
            "being handed in."
        ),
        "deadlineDelivered": _l("All your answers have reached the server."),
        "unanswered": _l("{count} of {total} questions are unanswered."),
        "allAnswered": _l("All questions are answered."),
        "flagged": _l("{count} flagged for review."),
        "stillWaiting": _l(
            "{count} answers have not reached the server yet. "
            "Wait for the connection before handing in."
        ),
        "handInFailed": _l("The part could not be handed in: {message}"),
        "words": _l("{count} words"),
        "wordsOver": _l("{count} words: more than the limit of {limit}"),
        "statusAnswered": _l("answered"),
        "statusUnanswered": _l("not answered"),
        "statusFlagged": _l("flagged"),
    }
    return {key: translate(request, text) for key, text in texts.items()}


async def start_next_part(request: Request) -> Response:
    """POST /exam/{id}/start: start the attempt (first time) and the next part."""
    registration, sitting = await _own_registration(request)
    step = await request.state.checkin.missing_step(db(request), registration)
    if step is not None:
        return _step_redirect(request, registration, step)
    session, candidate, now = db(request), current_user(request), _now(request)
    checkin = request.state.checkin
    try:
        attempt = await attempts.start_attempt(
            session, registration_id=registration.id, candidate=candidate, now=now, checkin=checkin
        )
        await bind_this_browser(request, attempt)
        await attempts.start_part(
            session, attempt_id=attempt.id, candidate=candidate, now=now, checkin=checkin
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_take(
            request,
            registration,
            sitting,
            await session.scalar(select(Attempt).where(Attempt.registration_id == registration.id)),
            error=translate(request, exc.message, exc.params),
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/exam/{registration.id}/take", status_code=303)


async def exam_file(request: Request) -> Response:
    """GET /exam/{id}/files/{version}/{name}: a file of an item in the candidate's current part."""
    registration, _sitting = await _own_registration(request)
    session = db(request)
    version_id = _path_int(request, "version_id")
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == registration.id)
    )
    current = None
    if attempt is not None:
        current = next(
            (p for p in await lookups.parts_of(session, attempt.id) if p.submitted_at is None),
            None,
        )
    form = await session.get(ExamForm, attempt.form_id) if attempt else None
    if (
        current is None
        or form is None
        or not any(
            r.item_version_id == version_id and r.part_index == current.part_index
            for r in form.items
        )
    ):
        raise NotFound(_l("No such file."))
    media_type, content = await read_file(session, version_id, request.path_params["name"])
    return Response(
        content, media_type=media_type, headers=item_file_headers(media_type, "private")
    )


def routes() -> list[BaseRoute]:
    """Candidate page routes."""
    return [
        page("/my", my_page, roles=CANDIDATES),
        page(
            "/my/registrations/{registration_id:id}/accommodation",
            request_accommodation,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        page("/exam/{registration_id:id}", exam_entry, roles=CANDIDATES),
        page("/exam/{registration_id:id}/check", system_check, roles=CANDIDATES),
        page(
            "/exam/{registration_id:id}/check",
            system_check_result,
            methods=["POST"],
            roles=CANDIDATES,
            name="system_check_result",
        ),
        page("/exam/{registration_id:id}/rules", rules_page, roles=CANDIDATES),
        page(
            "/exam/{registration_id:id}/rules",
            accept_rules,
            methods=["POST"],
            roles=CANDIDATES,
            name="accept_rules",
        ),
        page("/exam/{registration_id:id}/take", take, roles=CANDIDATES),
        page(
            "/exam/{registration_id:id}/start",
            start_next_part,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        page(
            "/exam/{registration_id:id}/files/{version_id:id}/{name:path}",
            exam_file,
            roles=CANDIDATES,
        ),
    ]
