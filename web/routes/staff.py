"""The certification body's staff pages: sittings, registrations, applications, accommodations,
changing computer during an exam, part results and receipt checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from exam import accommodations, devices, handin, lookups, registrations, results
from exam.models import (
    Accommodation,
    Application,
    Attempt,
    AttemptPart,
    Registration,
    Sitting,
)
from itembank import blueprints
from itembank.models import Blueprint, Scheme
from vakt.accounts import Role, User, UserRole
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web.endpoints import current_user, db, form_str, page
from web.i18n import translate
from web.rendering import render

STAFF = (Role.ADMINISTRATOR,)
EXAM_STAFF = (Role.ADMINISTRATOR, Role.PROCTOR)


def _now(request: Request) -> datetime:
    now: datetime = request.state.clock.now()
    return now


def _local_input(request: Request, form: Any, name: str) -> datetime:
    """A ``datetime-local`` field, read in the installation's time zone, as UTC."""
    raw = form_str(form, name).strip()
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        raise VaktError(
            _l("Give a date and time, for example 2026-12-10 09:00."), field=name
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(request.state.settings.timezone))
    return local.astimezone(UTC)


async def _flash_or_error(
    request: Request,
    action: Callable[[], Awaitable[str]],
    on_error: Callable[[str, int], Awaitable[Response]],
) -> Response:
    """Run a staff action; redirect to where it says on success, else re-render with the error."""
    try:
        target = await action()
    except NotFound:
        raise
    except VaktError as exc:
        return await on_error(translate(request, exc.message, exc.params), exc.status_code)
    return RedirectResponse(target, status_code=303)


# ---- sittings -----------------------------------------------------------------------------------


async def _render_sittings(
    request: Request, *, error: str | None = None, values: Any = None, status_code: int = 200
) -> Response:
    session = db(request)
    counts = (
        select(Registration.sitting_id, func.count(Registration.id).label("registered"))
        .group_by(Registration.sitting_id)
        .subquery()
    )
    sittings = (
        await session.execute(
            select(Sitting, Scheme, func.coalesce(counts.c.registered, 0))
            .join(Scheme, Scheme.id == Sitting.scheme_id)
            .outerjoin(counts, counts.c.sitting_id == Sitting.id)
            .order_by(Sitting.opens_at.desc())
        )
    ).all()
    blueprint_rows = (
        await session.execute(
            select(Blueprint, Scheme)
            .join(Scheme, Scheme.id == Blueprint.scheme_id)
            .order_by(Scheme.code, Blueprint.code)
        )
    ).all()
    return render(
        request,
        "staff/sittings.html",
        {
            "sittings": sittings,
            "blueprints": blueprint_rows,
            "schemes": list(await session.scalars(select(Scheme).order_by(Scheme.code))),
            "error": error,
            "values": values or {},
            "timezone": request.state.settings.timezone,
        },
        status_code=status_code,
    )


async def sittings(request: Request) -> Response:
    """GET /staff/sittings: every sitting, and a form to schedule one."""
    return await _render_sittings(request)


async def create_sitting(request: Request) -> Response:
    """POST /staff/sittings: schedule a sitting of a blueprint."""
    form = await request.form()
    values = {k: form_str(form, k) for k in ("blueprint_id", "name", "opens_at", "closes_at")}

    async def action() -> str:
        if not values["blueprint_id"].isdigit():
            raise VaktError(_l("Choose the exam (blueprint)."), field="blueprint_id")
        sitting = await registrations.create_sitting(
            db(request),
            blueprint_id=int(values["blueprint_id"]),
            name=values["name"],
            opens_at=_local_input(request, form, "opens_at"),
            closes_at=_local_input(request, form, "closes_at"),
            actor=current_user(request),
        )
        return f"/staff/sittings/{sitting.id}"

    async def on_error(message: str, status: int) -> Response:
        return await _render_sittings(request, error=message, values=values, status_code=status)

    return await _flash_or_error(request, action, on_error)


async def _render_sitting(
    request: Request, sitting_id: int, *, error: str | None = None, status_code: int = 200
) -> Response:
    session = db(request)
    sitting = await lookups.get_sitting(session, sitting_id)
    scheme = await session.get(Scheme, sitting.scheme_id)
    blueprint = await blueprints.get_blueprint(session, sitting.blueprint_id)
    definition = blueprints.BlueprintDefinition.model_validate(blueprint.definition)
    titles = {part.key: part.title for part in definition.parts}
    rows = (
        await session.execute(
            select(Registration, User)
            .join(User, User.id == Registration.candidate_id)
            .where(Registration.sitting_id == sitting.id)
            .order_by(User.full_name)
        )
    ).all()
    registrations = []
    for registration, candidate in rows:
        attempt = await session.scalar(
            select(Attempt).where(Attempt.registration_id == registration.id)
        )
        accommodations = (
            await session.scalars(
                select(Accommodation)
                .where(Accommodation.registration_id == registration.id)
                .order_by(Accommodation.id)
            )
        ).all()
        registrations.append(
            {
                "registration": registration,
                "candidate": candidate,
                "attempt": attempt,
                "parts": await lookups.parts_of(session, attempt.id) if attempt else [],
                "accommodations": accommodations,
            }
        )
    eligible = (
        await session.execute(
            select(User)
            .join(Application, Application.candidate_id == User.id)
            .where(
                Application.scheme_id == sitting.scheme_id,
                Application.status == "approved",
                User.id.not_in(select(Registration.candidate_id).where(
                    Registration.sitting_id == sitting.id
                )),
            )
            .order_by(User.full_name)
        )
    ).scalars().all()  # fmt: skip
    return render(
        request,
        "staff/sitting.html",
        {
            "sitting": sitting,
            "scheme": scheme,
            "titles": titles,
            "registrations": registrations,
            "eligible": eligible,
            "error": error,
            "now": _now(request),
        },
        status_code=status_code,
    )


def _back_to_sitting(
    request: Request, sitting_id: int
) -> Callable[[str, int], Awaitable[Response]]:
    """The error handler of an action on a sitting's page: that page again, with the message."""

    async def on_error(message: str, status: int) -> Response:
        return await _render_sitting(request, sitting_id, error=message, status_code=status)

    return on_error


async def sitting_detail(request: Request) -> Response:
    """GET /staff/sittings/{id}: registrations, accommodations, attempts and receipts."""
    return await _render_sitting(request, int(request.path_params["sitting_id"]))


async def register_candidate(request: Request) -> Response:
    """POST /staff/sittings/{id}/registrations: register a candidate (a retake where it is one)."""
    sitting_id = int(request.path_params["sitting_id"])
    form = await request.form()

    async def action() -> str:
        username = form_str(form, "username").strip()
        candidate = await db(request).scalar(select(User).where(User.username == username))
        if candidate is None:
            raise VaktError(_l("There is no user {username}."), field="username", username=username)
        await registrations.register(
            db(request), sitting_id=sitting_id, candidate=candidate, actor=current_user(request)
        )
        return f"/staff/sittings/{sitting_id}"

    return await _flash_or_error(request, action, _back_to_sitting(request, sitting_id))


async def decide_accommodation(request: Request) -> Response:
    """POST /staff/accommodations/{id}: approve or reject a request."""
    session = db(request)
    accommodation = await session.get(Accommodation, int(request.path_params["accommodation_id"]))
    if accommodation is None:
        raise NotFound(_l("No such request."))
    registration = await session.get(Registration, accommodation.registration_id)
    assert registration is not None
    form = await request.form()

    async def action() -> str:
        decision = form_str(form, "decision")
        if decision not in ("approve", "reject"):
            raise VaktError(_l("Choose approve or reject."), field="decision")
        await accommodations.decide_accommodation(
            session,
            accommodation_id=accommodation.id,
            approve=decision == "approve",
            actor=current_user(request),
            now=_now(request),
            note=form_str(form, "note").strip(),
        )
        return f"/staff/sittings/{registration.sitting_id}"

    return await _flash_or_error(
        request, action, _back_to_sitting(request, registration.sitting_id)
    )


async def allow_resume(request: Request) -> Response:
    """POST /staff/attempts/{id}/resume: let the candidate continue on another computer."""
    session = db(request)
    attempt, registration = await _attempt_and_registration(
        request, int(request.path_params["attempt_id"])
    )
    form = await request.form()

    async def action() -> str:
        await devices.allow_resume(
            session,
            attempt_id=attempt.id,
            actor=current_user(request),
            reason=form_str(form, "reason"),
            now=_now(request),
        )
        return f"/staff/sittings/{registration.sitting_id}"

    return await _flash_or_error(
        request, action, _back_to_sitting(request, registration.sitting_id)
    )


async def _attempt_and_registration(
    request: Request, attempt_id: int
) -> tuple[Attempt, Registration]:
    """An attempt and its registration, or a 404."""
    attempt = await db(request).get(Attempt, attempt_id)
    registration = await db(request).get(Registration, attempt.registration_id) if attempt else None
    if attempt is None or registration is None:
        raise NotFound(_l("No such attempt."))
    return attempt, registration


async def record_result(request: Request) -> Response:
    """POST /staff/parts/{id}/result: record a handed-in part's result (until grading does)."""
    session = db(request)
    part = await session.get(AttemptPart, int(request.path_params["part_id"]))
    if part is None:
        raise NotFound(_l("No such part."))
    _attempt, registration = await _attempt_and_registration(request, part.attempt_id)
    form = await request.form()

    async def action() -> str:
        outcome = form_str(form, "passed")
        if outcome not in ("yes", "no"):
            raise VaktError(_l("Choose passed or not passed."), field="passed")
        await results.record_part_result(
            session,
            attempt_part_id=part.id,
            passed=outcome == "yes",
            actor=current_user(request),
            now=_now(request),
        )
        return f"/staff/sittings/{registration.sitting_id}"

    return await _flash_or_error(
        request, action, _back_to_sitting(request, registration.sitting_id)
    )


async def release_results(request: Request) -> Response:
    """POST /staff/attempts/{id}/release: show the candidate the results."""
    session = db(request)
    attempt, registration = await _attempt_and_registration(
        request, int(request.path_params["attempt_id"])
    )

    async def action() -> str:
        await results.release_results(
            session, attempt_id=attempt.id, actor=current_user(request), now=_now(request)
        )
        return f"/staff/sittings/{registration.sitting_id}"

    return await _flash_or_error(
        request, action, _back_to_sitting(request, registration.sitting_id)
    )


async def verify_receipt(request: Request) -> Response:
    """GET /staff/parts/{id}/receipt: recompute a part's receipt from the stored answers."""
    session = db(request)
    part_id = int(request.path_params["part_id"])
    intact = await handin.verify_receipt(session, part_id)
    part = await session.get(AttemptPart, part_id)
    return render(request, "staff/receipt.html", {"part": part, "intact": intact})


# ---- applications -------------------------------------------------------------------------------


async def _render_applications(
    request: Request, *, error: str | None = None, status_code: int = 200
) -> Response:
    session = db(request)
    candidates = (
        await session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.CANDIDATE.value)
            .order_by(User.full_name)
        )
    ).all()
    schemes = (await session.scalars(select(Scheme).order_by(Scheme.code))).all()
    applications = {
        (a.candidate_id, a.scheme_id): a for a in (await session.scalars(select(Application)))
    }
    return render(
        request,
        "staff/applications.html",
        {
            "candidates": candidates,
            "schemes": schemes,
            "applications": applications,
            "error": error,
        },
        status_code=status_code,
    )


async def applications(request: Request) -> Response:
    """GET /staff/applications: candidates and the review of their applications per scheme."""
    return await _render_applications(request)


async def decide_application(request: Request) -> Response:
    """POST /staff/applications: approve or reject a candidate's application for a scheme."""
    form = await request.form()

    async def action() -> str:
        candidate_id, scheme_id = form_str(form, "candidate_id"), form_str(form, "scheme_id")
        decision = form_str(form, "decision")
        if not candidate_id.isdigit() or not scheme_id.isdigit():
            raise VaktError(_l("Choose a candidate and a scheme."))
        if decision not in ("approve", "reject"):
            raise VaktError(_l("Choose approve or reject."), field="decision")
        candidate = await db(request).get(User, int(candidate_id))
        if candidate is None or not candidate.has_any(Role.CANDIDATE):
            raise VaktError(_l("Choose a candidate and a scheme."))
        if await db(request).get(Scheme, int(scheme_id)) is None:
            raise VaktError(_l("Choose a candidate and a scheme."))
        await registrations.decide_application(
            db(request),
            candidate_id=candidate.id,
            scheme_id=int(scheme_id),
            approve=decision == "approve",
            actor=current_user(request),
            now=_now(request),
            note=form_str(form, "note").strip(),
        )
        return "/staff/applications"

    async def on_error(message: str, status: int) -> Response:
        return await _render_applications(request, error=message, status_code=status)

    return await _flash_or_error(request, action, on_error)


def routes() -> list[BaseRoute]:
    """Staff routes."""
    return [
        page("/staff/sittings", sittings, roles=STAFF),
        page(
            "/staff/sittings",
            create_sitting,
            methods=["POST"],
            roles=STAFF,
            name="create_sitting",
        ),
        page("/staff/sittings/{sitting_id:id}", sitting_detail, roles=STAFF),
        page(
            "/staff/sittings/{sitting_id:id}/registrations",
            register_candidate,
            methods=["POST"],
            roles=STAFF,
        ),
        page(
            "/staff/accommodations/{accommodation_id:id}",
            decide_accommodation,
            methods=["POST"],
            roles=STAFF,
        ),
        page(
            "/staff/attempts/{attempt_id:id}/resume",
            allow_resume,
            methods=["POST"],
            roles=EXAM_STAFF,
        ),
        page(
            "/staff/attempts/{attempt_id:id}/release",
            release_results,
            methods=["POST"],
            roles=STAFF,
        ),
        page("/staff/parts/{part_id:id}/result", record_result, methods=["POST"], roles=STAFF),
        page("/staff/parts/{part_id:id}/receipt", verify_receipt, roles=STAFF),
        page("/staff/applications", applications, roles=STAFF),
        page(
            "/staff/applications",
            decide_application,
            methods=["POST"],
            roles=STAFF,
            name="decide_application_submit",
        ),
    ]
