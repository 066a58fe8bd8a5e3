"""The graders' JSON API: their queue, claiming, a script's screen, autosaving and submitting
marks, and a lead grader's reconciliations. The grading screen's autosave uses it. Every answer
is built from ``grading.schemas``, which also describe it (``/api/openapi.json``); none carries
anything about whose answer a script is."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from grading import marking, queries, reconcile, schemas
from grading.access import GRADERS
from grading.claims import claim_script
from grading.models import ScriptKind
from grading.reconcile import waiting_for
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web.endpoints import api, current_user, db, now
from web.inputs import json_object
from web.routes.grading.common import examiners, holds, script_code


def _answer(model: BaseModel, status_code: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status_code)


def _field_error(exc: VaktError) -> VaktError:
    """A refused mark or comment as 422 at its field (the request itself was well formed)."""
    if exc.field and isinstance(exc, VaktError) and exc.status_code == 400:
        return VaktError(
            exc.message, field=exc.field, status_code=422, details=exc.details, **exc.params
        )
    return exc


async def queue(request: Request) -> Response:
    """GET /api/grading/queue: how many scripts wait for the grader, and their open claims."""
    home = await queries.grader_home(
        db(request), current_user(request), examiners(request), holds(request)
    )
    return _answer(
        schemas.GradingQueue(
            waiting=home.waiting,
            claims=[
                schemas.ClaimInfo(
                    code=row.code,
                    kind=row.kind.value,
                    title=row.title,
                    claimed_at=row.claimed_at,
                    expires_at=row.expires_at,
                )
                for row in home.claims
            ],
            to_reconcile=home.to_reconcile,
        )
    )


async def claim(request: Request) -> Response:
    """POST /api/grading/claims: claim the next script waiting for this grader."""
    claimed = await claim_script(
        db(request),
        grader=current_user(request),
        now=now(request),
        examiners=examiners(request),
        holds=holds(request),
    )
    if claimed is None:
        raise VaktError(_l("No script is waiting for you right now."), status_code=409)
    own, script = claimed
    return _answer(schemas.ClaimedScript(code=script.code, expires_at=own.expires_at), 201)


async def script(request: Request) -> Response:
    """GET /api/grading/scripts/{code}: the item, the guide, the answer and one's own marks."""
    code = script_code(request)
    screen = await queries.marking_screen(db(request), code=code, grader=current_user(request))
    shown, own = screen.script, screen.marking
    return _answer(
        schemas.ScriptView(
            code=shown.code,
            kind=shown.kind.value,
            title=shown.title,
            stem_html=shown.stem_html,
            attachments=[
                f"/grading/scripts/{code}/files/{quote(name)}" for name in shown.attachments
            ],
            prompt_html=shown.prompt_html,
            points=shown.points,
            criteria=[
                schemas.CriterionInfo(
                    name=c.name, description_html=c.description_html, max_points=c.max_points
                )
                for c in shown.guide.criteria
            ],
            maxima=shown.maxima,
            notes_html=shown.guide.notes_html,
            answer=shown.answer,
            word_count=shown.word_count,
            other_answers=[
                schemas.OtherAnswer(prompt_html=prompt, answer=text)
                for prompt, text in shown.other_answers
            ],
            video=f"/grading/scripts/{code}/video" if shown.kind == ScriptKind.ORAL else None,
            marks=list(own.marks),
            comment=own.comment,
            sequence=own.sequence,
            saved_at=own.saved_at,
            submitted_at=own.submitted_at,
            total=own.total,
        )
    )


async def save_marks(request: Request) -> Response:
    """PUT|POST /api/grading/scripts/{code}/marks {marks, comment, sequence}: autosave."""
    body = await json_object(request)
    sequence = body.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise VaktError(
            _l("sequence must be a whole number from 1."), field="sequence", status_code=422
        )
    comment = body.get("comment", "")
    if not isinstance(comment, str):
        raise VaktError(_l("The comment must be text."), field="comment", status_code=422)
    if "marks" not in body:
        raise VaktError(_l("marks is required."), field="marks", status_code=422)
    try:
        saved = await marking.save_marks(
            db(request), code=script_code(request), grader=current_user(request),
            marks=body["marks"], comment=comment, sequence=sequence, now=now(request),
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        raise _field_error(exc) from None
    return _answer(
        schemas.MarksSaved(
            marks=list(saved.marks),
            comment=saved.comment,
            sequence=saved.sequence,
            saved_at=saved.saved_at,
        )
    )


async def submit(request: Request) -> Response:
    """POST /api/grading/scripts/{code}/submit: submit the saved marks (final)."""
    try:
        done = await marking.submit_marks(
            db(request), code=script_code(request), grader=current_user(request),
            now=now(request), holds=holds(request),
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        raise _field_error(exc) from None
    assert done.total is not None and done.submitted_at is not None
    return _answer(
        schemas.MarksSubmitted(
            marks=list(done.marks), total=done.total, submitted_at=done.submitted_at
        )
    )


async def reconciliations(request: Request) -> Response:
    """GET /api/grading/reconciliations: the scripts this lead grader may reconcile."""
    scripts = await waiting_for(
        db(request), current_user(request), examiners(request), holds(request)
    )
    return _answer(
        schemas.Reconciliations(
            scripts=[
                schemas.ReconciliationInfo(code=s.code, kind=s.kind.value, points=s.max_points)
                for s in scripts
            ]
        )
    )


async def reconcile_script(request: Request) -> Response:
    """POST /api/grading/reconciliations/{code} {final_points, grounds}: the final mark."""
    body = await json_object(request)
    grounds = body.get("grounds", "")
    if not isinstance(grounds, str):
        raise VaktError(
            _l("Give the grounds for the final mark."), field="grounds", status_code=422
        )
    code = script_code(request)
    try:
        row = await reconcile.reconcile(
            db(request), code=code, lead=current_user(request),
            final_points=body.get("final_points"), grounds=grounds, now=now(request),
            examiners=examiners(request), holds=holds(request),
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        raise _field_error(exc) from None
    return _answer(
        schemas.Reconciled(code=code, final_points=row.final_points, decided_at=row.decided_at)
    )


def routes() -> list[BaseRoute]:
    """The graders' API routes."""
    scripts = "/api/grading/scripts/{code:str}"
    return [
        api("/api/grading/queue", queue, roles=GRADERS),
        api("/api/grading/claims", claim, methods=["POST"], roles=GRADERS),
        api(scripts, script, roles=GRADERS),
        api(f"{scripts}/marks", save_marks, methods=["PUT", "POST"], roles=GRADERS),
        api(f"{scripts}/submit", submit, methods=["POST"], roles=GRADERS),
        api("/api/grading/reconciliations", reconciliations, roles=GRADERS),
        api(
            "/api/grading/reconciliations/{code:str}",
            reconcile_script,
            methods=["POST"],
            roles=GRADERS,
        ),
    ]
