"""The body's staff's certification pages: a scheme's certification rules, its certificates
(with status and search), one certificate's suspension, withdrawal and reinstatement with
written grounds, the holders' change reports and recertification applications.
Administrators only."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from certification import holders, policy, recertification, standing
from certification.access import CERTIFICATION_STAFF
from certification.certificates import local_date
from itembank.schemes import get_scheme
from vakt.errors import NotFound, VaktError
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.rendering import render

NUMBER_FIELDS = (
    "validity_months",
    "completion_months",
    "appeal_days",
    "recertification_months_before",
    "recertification_months_after",
)
CHECK_FIELDS = ("fee_required", "register_public")
ACTIONS = {
    "suspend": standing.suspend,
    "withdraw": standing.withdraw,
    "reinstate": standing.reinstate,
}


async def _render_rules(
    request: Request,
    scheme_id: int,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    status_code: int = 200,
) -> Response:
    session = db(request)
    scheme = await get_scheme(session, scheme_id)
    rules = await policy.rules_for_scheme(session, scheme_id)
    return render(
        request,
        "certification/staff_rules.html",
        {
            "scheme": scheme,
            "labels": {name: translate(request, text) for name, text in policy.RULE_LABELS.items()},
            "number_fields": NUMBER_FIELDS,
            "check_fields": CHECK_FIELDS,
            "values": values or rules.model_dump(mode="json"),
            "error": error,
            "error_field": error_field,
            "saved": request.query_params.get("saved"),
        },
        status_code=status_code,
    )


async def rules_page(request: Request) -> Response:
    """GET /staff/schemes/{id}/certification: the scheme's certification rules."""
    return await _render_rules(request, path_id(request, "scheme_id"))


async def save_rules(request: Request) -> Response:
    """POST /staff/schemes/{id}/certification: change the rules (errors at the field, the
    values kept as typed)."""
    scheme_id = path_id(request, "scheme_id")
    form = await request.form()
    values: dict[str, Any] = {name: form_str(form, name).strip() for name in NUMBER_FIELDS}
    values |= {name: form_str(form, name) == "on" for name in CHECK_FIELDS}
    try:
        await policy.set_rules(
            db(request),
            scheme_id=scheme_id,
            rules=policy.validate_rules(values),
            actor=current_user(request),
            now=now(request),
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_rules(
            request,
            scheme_id,
            values=values,
            error=translate(request, exc.message, exc.params),
            error_field=exc.field,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/staff/schemes/{scheme_id}/certification?saved=1", status_code=303)


async def certificates_page(request: Request) -> Response:
    """GET /staff/schemes/{id}/certificates: the scheme's certificates, searched (``?q=``)."""
    shown = await standing.scheme_certificates(
        db(request),
        scheme_id=path_id(request, "scheme_id"),
        query=request.query_params.get("q", ""),
        today=local_date(now(request), request.state.settings.timezone),
        actor=current_user(request),
    )
    return render(request, "certification/staff_certificates.html", {"page": shown})


async def _render_certificate(
    request: Request,
    certificate_id: int,
    *,
    error: str | None = None,
    action: str | None = None,
    grounds: str = "",
    status_code: int = 200,
) -> Response:
    shown = await standing.staff_certificate(
        db(request),
        certificate_id,
        local_date(now(request), request.state.settings.timezone),
        current_user(request),
    )
    return render(
        request,
        "certification/staff_certificate.html",
        {
            "row": shown,
            "error": error,
            "error_action": action,
            "grounds": grounds,
            "saved": request.query_params.get("saved"),
        },
        status_code=status_code,
    )


async def certificate_page(request: Request) -> Response:
    """GET /staff/certificates/{id}: the certificate, its status and grounds, and the forms to
    suspend, withdraw or reinstate it."""
    return await _render_certificate(request, path_id(request, "certificate_id"))


async def change_status(request: Request) -> Response:
    """POST /staff/certificates/{id}/{suspend|withdraw|reinstate}: with written grounds
    (audited; verification shows it at once)."""
    certificate_id, action = path_id(request, "certificate_id"), request.path_params["action"]
    change = ACTIONS.get(action)
    if change is None:
        raise NotFound(standing.NO_SUCH_ACTION)
    form = await request.form()
    grounds = form_str(form, "grounds")
    try:
        await change(
            db(request),
            certificate_id=certificate_id,
            grounds=grounds,
            actor=current_user(request),
            now=now(request),
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_certificate(
            request,
            certificate_id,
            error=translate(request, exc.message, exc.params),
            action=action,
            grounds=grounds,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/staff/certificates/{certificate_id}?saved={action}", status_code=303)


async def changes_page(request: Request) -> Response:
    """GET /staff/certification/changes: the holders' change reports, unhandled first."""
    rows = await holders.change_reports(db(request), actor=current_user(request))
    return render(
        request,
        "certification/staff_changes.html",
        {"rows": rows, "saved": request.query_params.get("saved")},
    )


async def mark_handled(request: Request) -> Response:
    """POST /staff/certification/changes/{id}/handled: mark a change report handled."""
    await holders.mark_handled(
        db(request),
        report_id=path_id(request, "report_id"),
        actor=current_user(request),
        now=now(request),
    )
    return RedirectResponse("/staff/certification/changes?saved=1", status_code=303)


async def recertifications_page(request: Request) -> Response:
    """GET /staff/certification/recertifications: holders' applications, pending first."""
    rows = await recertification.applications(db(request), actor=current_user(request))
    return render(
        request, "certification/staff_recertifications.html",
        {"rows": rows, "saved": request.query_params.get("saved"), "error": None,
         "error_for": None, "note": ""},
    )  # fmt: skip


async def answer_recertification(request: Request) -> Response:
    """POST /staff/certification/recertifications/{id}/{renew|exam}: renew the certificate or
    require a recertification exam, with a note the holder sees."""
    application_id, answer = path_id(request, "application_id"), request.path_params["answer"]
    note = form_str(await request.form(), "note")
    session, actor, moment = db(request), current_user(request), now(request)
    try:
        if answer == "renew":
            await recertification.renew(
                session, application_id=application_id, note=note, actor=actor, now=moment,
                timezone=request.state.settings.timezone,
            )  # fmt: skip
        elif answer == "exam":
            await recertification.require_exam(
                session, application_id=application_id, note=note, actor=actor, now=moment
            )
        else:
            raise NotFound(recertification.NO_SUCH_ANSWER)
    except NotFound:
        raise
    except VaktError as exc:
        rows = await recertification.applications(session, actor=actor)
        return render(
            request, "certification/staff_recertifications.html",
            {"rows": rows, "saved": None, "error": translate(request, exc.message, exc.params),
             "error_for": f"{application_id}-{answer}", "note": note},
            status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(
        f"/staff/certification/recertifications?saved={answer}", status_code=303
    )


def routes() -> list[BaseRoute]:
    """The staff's certification pages."""
    staff = CERTIFICATION_STAFF
    return [
        page("/staff/schemes/{scheme_id:id}/certification", rules_page, roles=staff),
        page(
            "/staff/schemes/{scheme_id:id}/certification", save_rules, methods=["POST"], roles=staff
        ),
        page("/staff/schemes/{scheme_id:id}/certificates", certificates_page, roles=staff),
        page("/staff/certificates/{certificate_id:id}", certificate_page, roles=staff),
        page(
            "/staff/certificates/{certificate_id:id}/{action}",
            change_status,
            methods=["POST"],
            roles=staff,
        ),
        page("/staff/certification/changes", changes_page, roles=staff),
        page("/staff/certification/recertifications", recertifications_page, roles=staff),
        page(
            "/staff/certification/recertifications/{application_id:id}/{answer}",
            answer_recertification,
            methods=["POST"],
            roles=staff,
        ),
        page(
            "/staff/certification/changes/{report_id:id}/handled",
            mark_handled,
            methods=["POST"],
            roles=staff,
        ),
    ]
