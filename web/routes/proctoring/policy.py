"""Proctoring routes for administrators: a scheme's proctoring settings."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from itembank.models import Scheme
from proctoring import service
from proctoring.access import POLICY_EDITORS
from proctoring.models import FlagType, Severity
from vakt.errors import VaktError
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.proctor_words import FLAG_LABELS, SEVERITY_LABELS
from web.rendering import render

POLICY_FIELDS: list[tuple[str, Any]] = list(service.NUMBER_LABELS.items())
"""The form's fields (the policy's names) with their labels, in the order shown."""


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
            "flag_types": [
                (flag_type.value, translate(request, FLAG_LABELS[flag_type]))
                for flag_type in FlagType
            ],
            "severities": [
                (severity.value, translate(request, SEVERITY_LABELS[severity]))
                for severity in Severity
            ],
            "error": error,
            "error_field": error_field,
            "saved": saved,
        },
        status_code=status_code,
    )


async def policy_page(request: Request) -> Response:
    """GET /staff/schemes/{id}/proctoring: the scheme's proctoring settings."""
    found = await service.scheme_policy(db(request), path_id(request, "scheme_id"))
    values = found.policy.model_dump(mode="json")
    # Every kind of flag, those the stored settings predate at their default severity.
    values["severity"] = {kind.value: found.policy.severity_of(kind).value for kind in FlagType}
    return await _render_policy(
        request, found.scheme, values, saved=request.query_params.get("saved") == "1"
    )


async def policy_save(request: Request) -> Response:
    """POST /staff/schemes/{id}/proctoring: change the settings (every value validated)."""
    found = await service.scheme_policy(db(request), path_id(request, "scheme_id"))
    scheme = found.scheme
    form = await request.form()
    values: dict[str, Any] = {name: form_str(form, name).strip() for name, _label in POLICY_FIELDS}
    values["enabled"] = form_str(form, "enabled") == "on"
    values["cheating_four_eyes"] = form_str(form, "cheating_four_eyes") == "on"
    values["severity"] = {
        flag_type.value: form_str(form, f"severity-{flag_type.value}") for flag_type in FlagType
    }
    try:
        await service.set_policy(
            db(request),
            scheme_id=scheme.id,
            values={**found.policy.model_dump(mode="json"), **values},
            actor=current_user(request),
            now=now(request),
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


def routes() -> list[BaseRoute]:
    """The administrators' proctoring settings."""
    return [
        page("/staff/schemes/{scheme_id:id}/proctoring", policy_page, roles=POLICY_EDITORS),
        page(
            "/staff/schemes/{scheme_id:id}/proctoring",
            policy_save,
            methods=["POST"],
            roles=POLICY_EDITORS,
            name="policy_save",
        ),
    ]
