"""What the item bank's routes share: reading their query and path parameters, the labels
their pages show, and the item page (shown by the item's route and again after a refused
workflow step)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from itembank import queries
from itembank.schemas import STATUS_LABELS, TYPE_LABELS, ItemStatus, ItemType, ScoringRule
from itembank.search import ItemQuery
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from vakt.text import UNSTORABLE_TEXT, unstorable_text
from web.endpoints import db
from web.i18n import translate
from web.quality_words import finding_text, judgement_texts
from web.rendering import render

SCORING_LABELS = {
    ScoringRule.ALL_OR_NOTHING: _l("All or nothing"),
    ScoringRule.PER_OPTION: _l("Partial credit: + for each right option, − for each wrong one"),
    ScoringRule.MAPPED: _l("Partial credit: a value for each option"),
}


def labels(request: Request) -> dict[str, Any]:
    """The names of item types, statuses and scoring rules in the reader's language."""
    return {
        "type_labels": {k.value: translate(request, v) for k, v in TYPE_LABELS.items()},
        "status_labels": {k.value: translate(request, v) for k, v in STATUS_LABELS.items()},
        "scoring_labels": {k.value: translate(request, v) for k, v in SCORING_LABELS.items()},
    }


LARGEST_ID = 2**31 - 1
"""Ids and numbers are 32-bit integers in the database; a larger one names nothing."""


def small_int(text: str) -> int | None:
    """A whole number the database can hold, or None."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > LARGEST_ID:
        return None
    return int(text)


def int_param(request: Request, name: str) -> int | None:
    """A whole-number query parameter, None when absent; a 400 naming it when it is no number."""
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    number = small_int(value)
    if number is None:
        raise VaktError(_l("{name} must be a whole number."), field=name, name=name)
    return number


def path_int(request: Request, name: str) -> int:
    """A whole-number path parameter; a 404 when no row can have it."""
    number = small_int(str(request.path_params[name]))
    if number is None:
        raise NotFound(_l("The page you asked for does not exist."))
    return number


def _text_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()[:200]
    if unstorable_text(value):
        raise VaktError(UNSTORABLE_TEXT, field=name)
    return value or None


def enum_param(request: Request, name: str, enum: type[Any]) -> Any:
    """A query parameter naming a member of ``enum``, None when absent; a 400 when unknown."""
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        raise VaktError(_l("Unknown value for {name}."), field=name, name=name) from None


def flag_param(request: Request, name: str) -> bool:
    """A yes/no query parameter: "1" is yes, absent, empty or "0" no; a 400 for anything else."""
    value = request.query_params.get(name, "").strip()
    if value not in ("", "0", "1"):
        raise VaktError(_l("Unknown value for {name}."), field=name, name=name)
    return value == "1"


def item_query(request: Request) -> ItemQuery:
    """The bank's search filters from the query string (the list page and the API alike)."""
    return ItemQuery(
        scheme_id=int_param(request, "scheme"),
        item_type=enum_param(request, "type", ItemType),
        status=enum_param(request, "status", ItemStatus),
        tag=_text_param(request, "tag"),
        text=_text_param(request, "q"),
        marked=flag_param(request, "review"),
        page=int_param(request, "page") or 1,
    )


async def item_page(
    request: Request,
    item_id: int,
    version_number: int | None,
    *,
    error: str | None = None,
    comment: str = "",
    comment_error: str | None = None,
    status_code: int = 200,
) -> Response:
    """An item's page, showing the version of that number (the newest when there is none)."""
    overview = await queries.item_overview(
        db(request), item_id, version_number, request.state.item_statistics
    )
    return render(
        request,
        "items/detail.html",
        {
            "item": overview.item,
            "version": overview.version,
            "latest": overview.latest,
            "document": overview.document,
            "versions": overview.versions,
            "history": overview.history,
            "marks": [
                (mark, finding_text(request, mark.reason, mark.value, mark.bound))
                for mark in overview.marks
            ],
            "figures": [
                (figures, judgement, judgement_texts(request, judgement))
                for figures, judgement in overview.figures
            ],
            "saved": request.query_params.get("saved"),
            "error": error,
            "comment": comment,
            "comment_error": comment_error,
            **labels(request),
        },
        status_code=status_code,
    )
