"""Before the exam: the way in, the system check, and the code of conduct with the
self-declaration (the identity check is proctoring's page)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from exam import declarations, seb
from exam.checkin import CheckInStep, accept_declaration
from exam.models import Registration, Sitting
from exam.roles import CANDIDATES
from itembank import blueprints
from vakt import audit
from vakt.errors import VaktError
from vakt.i18n import _l
from web.endpoints import current_user, db, form_str, now, page
from web.i18n import request_language, translate
from web.inputs import json_body
from web.rendering import render
from web.routes.exam.common import checkin_steps, own_registration, step_redirect


def _declaration_paragraphs(request: Request) -> tuple[list[str], list[str]]:
    conduct = [translate(request, text) for text in declarations.CODE_OF_CONDUCT]
    declaration = [translate(request, text) for text in declarations.SELF_DECLARATION]
    return conduct, declaration


async def exam_entry(request: Request) -> Response:
    """GET /exam/{id}: send the candidate to the next step before (or into) the exam."""
    registration, _sitting = await own_registration(request)
    step = await request.state.checkin.missing_step(db(request), registration)
    if step is CheckInStep.DECLARATION:
        return RedirectResponse(f"/exam/{registration.id}/check", status_code=303)
    return step_redirect(request, registration, step)


async def system_check(request: Request) -> Response:
    """GET /exam/{id}/check: browser, camera, microphone and connection, checked in the page."""
    registration, sitting = await own_registration(request)
    return render(
        request,
        "candidate/check.html",
        {
            "registration": registration,
            "sitting": sitting,
            "requires_seb": bool(await seb.requiring_seb(db(request), [registration.id])),
            "steps": await checkin_steps(request, registration, "check"),
        },
    )


async def system_check_result(request: Request) -> Response:
    """POST /exam/{id}/check: the page reports what it found (kept in the audit log)."""
    registration, _sitting = await own_registration(request)
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
    registration, sitting = await own_registration(request)
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
    definition = blueprints.definition_of(
        await blueprints.get_blueprint(db(request), sitting.blueprint_id)
    )
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
            "steps": await checkin_steps(request, registration, "rules"),
        },
        status_code=status_code,
    )


async def accept_rules(request: Request) -> Response:
    """POST /exam/{id}/rules: store the acceptance with time, text version and digest."""
    registration, sitting = await own_registration(request)
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
        now=now(request),
    )
    return RedirectResponse(f"/exam/{registration.id}", status_code=303)


def routes() -> list[BaseRoute]:
    """Check-in routes."""
    return [
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
    ]
