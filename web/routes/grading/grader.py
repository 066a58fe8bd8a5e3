"""The graders' pages: their own queue, claims and history, the grading screen (the item, the
guide, the answer, the marks), the case's files and the oral answer's video, their conflicts of
interest, and a lead grader's reconciliation. A script is known here by its code only: nothing
on these pages, their addresses or their headers says whose answer it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from grading import answers, graders, marking, queries, reconcile
from grading.access import GRADERS
from grading.claims import claim_script
from grading.models import ScriptKind
from vakt.errors import NotFound, VaktError
from vakt.i18n import LazyText, _l
from web.endpoints import current_user, db, form_str, now, page
from web.headers import item_file_headers
from web.i18n import translate
from web.inputs import MAX_SAFE_INTEGER
from web.rendering import render
from web.routes.grading.common import (
    examiners,
    holds,
    mark_text,
    recordings,
    script_code,
    video_response,
)

MAX_CRITERIA = 50
"""No guide has more (``grading.schemas.CriterionMarks``)."""
NOTICES: dict[str, LazyText] = {
    "saved": _l("Your marks are saved."),
    "submitted": _l("Your marks are submitted."),
    "reconciled": _l("The final mark is set."),
    "declared": _l("Your declaration is recorded."),
}
KIND_LABELS: dict[ScriptKind, LazyText] = {
    ScriptKind.ESSAY: _l("Written answer"),
    ScriptKind.ORAL: _l("Oral answer (video)"),
}


def _notice(request: Request) -> str | None:
    text = NOTICES.get(request.query_params.get("done", ""))
    return translate(request, text) if text else None


async def _form_or_error(
    request: Request,
    action: Callable[[], Awaitable[str]],
    on_error: Callable[[VaktError], Awaitable[Response]],
) -> Response:
    """Run a grader's action; redirect where it says, or show the form again with the error
    at its field and what was typed kept."""
    try:
        target = await action()
    except NotFound:
        raise
    except VaktError as exc:
        return await on_error(exc)
    return RedirectResponse(target, status_code=303)


# ---- the grader's home ---------------------------------------------------------------------------


async def _render_home(
    request: Request, *, message: str | None = None, status_code: int = 200
) -> Response:
    home = await queries.grader_home(
        db(request), current_user(request), examiners(request), holds(request)
    )
    return render(
        request,
        "grading/home.html",
        {
            "home": home,
            "message": message or _notice(request),
            "kind_labels": {k.value: translate(request, t) for k, t in KIND_LABELS.items()},
        },
        status_code=status_code,
    )


async def grading_home(request: Request) -> Response:
    """GET /grading: the grader's own queue, claims, history and reconciliations."""
    return await _render_home(request)


async def claim(request: Request) -> Response:
    """POST /grading/claim: take the next script waiting for this grader."""

    async def action() -> str:
        claimed = await claim_script(
            db(request), grader=current_user(request), now=now(request),
            examiners=examiners(request), holds=holds(request),
        )  # fmt: skip
        if claimed is None:
            raise VaktError(_l("No script is waiting for you right now."), status_code=409)
        return f"/grading/scripts/{claimed[1].code}"

    async def on_error(exc: VaktError) -> Response:
        message = translate(request, exc.message, exc.params)
        return await _render_home(request, message=message, status_code=exc.status_code)

    return await _form_or_error(request, action, on_error)


# ---- the grading screen --------------------------------------------------------------------------


async def _render_script(
    request: Request,
    code: str,
    *,
    error: VaktError | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    screen = await queries.marking_screen(db(request), code=code, grader=current_user(request))
    own = screen.marking
    stored = list(own.marks) + [None] * (len(screen.script.maxima) - len(own.marks))
    shown = values or {"marks": [mark_text(m) for m in stored], "comment": own.comment}
    return render(
        request,
        "grading/script.html",
        {
            "screen": screen.script,
            "marking": own,
            "values": shown,
            "error": translate(request, error.message, error.params) if error else None,
            "error_field": error.field if error else None,
            "notice": _notice(request),
            "oral": screen.script.kind == ScriptKind.ORAL,
            "file_base": f"/grading/scripts/{code}/files/",
            "timezone": request.state.settings.timezone,
        },
        status_code=error.status_code if error else 200,
    )


async def script_page(request: Request) -> Response:
    """GET /grading/scripts/{code}: the item, the guide, the answer and the grader's marks."""
    return await _render_script(request, script_code(request))


def _typed_marks(form: FormData) -> list[str]:
    typed = []
    for index in range(MAX_CRITERIA + 1):
        name = f"marks.{index}"
        if name not in form:
            break
        typed.append(form_str(form, name).strip())
    return typed


def _sequence(form: FormData) -> int:
    raw = form_str(form, "sequence").strip()
    if not raw.isdigit() or len(raw) > 16 or int(raw) > MAX_SAFE_INTEGER:
        raise VaktError(_l("Reload the page and try again."), field="sequence")
    return int(raw)


async def save_script(request: Request) -> Response:
    """POST /grading/scripts/{code} (action=save|submit): the form's save (without JavaScript)
    or the confirmed submission; errors are shown at their fields with what was typed kept."""
    code = script_code(request)
    form = await request.form()
    values: dict[str, Any] = {"marks": [], "comment": ""}

    async def action() -> str:
        values["marks"] = _typed_marks(form)
        values["comment"] = form_str(form, "comment")
        sequence = _sequence(form)
        grader, moment = current_user(request), now(request)
        if form_str(form, "action") != "submit":
            await marking.save_marks(
                db(request), code=code, grader=grader, marks=values["marks"],
                comment=values["comment"], sequence=sequence, now=moment,
            )  # fmt: skip
            return f"/grading/scripts/{code}?done=saved"
        if form_str(form, "confirm") != "yes":
            raise VaktError(
                _l("Tick the box to confirm that your marks are final."), field="confirm"
            )
        await marking.save_and_submit(
            db(request), code=code, grader=grader, marks=values["marks"],
            comment=values["comment"], sequence=sequence, now=moment, holds=holds(request),
        )  # fmt: skip
        return f"/grading/scripts/{code}?done=submitted"

    async def on_error(exc: VaktError) -> Response:
        return await _render_script(request, code, error=exc, values=values)

    return await _form_or_error(request, action, on_error)


async def script_file(request: Request) -> Response:
    """GET /grading/scripts/{code}/files/{name}: a file of the script's item (audited)."""
    name = str(request.path_params["name"])
    media_type, content = await answers.case_file(
        db(request), code=script_code(request), name=name, viewer=current_user(request),
        examiners=examiners(request), now=now(request),
    )  # fmt: skip
    file_name = name.rsplit("/", 1)[-1]
    headers = {
        **item_file_headers(media_type, "private, no-store"),
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(file_name)}",
    }
    return Response(content, media_type=media_type, headers=headers)


async def script_video(request: Request) -> Response:
    """GET /grading/scripts/{code}/video: the oral answer, seekable (each fetch audited)."""
    video = await answers.oral_answer(
        db(request), code=script_code(request), viewer=current_user(request),
        examiners=examiners(request), recordings=recordings(request), now=now(request),
    )  # fmt: skip
    return video_response(request, video)


# ---- conflicts of interest -----------------------------------------------------------------------


async def _render_conflicts(
    request: Request, *, error: VaktError | None = None, values: dict[str, str] | None = None
) -> Response:
    rows = await queries.conflict_rows(db(request), current_user(request))
    return render(
        request,
        "grading/conflicts.html",
        {
            "rows": rows,
            "values": values or {"candidate_username": "", "employer": "", "note": ""},
            "error": translate(request, error.message, error.params) if error else None,
            "error_field": error.field if error else None,
            "notice": _notice(request),
        },
        status_code=error.status_code if error else 200,
    )


async def conflicts_page(request: Request) -> Response:
    """GET /grading/conflicts: the grader's own declarations and the form to add one."""
    return await _render_conflicts(request)


async def declare(request: Request) -> Response:
    """POST /grading/conflicts: declare a conflict with a candidate or an employer."""
    form = await request.form()
    values = {"candidate_username": "", "employer": "", "note": ""}

    async def action() -> str:
        for name in values:
            values[name] = form_str(form, name)
        await graders.declare_conflict(
            db(request), grader=current_user(request), now=now(request), **values
        )
        return "/grading/conflicts?done=declared"

    async def on_error(exc: VaktError) -> Response:
        return await _render_conflicts(request, error=exc, values=values)

    return await _form_or_error(request, action, on_error)


# ---- reconciliation ------------------------------------------------------------------------------


async def _render_reconcile(
    request: Request,
    code: str,
    *,
    error: VaktError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    screen = await queries.reconciliation_screen(
        db(request), code=code, lead=current_user(request), examiners=examiners(request),
        holds=holds(request),
    )  # fmt: skip
    return render(
        request,
        "grading/reconcile.html",
        {
            "screen": screen.script,
            "markings": screen.markings,
            "values": values or {"final_points": "", "grounds": ""},
            "error": translate(request, error.message, error.params) if error else None,
            "error_field": error.field if error else None,
            "oral": screen.script.kind == ScriptKind.ORAL,
            "file_base": f"/grading/scripts/{code}/files/",
            "mark_text": mark_text,
        },
        status_code=error.status_code if error else 200,
    )


async def reconcile_page(request: Request) -> Response:
    """GET /grading/reconcile/{code}: both markings side by side and the final mark's form."""
    return await _render_reconcile(request, script_code(request))


async def reconcile_script(request: Request) -> Response:
    """POST /grading/reconcile/{code}: set the final mark with written grounds."""
    code = script_code(request)
    form = await request.form()
    values = {"final_points": "", "grounds": ""}

    async def action() -> str:
        for name in values:
            values[name] = form_str(form, name)
        await reconcile.reconcile(
            db(request), code=code, lead=current_user(request),
            final_points=values["final_points"].strip(), grounds=values["grounds"],
            now=now(request), examiners=examiners(request), holds=holds(request),
        )  # fmt: skip
        return "/grading?done=reconciled"

    async def on_error(exc: VaktError) -> Response:
        return await _render_reconcile(request, code, error=exc, values=values)

    return await _form_or_error(request, action, on_error)


def routes() -> list[BaseRoute]:
    """The graders' pages."""
    return [
        page("/grading", grading_home, roles=GRADERS),
        page("/grading/claim", claim, methods=["POST"], roles=GRADERS),
        page("/grading/conflicts", conflicts_page, roles=GRADERS),
        page("/grading/conflicts", declare, methods=["POST"], roles=GRADERS),
        page("/grading/scripts/{code:str}", script_page, roles=GRADERS),
        page("/grading/scripts/{code:str}", save_script, methods=["POST"], roles=GRADERS),
        page("/grading/scripts/{code:str}/video", script_video, roles=GRADERS),
        page("/grading/scripts/{code:str}/files/{name:path}", script_file, roles=GRADERS),
        page("/grading/reconcile/{code:str}", reconcile_page, roles=GRADERS),
        page("/grading/reconcile/{code:str}", reconcile_script, methods=["POST"], roles=GRADERS),
    ]
