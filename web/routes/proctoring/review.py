"""The proctors' review pages: the queue across sittings, and one attempt's review with its
decisions (flags dismissed or confirmed, the attempt cleared, cheating proposed and confirmed or
rejected by a second person, identity, the part's clock, a message to the candidate).

Every decision is a form posted to its own address; the services check the claim and write the
audit log. A refused decision shows the attempt's page again with the message at its field and
what was typed kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from babel.support import NullTranslations
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from exam import pauses
from proctoring import messages, review, review_claims, review_page
from proctoring.access import CHEATING_CONFIRMERS, REVIEWERS
from proctoring.models import FlagDecision, FlagType
from proctoring.schemas import ReviewFilters, ReviewState
from vakt.accounts import Role
from vakt.db import MAX_ROW_ID
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import request_translations, translate
from web.proctor_words import ProctorWords
from web.rendering import render

REVIEW_PAGE_ROLES = REVIEWERS | CHEATING_CONFIRMERS
"""Who sees the queue and an attempt's review (administrators confirm or reject proposals)."""

STATE_LABELS = {
    ReviewState.UNREVIEWED: _l("Not reviewed"),
    ReviewState.CLAIMED: _l("Being reviewed"),
    ReviewState.FOUR_EYES: _l("Cheating proposed: waiting for a second person"),
    ReviewState.CLEARED: _l("Cleared"),
    ReviewState.CHEATING_CONFIRMED: _l("Cheating confirmed"),
}
BAD_CHOICE = _l("Choose one of the options.")
BAD_PAGE = _l("The page number must be a whole number, 1 or more.")
PAST_THE_END = 10**9
"""A page number longer than this many digits is past the end of any queue (the last page)."""
IDENTITY_CHOICES = {"confirmed": True, "not_confirmed": False}


def _state_labels(translations: NullTranslations) -> dict[str, str]:
    return {state.value: translations.gettext(text.msgid) for state, text in STATE_LABELS.items()}


def _chosen_id(value: str, field: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > len(str(MAX_ROW_ID)):
        raise VaktError(BAD_CHOICE, field=field)
    if not 1 <= int(value) <= MAX_ROW_ID:
        raise VaktError(BAD_CHOICE, field=field)
    return int(value)


def _filters(values: dict[str, str]) -> ReviewFilters:
    flag_type, state = values["flag_type"], values["state"]
    if flag_type and flag_type not in {t.value for t in FlagType}:
        raise VaktError(BAD_CHOICE, field="flag_type")
    if state and state not in {s.value for s in ReviewState}:
        raise VaktError(BAD_CHOICE, field="state")
    return ReviewFilters(
        sitting_id=_chosen_id(values["sitting"], "sitting"),
        scheme_id=_chosen_id(values["scheme"], "scheme"),
        flag_type=FlagType(flag_type) if flag_type else None,
        state=ReviewState(state) if state else None,
    )


def _page_number(value: str) -> int:
    """The page asked for: 1 when none; a number past the end stands for the last page."""
    if not value:
        return 1
    if not (value.isascii() and value.isdigit()) or int(value[:18]) == 0:
        raise VaktError(BAD_PAGE, field="page")
    return int(value) if len(value) <= len(str(PAST_THE_END)) else PAST_THE_END


def queue_href(filters: ReviewFilters, page_number: int) -> str:
    """The queue's address showing this page with these filters."""
    params = {
        "sitting": filters.sitting_id,
        "scheme": filters.scheme_id,
        "flag_type": filters.flag_type.value if filters.flag_type else None,
        "state": filters.state.value if filters.state else None,
        "page": page_number,
    }
    return "/proctor/review?" + urlencode({k: v for k, v in params.items() if v is not None})


async def review_queue(request: Request) -> Response:
    """GET /proctor/review: a page of the attempts to review, most severe open flag first, then
    the oldest; filtered by sitting, scheme, flag type and review state. A bad filter is a 400
    naming it, with the first page of the whole queue; a bad page number a 400 naming it, with
    the first page of the filtered queue."""
    values = {
        name: form_str(request.query_params, name)
        for name in ("sitting", "scheme", "flag_type", "state", "page")
    }
    error: dict[str, str] = {}
    filters, page_number = ReviewFilters(), 1
    try:
        filters = _filters(values)
        page_number = _page_number(values["page"])
    except VaktError as exc:
        error = {"field": exc.field or "", "message": translate(request, exc.message, exc.params)}
    shown = await review_page.queue_page(
        db(request),
        viewer=current_user(request),
        now=now(request),
        filters=filters,
        page=page_number,
    )
    queue = shown.queue
    translations = request_translations(request)
    return render(
        request,
        "proctoring/review_queue.html",
        {
            "page": shown,
            "values": values,
            "error": error,
            "previous_href": queue_href(filters, queue.page - 1) if queue.has_previous else None,
            "next_href": queue_href(filters, queue.page + 1) if queue.has_next else None,
            "flag_types": list(FlagType),
            "states": _state_labels(translations),
            "words": ProctorWords(translations),
            "may_claim": Role.PROCTOR in current_user(request).roles,
        },
        status_code=400 if error else 200,
    )


async def _render_attempt(
    request: Request,
    attempt_id: int,
    *,
    form: str | None = None,
    field: str | None = None,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    shown = await review_page.attempt_review_page(
        db(request), request.state.media, attempt_id, viewer=current_user(request), now=now(request)
    )
    translations = request_translations(request)
    user = current_user(request)
    return render(
        request,
        "proctoring/review_attempt.html",
        {
            "page": shown,
            "words": ProctorWords(translations, {part.id: part for part in shown.parts}),
            "states": _state_labels(translations),
            "is_proctor": Role.PROCTOR in user.roles,
            "user_id": user.id,
            "now": now(request),
            "form": form,
            "field": field,
            "error": error,
            "values": values or {},
            "play": _play(request, shown),
            "done": request.query_params.get("done"),
        },
        status_code=status_code,
    )


def _play(request: Request, shown: review_page.AttemptReviewPage) -> dict[str, int] | None:
    """The recording and second a flag's "play from here" asked for (None: nothing asked)."""
    recording, at = request.query_params.get("recording", ""), request.query_params.get("at", "")
    if not (recording.isdigit() and at.isdigit() and len(recording) <= 18 and len(at) <= 9):
        return None
    ids = {view.recording.id for view in shown.recordings if view.playable}
    return {"recording": int(recording), "at": int(at)} if int(recording) in ids else None


async def attempt_page(request: Request) -> Response:
    """GET /proctor/review/attempts/{id}: the attempt's review and its decision forms."""
    return await _render_attempt(request, path_id(request, "attempt_id"))


async def _decide(
    request: Request,
    form_name: str,
    action: Callable[[Any], Awaitable[object]],
    *,
    kept: tuple[str, ...] = (),
    done: str = "saved",
) -> Response:
    """Run one decision; back to the attempt's page, or its page again with the error at the
    field and the values typed kept."""
    attempt_id = path_id(request, "attempt_id")
    form = await request.form()
    values: dict[str, Any] = {name: form_str(form, name) for name in kept}
    try:
        await action(form)
    except NotFound:
        raise
    except VaktError as exc:
        values["evidence"] = form.getlist("evidence")
        return await _render_attempt(
            request,
            attempt_id,
            form=form_name,
            field=exc.field,
            error=translate(request, exc.message, exc.params),
            values=values,
            status_code=exc.status_code,
        )
    return RedirectResponse(
        f"/proctor/review/attempts/{attempt_id}?done={done}#decisions", status_code=303
    )


async def claim(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/claim: claim the attempt's review (or renew it)."""

    async def action(_form: Any) -> object:
        return await review_claims.claim_review(
            db(request),
            attempt_id=path_id(request, "attempt_id"),
            proctor=current_user(request),
            now=now(request),
        )

    return await _decide(request, "claim", action, done="claimed")


async def release(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/release: give up one's claim."""

    async def action(_form: Any) -> object:
        await review_claims.release_review(
            db(request),
            attempt_id=path_id(request, "attempt_id"),
            proctor=current_user(request),
            now=now(request),
        )
        return None

    return await _decide(request, "claim", action, done="released")


async def decide_flag(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/flags/{flag_id}: dismiss (with a reason) or confirm
    one of the attempt's flags."""
    flag_id = path_id(request, "flag_id")

    async def action(form: Any) -> object:
        decision = form_str(form, "decision")
        if decision not in {d.value for d in FlagDecision}:
            raise VaktError(BAD_CHOICE, field="decision")
        return await review.decide_flag(
            db(request),
            flag_id=flag_id,
            attempt_id=path_id(request, "attempt_id"),
            decision=FlagDecision(decision),
            reason=form_str(form, "reason"),
            proctor=current_user(request),
            now=now(request),
        )

    return await _decide(request, f"flag-{flag_id}", action, kept=("reason", "decision"))


async def clear(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/clear: no cheating (every flag decided)."""

    async def action(_form: Any) -> object:
        return await review.clear_attempt(
            db(request),
            attempt_id=path_id(request, "attempt_id"),
            proctor=current_user(request),
            now=now(request),
        )

    return await _decide(request, "clear", action, done="cleared")


def _evidence(form: Any) -> list[int]:
    chosen = []
    for value in form.getlist("evidence"):
        if not isinstance(value, str) or not value.isdigit() or len(value) > 18:
            raise VaktError(_l("The evidence must be flags of this attempt."), field="evidence")
        chosen.append(int(value))
    return chosen


async def propose(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/propose: propose cheating, with grounds and the
    confirmed flags it rests on."""

    async def action(form: Any) -> object:
        return await review.propose_cheating(
            db(request),
            attempt_id=path_id(request, "attempt_id"),
            grounds=form_str(form, "grounds"),
            evidence=_evidence(form),
            proctor=current_user(request),
            now=now(request),
        )

    return await _decide(request, "propose", action, kept=("grounds",), done="proposed")


async def confirm(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/confirm: confirm another person's proposal: the
    attempt ends "Ikke bestått"."""

    async def action(_form: Any) -> object:
        return await review.confirm_cheating(
            db(request),
            attempt_id=path_id(request, "attempt_id"),
            confirmer=current_user(request),
            now=now(request),
        )

    return await _decide(request, "four-eyes", action, done="confirmed")


async def reject(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/reject: reject another person's proposal, with
    grounds."""

    async def action(form: Any) -> object:
        return await review.reject_cheating(
            db(request),
            attempt_id=path_id(request, "attempt_id"),
            grounds=form_str(form, "grounds"),
            confirmer=current_user(request),
            now=now(request),
        )

    return await _decide(request, "four-eyes", action, kept=("grounds",), done="rejected")


async def identity(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/identity: the candidate's identity confirmed, or not
    confirmed with grounds (grading holds the attempt then)."""

    async def action(form: Any) -> object:
        choice = form_str(form, "identity")
        if choice not in IDENTITY_CHOICES:
            raise VaktError(BAD_CHOICE, field="identity")
        attempt = await review_claims.attempt_of(db(request), path_id(request, "attempt_id"))
        return await review.decide_identity(
            db(request),
            registration_id=attempt.registration_id,
            confirmed=IDENTITY_CHOICES[choice],
            grounds=form_str(form, "grounds"),
            proctor=current_user(request),
            now=now(request),
        )

    return await _decide(request, "identity", action, kept=("identity", "grounds"))


async def pause(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/parts/{part_id}/pause: stop the part's clock, with
    grounds."""
    part_id = path_id(request, "part_id")

    async def action(form: Any) -> object:
        attempt = await review_claims.attempt_of(db(request), path_id(request, "attempt_id"))
        return await pauses.pause_part(
            db(request),
            attempt_part_id=part_id,
            registration_id=attempt.registration_id,
            actor=current_user(request),
            grounds=form_str(form, "grounds"),
            now=now(request),
        )

    return await _decide(request, f"pause-{part_id}", action, kept=("grounds",), done="paused")


async def resume(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/parts/{part_id}/resume: start the part's clock again
    (the time left is what it was when it stopped)."""
    part_id = path_id(request, "part_id")

    async def action(_form: Any) -> object:
        attempt = await review_claims.attempt_of(db(request), path_id(request, "attempt_id"))
        return await pauses.resume_part(
            db(request),
            attempt_part_id=part_id,
            registration_id=attempt.registration_id,
            actor=current_user(request),
            now=now(request),
        )

    return await _decide(request, f"pause-{part_id}", action, done="resumed")


async def message(request: Request) -> Response:
    """POST /proctor/review/attempts/{id}/message: write to the candidate (shown on their exam
    page)."""

    async def action(form: Any) -> object:
        attempt = await review_claims.attempt_of(db(request), path_id(request, "attempt_id"))
        return await messages.send_message(
            db(request),
            registration_id=attempt.registration_id,
            text=form_str(form, "text"),
            proctor=current_user(request),
            now=now(request),
        )

    return await _decide(request, "message", action, kept=("text",), done="sent")


def routes() -> list[BaseRoute]:
    """The review queue, an attempt's review and its decisions."""
    base = "/proctor/review/attempts/{attempt_id:id}"
    return [
        page("/proctor/review", review_queue, roles=REVIEW_PAGE_ROLES),
        page(base, attempt_page, roles=REVIEW_PAGE_ROLES),
        page(f"{base}/claim", claim, roles=REVIEWERS, methods=["POST"]),
        page(f"{base}/release", release, roles=REVIEWERS, methods=["POST"]),
        page(f"{base}/flags/{{flag_id:id}}", decide_flag, roles=REVIEWERS, methods=["POST"]),
        page(f"{base}/clear", clear, roles=REVIEWERS, methods=["POST"]),
        page(f"{base}/propose", propose, roles=REVIEWERS, methods=["POST"]),
        page(f"{base}/confirm", confirm, roles=CHEATING_CONFIRMERS, methods=["POST"]),
        page(f"{base}/reject", reject, roles=CHEATING_CONFIRMERS, methods=["POST"]),
        page(f"{base}/identity", identity, roles=REVIEWERS, methods=["POST"]),
        page(f"{base}/parts/{{part_id:id}}/pause", pause, roles=REVIEWERS, methods=["POST"]),
        page(f"{base}/parts/{{part_id:id}}/resume", resume, roles=REVIEWERS, methods=["POST"]),
        page(f"{base}/message", message, roles=REVIEWERS, methods=["POST"]),
    ]
