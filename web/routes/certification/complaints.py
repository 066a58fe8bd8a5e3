"""Complaint pages: any signed-in person files a complaint about the body's conduct and follows
their own (``/complaints``); the body's staff list and answer them (``/staff/complaints``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from certification import complaints
from certification.access import CERTIFICATION_STAFF
from vakt.errors import NotFound, VaktError
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.rendering import render


async def _mine(
    request: Request, *, text: str = "", error: str | None = None, status_code: int = 200
) -> Response:
    rows = await complaints.complaints_of(db(request), current_user(request))
    return render(
        request, "certification/complaints.html",
        {"complaints": rows, "text": text, "error": error,
         "sent": request.query_params.get("sent"), "max_length": complaints.MAX_LENGTH},
        status_code=status_code,
    )  # fmt: skip


async def my_complaints(request: Request) -> Response:
    """GET /complaints: the form and the person's own complaints with their answers."""
    return await _mine(request)


async def file_complaint(request: Request) -> Response:
    """POST /complaints: register a complaint; an error comes back with the text kept."""
    text = form_str(await request.form(), "text")
    try:
        complaint = await complaints.file_complaint(
            db(request), complainant=current_user(request), text=text, now=now(request),
            timezone=request.state.settings.timezone,
        )  # fmt: skip
    except VaktError as exc:
        return await _mine(
            request, text=text, error=translate(request, exc.message, exc.params),
            status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(f"/complaints/{complaint.id}?sent=1", status_code=303)


async def own_complaint(request: Request) -> Response:
    """GET /complaints/{id}: the person's own complaint (another's is a 404)."""
    complaint = await complaints.own_complaint(
        db(request), current_user(request), path_id(request, "complaint_id")
    )
    return render(
        request, "certification/complaint.html",
        {"complaint": complaint, "sent": request.query_params.get("sent")},
    )  # fmt: skip


async def _staff(
    request: Request, *, error_for: int | None = None, error: str | None = None,
    answer: str = "", status_code: int = 200,
) -> Response:  # fmt: skip
    rows = await complaints.complaints_for_staff(db(request), current_user(request))
    return render(
        request, "certification/staff_complaints.html",
        {"rows": rows, "error_for": error_for, "error": error, "answer": answer,
         "saved": request.query_params.get("saved")},
        status_code=status_code,
    )  # fmt: skip


async def staff_complaints(request: Request) -> Response:
    """GET /staff/complaints: every complaint, unanswered first."""
    return await _staff(request)


async def answer_complaint(request: Request) -> Response:
    """POST /staff/complaints/{id}/answer: answer in writing; the complainant is notified."""
    answer = form_str(await request.form(), "answer")
    complaint_id = path_id(request, "complaint_id")
    try:
        await complaints.answer_complaint(
            db(request), staff=current_user(request), complaint_id=complaint_id,
            answer=answer, now=now(request),
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        return await _staff(
            request, error_for=complaint_id, error=translate(request, exc.message, exc.params),
            answer=answer, status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse("/staff/complaints?saved=1", status_code=303)


def routes() -> list[BaseRoute]:
    """The complaint pages."""
    return [
        page("/complaints", my_complaints),
        page("/complaints", file_complaint, methods=["POST"]),
        page("/complaints/{complaint_id:id}", own_complaint),
        page("/staff/complaints", staff_complaints, roles=CERTIFICATION_STAFF),
        page(
            "/staff/complaints/{complaint_id:id}/answer",
            answer_complaint,
            methods=["POST"],
            roles=CERTIFICATION_STAFF,
        ),
    ]
