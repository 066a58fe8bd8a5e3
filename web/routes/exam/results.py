"""The decision maker's pages: the sittings with part results, an attempt's results part by part,
and overriding a part's result with written grounds. The candidate is named (the decision is
about a person); graders never are."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from exam import result_queries, results
from exam.roles import RESULT_OVERRIDERS
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.rendering import render

RESULT_CHOICES = {"passed": True, "not_passed": False}
"""The override form's choices."""


async def overview(request: Request) -> Response:
    """GET /results: the sittings whose attempts have part results, attempt by attempt."""
    return render(
        request,
        "results/index.html",
        {"sittings": await result_queries.results_overview(db(request), request.state.reviews)},
    )


async def _render_attempt(
    request: Request,
    attempt_id: int,
    *,
    error_part: int | None = None,
    error: str | None = None,
    error_field: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    shown = await result_queries.attempt_results(db(request), attempt_id, request.state.reviews)
    return render(
        request,
        "results/attempt.html",
        {
            "page": shown,
            "error_part": error_part,
            "error": error,
            "error_field": error_field,
            "values": values or {},
            "saved": request.query_params.get("saved"),
        },
        status_code=status_code,
    )


async def attempt_page(request: Request) -> Response:
    """GET /results/attempts/{id}: each part's points of its maximum, pass mark and result,
    with a form to override it."""
    return await _render_attempt(request, path_id(request, "attempt_id"))


async def override(request: Request) -> Response:
    """POST /results/parts/{id}/override: set a part's result against its points, with
    grounds; on an error the attempt's page comes back with the message at the part."""
    part_id = path_id(request, "part_id")
    attempt_id = await result_queries.attempt_of_part(db(request), part_id)
    form = await request.form()
    values = {"result": form_str(form, "result"), "grounds": form_str(form, "grounds")}
    try:
        if values["result"] not in RESULT_CHOICES:
            raise VaktError(_l("Choose passed or not passed."), field="result")
        await results.override_part_result(
            db(request),
            attempt_part_id=part_id,
            passed=RESULT_CHOICES[values["result"]],
            grounds=values["grounds"],
            actor=current_user(request),
            now=now(request),
            reviews=request.state.reviews,
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_attempt(
            request, attempt_id, error_part=part_id,
            error=translate(request, exc.message, exc.params), error_field=exc.field,
            values=values, status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(
        f"/results/attempts/{attempt_id}?saved={part_id}#part-{part_id}", status_code=303
    )


def routes() -> list[BaseRoute]:
    """The decision maker's results pages."""
    deciders = RESULT_OVERRIDERS
    return [
        page("/results", overview, roles=deciders),
        page("/results/attempts/{attempt_id:id}", attempt_page, roles=deciders),
        page("/results/parts/{part_id:id}/override", override, methods=["POST"], roles=deciders),
    ]
