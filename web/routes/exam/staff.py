"""The certification body's staff pages for exam delivery: sittings, registrations,
applications, accommodations, changing computer during an exam, part results and receipt
checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from exam import accommodations, devices, handin, registrations
from exam import staff_queries as queries
from exam.roles import COMPUTER_CHANGERS, EXAM_ADMINISTRATORS
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.inputs import form_id
from web.rendering import render


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
    return render(
        request,
        "staff/sittings.html",
        {
            "sittings": await queries.sittings_overview(session),
            "blueprints": await queries.blueprints_with_schemes(session),
            "schemes": await queries.schemes(session),
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
        sitting = await registrations.create_sitting(
            db(request),
            blueprint_id=form_id(form, "blueprint_id", _l("Choose the exam (blueprint).")),
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
    shown = await queries.sitting_page(db(request), sitting_id, request.state.reviews)
    return render(
        request,
        "staff/sitting.html",
        {
            "sitting": shown.sitting,
            "scheme": shown.scheme,
            "titles": shown.titles,
            "registrations": shown.registrations,
            "eligible": shown.eligible,
            "overriders": shown.overriders,
            "error": error,
            "now": now(request),
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
    return await _render_sitting(request, path_id(request, "sitting_id"))


async def register_candidate(request: Request) -> Response:
    """POST /staff/sittings/{id}/registrations: register a candidate (a retake where it is one)."""
    sitting_id = path_id(request, "sitting_id")
    form = await request.form()

    async def action() -> str:
        await registrations.register_by_username(
            db(request),
            sitting_id=sitting_id,
            username=form_str(form, "username"),
            actor=current_user(request),
        )
        return f"/staff/sittings/{sitting_id}"

    return await _flash_or_error(request, action, _back_to_sitting(request, sitting_id))


async def decide_accommodation(request: Request) -> Response:
    """POST /staff/accommodations/{id}: approve or reject a request."""
    session = db(request)
    accommodation, registration = await queries.accommodation_with_registration(
        session, path_id(request, "accommodation_id")
    )
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
            now=now(request),
            note=form_str(form, "note").strip(),
        )
        return f"/staff/sittings/{registration.sitting_id}"

    return await _flash_or_error(
        request, action, _back_to_sitting(request, registration.sitting_id)
    )


async def allow_resume(request: Request) -> Response:
    """POST /staff/attempts/{id}/resume: let the candidate continue on another computer."""
    session = db(request)
    attempt, registration = await queries.attempt_with_registration(
        session, path_id(request, "attempt_id")
    )
    form = await request.form()

    async def action() -> str:
        await devices.allow_resume(
            session,
            attempt_id=attempt.id,
            actor=current_user(request),
            reason=form_str(form, "reason"),
            now=now(request),
        )
        return f"/staff/sittings/{registration.sitting_id}"

    return await _flash_or_error(
        request, action, _back_to_sitting(request, registration.sitting_id)
    )


async def verify_receipt(request: Request) -> Response:
    """GET /staff/parts/{id}/receipt: recompute a part's receipt from the stored answers."""
    session = db(request)
    part_id = path_id(request, "part_id")
    intact = await handin.verify_receipt(session, part_id)
    part, _registration = await queries.part_with_registration(session, part_id)
    return render(request, "staff/receipt.html", {"part": part, "intact": intact})


# ---- applications -------------------------------------------------------------------------------


async def _render_applications(
    request: Request, *, error: str | None = None, status_code: int = 200
) -> Response:
    shown = await queries.applications_page(db(request))
    return render(
        request,
        "staff/applications.html",
        {
            "candidates": shown.candidates,
            "schemes": shown.schemes,
            "applications": shown.applications,
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
        choose = _l("Choose a candidate and a scheme.")
        candidate_id = form_id(form, "candidate_id", choose)
        scheme_id = form_id(form, "scheme_id", choose)
        decision = form_str(form, "decision")
        if decision not in ("approve", "reject"):
            raise VaktError(_l("Choose approve or reject."), field="decision")
        await registrations.decide_application(
            db(request),
            candidate_id=candidate_id,
            scheme_id=scheme_id,
            approve=decision == "approve",
            actor=current_user(request),
            now=now(request),
            note=form_str(form, "note").strip(),
        )
        return "/staff/applications"

    async def on_error(message: str, status: int) -> Response:
        return await _render_applications(request, error=message, status_code=status)

    return await _flash_or_error(request, action, on_error)


def routes() -> list[BaseRoute]:
    """Staff routes."""
    staff = EXAM_ADMINISTRATORS
    return [
        page("/staff/sittings", sittings, roles=staff),
        page(
            "/staff/sittings",
            create_sitting,
            methods=["POST"],
            roles=staff,
            name="create_sitting",
        ),
        page("/staff/sittings/{sitting_id:id}", sitting_detail, roles=staff),
        page(
            "/staff/sittings/{sitting_id:id}/registrations",
            register_candidate,
            methods=["POST"],
            roles=staff,
        ),
        page(
            "/staff/accommodations/{accommodation_id:id}",
            decide_accommodation,
            methods=["POST"],
            roles=staff,
        ),
        page(
            "/staff/attempts/{attempt_id:id}/resume",
            allow_resume,
            methods=["POST"],
            roles=COMPUTER_CHANGERS,
        ),
        page("/staff/parts/{part_id:id}/receipt", verify_receipt, roles=staff),
        page("/staff/applications", applications, roles=staff),
        page(
            "/staff/applications",
            decide_application,
            methods=["POST"],
            roles=staff,
            name="decide_application_submit",
        ),
    ]
