"""The staff's grading pages: a scheme's grading rules and its graders' qualifications, and a
sitting's grading overview. Administrators only; graders are named here (the staff qualify
them), candidates and the markings of each are not."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from grading import graders, policy, staff_queries
from grading.access import GRADING_ADMINISTRATORS
from grading.schemas import FinalRule, MarksPerScript
from vakt.errors import NotFound, VaktError
from vakt.i18n import LazyText, _l
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.inputs import form_id
from web.rendering import render

RULE_FIELDS = ("marks_per_script", "double_share_percent", "tolerance_percent", "final_rule",
               "claim_minutes")  # fmt: skip
"""The rules form's fields, in the order shown (``grading.schemas.GradingRules``)."""
MARKS_CHOICES: dict[MarksPerScript, LazyText] = {
    MarksPerScript.ONE: _l("One grader for every script"),
    MarksPerScript.TWO: _l("Two independent graders for every script"),
    MarksPerScript.TWO_FOR_A_SHARE: _l("Two for a random share of the scripts, one for the rest"),
}
FINAL_CHOICES: dict[FinalRule, LazyText] = {
    FinalRule.MEAN: _l("The mean of the two marks"),
    FinalRule.LOWER: _l("The lower of the two marks"),
}
QUALIFY_FIELDS = ("grader_id", "tag", "is_lead")


async def _render_scheme(
    request: Request,
    scheme_id: int,
    *,
    rule_values: dict[str, str] | None = None,
    qualify_values: dict[str, str] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    error_form: str | None = None,
    status_code: int = 200,
) -> Response:
    shown = await staff_queries.scheme_grading(db(request), scheme_id)
    return render(
        request,
        "grading/staff_rules.html",
        {
            "page": shown,
            "labels": {name: translate(request, text) for name, text in policy.RULE_LABELS.items()},
            "marks_choices": [(k.value, translate(request, t)) for k, t in MARKS_CHOICES.items()],
            "final_choices": [(k.value, translate(request, t)) for k, t in FINAL_CHOICES.items()],
            "values": rule_values
            or {name: str(value) for name, value in shown.rules.model_dump(mode="json").items()},
            "qualify": qualify_values or {},
            "error": error,
            "error_field": error_field,
            "error_form": error_form,
            "saved": request.query_params.get("saved"),
        },
        status_code=status_code,
    )


async def scheme_page(request: Request) -> Response:
    """GET /staff/schemes/{id}/grading: the scheme's grading rules and qualified graders."""
    return await _render_scheme(request, path_id(request, "scheme_id"))


async def save_rules(request: Request) -> Response:
    """POST /staff/schemes/{id}/grading: change the scheme's grading rules (each value checked;
    on an error the form comes back with the values as typed)."""
    scheme_id = path_id(request, "scheme_id")
    form = await request.form()
    typed = {name: form_str(form, name).strip() for name in RULE_FIELDS}
    # A decimal comma is how Norwegians write 12,5.
    values: dict[str, Any] = {name: text.replace(",", ".") for name, text in typed.items()}
    try:
        await policy.set_rules(
            db(request), scheme_id=scheme_id, values=values, actor=current_user(request),
            now=now(request),
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_scheme(
            request, scheme_id, rule_values=typed,
            error=translate(request, exc.message, exc.params), error_field=exc.field,
            error_form="rules", status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(f"/staff/schemes/{scheme_id}/grading?saved=rules", status_code=303)


async def qualify(request: Request) -> Response:
    """POST /staff/schemes/{id}/graders: qualify a grader for the scheme (or its items with a
    tag), as a lead grader or not; qualifying again changes whether they lead."""
    scheme_id = path_id(request, "scheme_id")
    form = await request.form()
    typed = {name: form_str(form, name) for name in QUALIFY_FIELDS}
    try:
        await graders.qualify(
            db(request),
            grader_id=form_id(form, "grader_id", _l("Choose a grader.")),
            scheme_id=scheme_id,
            actor=current_user(request),
            now=now(request),
            tag=typed["tag"],
            is_lead=typed["is_lead"] == "on",
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_scheme(
            request, scheme_id, qualify_values=typed,
            error=translate(request, exc.message, exc.params), error_field=exc.field,
            error_form="qualify", status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(f"/staff/schemes/{scheme_id}/grading?saved=graders", status_code=303)


async def withdraw(request: Request) -> Response:
    """POST /staff/qualifications/{id}/withdraw: withdraw a grader's qualification."""
    withdrawn = await graders.withdraw_qualification(
        db(request), qualification_id=path_id(request, "qualification_id"),
        actor=current_user(request),
    )  # fmt: skip
    return RedirectResponse(
        f"/staff/schemes/{withdrawn.scheme_id}/grading?saved=withdrawn", status_code=303
    )


async def sitting_overview(request: Request) -> Response:
    """GET /staff/sittings/{id}/grading: the sitting's scripts by state and its graders' load
    and speed."""
    shown = await staff_queries.sitting_grading_page(db(request), path_id(request, "sitting_id"))
    return render(request, "grading/staff_sitting.html", {"page": shown})


def routes() -> list[BaseRoute]:
    """The staff's grading pages."""
    staff = GRADING_ADMINISTRATORS
    return [
        page("/staff/schemes/{scheme_id:id}/grading", scheme_page, roles=staff),
        page(
            "/staff/schemes/{scheme_id:id}/grading",
            save_rules,
            methods=["POST"],
            roles=staff,
        ),
        page("/staff/schemes/{scheme_id:id}/graders", qualify, methods=["POST"], roles=staff),
        page(
            "/staff/qualifications/{qualification_id:id}/withdraw",
            withdraw,
            methods=["POST"],
            roles=staff,
        ),
        page("/staff/sittings/{sitting_id:id}/grading", sitting_overview, roles=staff),
    ]
