"""The administrators' page of a scheme's rules for oral answers (``exam.oral.OralRules``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from exam import oral
from exam.roles import EXAM_ADMINISTRATORS
from itembank.models import Scheme
from vakt.errors import VaktError
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.rendering import render


def _render(
    request: Request,
    scheme: Scheme,
    retakes: str,
    *,
    error: str | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "staff/oral.html",
        {
            "scheme": scheme,
            "retakes": retakes,
            "label": translate(request, oral.LABELS["retakes"]),
            "max_retakes": oral.MAX_RETAKES,
            "error": error,
            "saved": saved,
        },
        status_code=status_code,
    )


async def settings_page(request: Request) -> Response:
    """GET /staff/schemes/{id}/oral: the scheme's rules for oral answers."""
    scheme, rules = await oral.scheme_rules(db(request), path_id(request, "scheme_id"))
    return _render(
        request, scheme, str(rules.retakes), saved=request.query_params.get("saved") == "1"
    )


async def settings_save(request: Request) -> Response:
    """POST /staff/schemes/{id}/oral: change the rules (validated)."""
    scheme_id = path_id(request, "scheme_id")
    retakes = form_str(await request.form(), "retakes").strip()
    try:
        await oral.save_rules(
            db(request),
            scheme_id=scheme_id,
            values={"retakes": retakes},
            actor=current_user(request),
            now=now(request),
        )
    except VaktError as error:
        if error.status_code in (403, 404):
            raise
        scheme, _rules = await oral.scheme_rules(db(request), scheme_id)
        return _render(
            request,
            scheme,
            retakes,
            error=translate(request, error.message, error.params),
            status_code=error.status_code,
        )
    return RedirectResponse(f"/staff/schemes/{scheme_id}/oral?saved=1", status_code=303)


def routes() -> list[BaseRoute]:
    """The oral rules' routes."""
    return [
        page("/staff/schemes/{scheme_id:id}/oral", settings_page, roles=EXAM_ADMINISTRATORS),
        page(
            "/staff/schemes/{scheme_id:id}/oral",
            settings_save,
            methods=["POST"],
            roles=EXAM_ADMINISTRATORS,
            name="oral_settings_save",
        ),
    ]
