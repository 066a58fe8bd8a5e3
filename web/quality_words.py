"""How the bank's review marks and the bounds' findings read on the pages: a sentence with the
figure and its bound written as the reader writes numbers."""

from __future__ import annotations

from starlette.requests import Request

from itembank.models import ReviewReason
from itembank.quality import REASON_TEXTS, Judgement
from web.i18n import figure_text, request_language, translate


def finding_text(request: Request, reason: ReviewReason, value: float, bound: float) -> str:
    """Why a version is (or would be) marked for review, for this reader."""
    language = request_language(request)
    return translate(
        request,
        REASON_TEXTS[reason],
        {"value": figure_text(value, language), "bound": figure_text(bound, language)},
    )


def judgement_texts(request: Request, judgement: Judgement) -> list[str]:
    """Each finding of a judgement in words (none when the figures are within the bounds)."""
    return [
        finding_text(request, finding.reason, finding.value, finding.bound)
        for finding in judgement.findings
    ]
