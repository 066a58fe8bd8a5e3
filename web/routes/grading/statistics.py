"""The staff's pages about the quality of a sitting's assessment: the statistics of its items,
parts and graders, computing them again, the scheme's bounds for marking items for review, and
the scores and statistics as CSV files. Administrators only: graders never see how they agree,
and candidates never see any of it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from exam.lookups import get_sitting
from grading import quality, quality_queries
from grading.access import GRADING_ADMINISTRATORS
from itembank.quality import BOUND_LABELS, set_bounds
from vakt.errors import NotFound, VaktError
from vakt.i18n import LazyText, _l
from web.csv_files import Cell, csv_response
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.quality_words import judgement_texts
from web.rendering import render

RELIABILITY_LABELS: dict[str, LazyText] = {
    "kr20": _l("KR-20"),
    "alpha": _l("Cronbach's alpha"),
}
YES, NO = _l("yes"), _l("no")


async def _render(
    request: Request,
    sitting_id: int,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    shown = await quality_queries.statistics_page(db(request), sitting_id)
    return render(
        request,
        "grading/statistics.html",
        {
            "page": shown,
            "items": [(row, judgement_texts(request, row.judgement)) for row in shown.items],
            "reliability_labels": {
                kind: translate(request, label) for kind, label in RELIABILITY_LABELS.items()
            },
            "bound_labels": {name: translate(request, text) for name, text in BOUND_LABELS.items()},
            "bound_values": values or shown.bounds.model_dump(),
            "error": error,
        },
        status_code=status_code,
    )


async def statistics_page(request: Request) -> Response:
    """GET /staff/sittings/{id}/statistics: the figures of the sitting's items, parts and
    graders as last computed."""
    return await _render(request, path_id(request, "sitting_id"))


async def compute(request: Request) -> Response:
    """POST /staff/sittings/{id}/statistics: compute the figures again from the results now."""
    sitting_id = path_id(request, "sitting_id")
    await quality.compute_statistics(
        db(request), sitting_id, now=now(request), actor=current_user(request)
    )
    return RedirectResponse(f"/staff/sittings/{sitting_id}/statistics", status_code=303)


async def change_bounds(request: Request) -> Response:
    """POST /staff/sittings/{id}/bounds: change the bounds of the sitting's scheme for marking
    items for review (they apply from the next computation)."""
    sitting_id = path_id(request, "sitting_id")
    sitting = await get_sitting(db(request), sitting_id)
    form = await request.form()
    typed = {name: form_str(form, name).strip() for name in BOUND_LABELS}
    # A decimal comma is how Norwegians write 0,2.
    values: dict[str, Any] = {name: text.replace(",", ".") for name, text in typed.items()}
    try:
        await set_bounds(
            db(request),
            scheme_id=sitting.scheme_id,
            values=values,
            actor=current_user(request),
            now=now(request),
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render(
            request,
            sitting_id,
            error=translate(request, exc.message, exc.params),
            values=typed,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/staff/sittings/{sitting_id}/statistics", status_code=303)


def _percent(score: float | None, most: float | None) -> float | None:
    if score is None or not most:
        return None
    return 100 * score / most


async def scores_csv(request: Request) -> Response:
    """GET /staff/sittings/{id}/scores.csv: one row per part of each attempt."""
    sitting_id = path_id(request, "sitting_id")
    rows = await quality_queries.score_rows(db(request), sitting_id)
    yes, no = translate(request, YES), translate(request, NO)
    header = [
        translate(request, text)
        for text in (
            _l("Registration"), _l("Username"), _l("Name"), _l("Part"), _l("Points"),
            _l("Most points"), _l("Percent"), _l("Passed"), _l("Overridden"),
        )
    ]  # fmt: skip
    lines: list[list[Cell]] = [
        [
            row.registration_id,
            row.username,
            row.full_name,
            row.part_key,
            row.score,
            row.max_score,
            _percent(row.score, row.max_score),
            None if row.passed is None else (yes if row.passed else no),
            yes if row.overridden else no,
        ]
        for row in rows
    ]
    return csv_response(f"sitting-{sitting_id}-scores.csv", header, lines)


async def statistics_csv(request: Request) -> Response:
    """GET /staff/sittings/{id}/statistics.csv: a row per item, per part and per grader pair,
    as last computed (only the header before the first computation)."""
    sitting_id = path_id(request, "sitting_id")
    shown = await quality_queries.statistics_page(db(request), sitting_id)
    header = [
        translate(request, text)
        for text in (
            _l("Row"), _l("Part"), _l("Item id"), _l("Version"), _l("Title"), _l("Responses"),
            _l("Most points"), _l("Facility (p)"), _l("Discrimination"), _l("Mean"),
            _l("Standard deviation"), _l("Reliability"), _l("Reliability coefficient"),
            _l("Standard error of measurement"), _l("Exact agreement"),
            _l("Adjacent agreement"), _l("Quadratic-weighted kappa"), _l("Against the bounds"),
        )
    ]  # fmt: skip
    item_word, part_word = translate(request, _l("item")), translate(request, _l("part"))
    pair_word = translate(request, _l("grader pair"))
    too_few = translate(request, _l("too few responses"))
    lines: list[list[Cell]] = []
    for row, texts in ((row, judgement_texts(request, row.judgement)) for row in shown.items):
        f = row.figures
        lines.append(
            [item_word, f.part_key, row.version.item.external_id, row.version.number,
             row.version.title, f.responses, f.max_points, f.facility, f.discrimination, f.mean,
             f.sd, None, None, None, None, None, None,
             too_few if row.judgement.too_few else " ".join(texts)]
        )  # fmt: skip
    for part in shown.parts:
        lines.append(
            [part_word, part.part_key, None, None, shown.titles.get(part.part_key, ""),
             part.responses, part.max_points, None, None, part.mean, part.sd,
             translate(request, RELIABILITY_LABELS[part.reliability_kind]), part.reliability,
             part.sem, None, None, None, None]
        )  # fmt: skip
    for pair in shown.pairs:
        a = pair.agreement
        lines.append(
            [pair_word, None, None, None, f"{pair.first.full_name} / {pair.second.full_name}",
             a.scripts, None, None, None, None, None, None, None, None, a.exact, a.adjacent,
             a.kappa, None]
        )  # fmt: skip
    return csv_response(f"sitting-{sitting_id}-statistics.csv", header, lines)


def routes() -> list[BaseRoute]:
    """The staff's statistics pages and files."""
    staff = GRADING_ADMINISTRATORS
    return [
        page("/staff/sittings/{sitting_id:id}/statistics", statistics_page, roles=staff),
        page(
            "/staff/sittings/{sitting_id:id}/statistics",
            compute,
            methods=["POST"],
            roles=staff,
            name="compute_statistics",
        ),
        page(
            "/staff/sittings/{sitting_id:id}/bounds",
            change_bounds,
            methods=["POST"],
            roles=staff,
        ),
        page("/staff/sittings/{sitting_id:id}/scores.csv", scores_csv, roles=staff),
        page("/staff/sittings/{sitting_id:id}/statistics.csv", statistics_csv, roles=staff),
    ]
