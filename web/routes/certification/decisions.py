"""The decision maker's pages: the queue of complete attempts, a registration's case with every
requirement checked, and the decision (certify, or refuse with grounds) or the release of a
result that is not passed."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from certification import decisions, independence
from certification.access import DECIDERS
from certification.requirements import case_of
from vakt.errors import NotFound, VaktError
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.rendering import render
from web.routes.certification.common import query_id


async def queue(request: Request) -> Response:
    """GET /decisions: complete attempts waiting for a decision, the longest waiting first,
    filtered by scheme or sitting; the decision maker's declared conflicts of interest."""
    return await _render_queue(request)


async def _render_queue(
    request: Request,
    *,
    error: str | None = None,
    error_field: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    session = db(request)
    scheme_id, sitting_id = query_id(request, "scheme"), query_id(request, "sitting")
    schemes, sittings = await decisions.queue_filters(session)
    return render(
        request,
        "certification/queue.html",
        {
            "rows": await decisions.queue(session, scheme_id=scheme_id, sitting_id=sitting_id),
            "schemes": schemes,
            "sittings": sittings,
            "scheme_id": scheme_id,
            "sitting_id": sitting_id,
            "conflicts": await independence.conflicts_declared(session, current_user(request)),
            "error": error,
            "error_field": error_field,
            "values": values or {},
            "declared": request.query_params.get("declared"),
        },
        status_code=status_code,
    )


async def declare_conflict(request: Request) -> Response:
    """POST /decisions/conflicts: declare a conflict of interest with a candidate or an
    employer; an error comes back at its field with the values kept."""
    form = await request.form()
    values = {name: form_str(form, name) for name in ("candidate_username", "employer", "note")}
    try:
        await independence.declare_conflict(
            db(request), decider=current_user(request), now=now(request), **values
        )
    except VaktError as exc:
        return await _render_queue(
            request, error=translate(request, exc.message, exc.params),
            error_field=exc.field or "candidate_username", values=values,
            status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse("/decisions?declared=1#conflicts-heading", status_code=303)


async def _render_case(
    request: Request,
    registration_id: int,
    *,
    error: str | None = None,
    error_field: str | None = None,
    details: list[str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    session = db(request)
    case = await case_of(session, registration_id, request.state.reviews)
    decision = await decisions.standing_decision(session, registration_id)
    certificate = await decisions.certificate_of(session, decision.id) if decision else None
    shown: list[dict[str, Any]] = [
        {"key": r.key, "met": r.met, "text": translate(request, r.detail, r.params)}
        for r in case.requirements
    ]
    return render(
        request,
        "certification/case.html",
        {
            "case": case,
            "requirements": shown,
            "decision": decision,
            "certificate": certificate,
            "error": error,
            "error_field": error_field,
            "details": details or [],
            "values": values or {},
            "done": request.query_params.get("done"),
        },
        status_code=status_code,
    )


async def case_page(request: Request) -> Response:
    """GET /decisions/registrations/{id}: every requirement, the parts' points, the proctor
    review, and the forms to decide."""
    return await _render_case(request, path_id(request, "registration_id"))


async def decide(request: Request) -> Response:
    """POST /decisions/registrations/{id}: certify or refuse with grounds; an error comes back
    at its field with the values kept."""
    registration_id = path_id(request, "registration_id")
    form = await request.form()
    values = {"outcome": form_str(form, "outcome"), "grounds": form_str(form, "grounds")}
    try:
        outcome = decisions.parse_outcome(values["outcome"])
        await decisions.decide(
            db(request),
            registration_id=registration_id,
            outcome=outcome,
            grounds=values["grounds"],
            decider=current_user(request),
            now=now(request),
            reviews=request.state.reviews,
            participants=request.state.participants,
            timezone=request.state.settings.timezone,
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_case(
            request, registration_id, error=translate(request, exc.message, exc.params),
            error_field=exc.field or "outcome", values=values, status_code=exc.status_code,
            details=[translate(request, d) for d in exc.details],
        )  # fmt: skip
    return RedirectResponse(
        f"/decisions/registrations/{registration_id}?done={outcome.value}", status_code=303
    )


async def release(request: Request) -> Response:
    """POST /decisions/registrations/{id}/release: release a result that is not passed."""
    registration_id = path_id(request, "registration_id")
    try:
        await decisions.release_not_passed(
            db(request),
            registration_id=registration_id,
            decider=current_user(request),
            now=now(request),
            reviews=request.state.reviews,
            participants=request.state.participants,
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_case(
            request, registration_id, error=translate(request, exc.message, exc.params),
            error_field="release", status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(
        f"/decisions/registrations/{registration_id}?done=released", status_code=303
    )


def routes() -> list[BaseRoute]:
    """The decision maker's certification pages."""
    base = "/decisions/registrations/{registration_id:id}"
    return [
        page("/decisions", queue, roles=DECIDERS),
        page("/decisions/conflicts", declare_conflict, methods=["POST"], roles=DECIDERS),
        page(base, case_page, roles=DECIDERS),
        page(base, decide, methods=["POST"], roles=DECIDERS, name="decide"),
        page(f"{base}/release", release, methods=["POST"], roles=DECIDERS),
    ]
