"""Appeal pages: the candidate files an appeal from My page (and sees their own), the appeal
handlers and decision makers list appeals, a handler records the outcome, and after an upheld
appeal an independent decision maker makes the new decision."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from certification import appeals, attachments, regrading
from certification.access import APPEAL_HANDLERS, DECIDERS
from exam.models import Registration
from exam.roles import CANDIDATES
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.inputs import form_id
from web.proctoring_view import PRIVATE_MEDIA
from web.rendering import render

VIEWERS = APPEAL_HANDLERS | DECIDERS
CHOOSE_PART = _l("Choose the part to grade again.")


def _store(request: Request) -> attachments.AttachmentStore:
    return attachments.AttachmentStore(request.state.settings.data_dir / "appeal_attachments")


async def _uploads(form: Any) -> list[attachments.Upload]:
    """The files chosen in the form's file input (a browser sends a nameless empty part when
    none is); read to a byte past the limit, and no more files than one past the most allowed,
    so the service can refuse them without the server holding more."""
    chosen = [
        value
        for value in form.getlist(attachments.FIELD)
        if isinstance(value, UploadFile) and value.filename
    ]
    return [
        attachments.Upload(value.filename or "", await value.read(attachments.MAX_BYTES + 1))
        for value in chosen[: attachments.MAX_FILES + 1]
    ]


def _download(download: attachments.Download) -> Response:
    """The file as a download (never shown inline, never sniffed, never cached)."""
    row = download.attachment
    fallback = row.file_name.encode("ascii", "replace").decode().replace('"', "'")
    fallback = "".join(ch if ch.isprintable() and ch != "\\" else "_" for ch in fallback)
    disposition = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(row.file_name, safe='')}"
    )
    return Response(
        download.data,
        media_type=row.content_type,
        headers={**PRIVATE_MEDIA, "Content-Disposition": disposition},
    )


async def _appeal_form(
    request: Request, registration_id: int, *, grounds: str = "", error: str | None = None,
    error_field: str | None = None, files_lost: bool = False, status_code: int = 200,
) -> Response:  # fmt: skip
    session, candidate = db(request), current_user(request)
    registration = await session.get(Registration, registration_id)
    if registration is None or registration.candidate_id != candidate.id:
        raise NotFound(appeals.NO_RESULT)
    found = await appeals.appealable(session, registration, request.state.settings.timezone)
    if found is None:
        raise NotFound(appeals.NO_RESULT)
    return render(
        request, "certification/appeal_form.html",
        {"found": found, "grounds": grounds, "error": error, "error_field": error_field,
         "files_lost": files_lost, "max_length": appeals.APPEAL_MAX_LENGTH,
         "accept": attachments.ACCEPT, "max_files": attachments.MAX_FILES,
         "max_megabytes": attachments.MAX_BYTES // (1024 * 1024)},
        status_code=status_code,
    )  # fmt: skip


async def appeal_form(request: Request) -> Response:
    """GET /my/registrations/{id}/appeal: the appeal form with its deadline (also on My page)."""
    return await _appeal_form(request, path_id(request, "registration_id"))


async def file_appeal(request: Request) -> Response:
    """POST /my/registrations/{id}/appeal: file the appeal with its attachments; an error comes
    back on the form with the grounds kept (the files must be chosen again: no browser lets a
    page fill in a file input)."""
    form = await request.form()
    grounds = form_str(form, "grounds")
    uploads = await _uploads(form)
    registration_id = path_id(request, "registration_id")
    try:
        appeal = await appeals.file_appeal(
            db(request), candidate=current_user(request), registration_id=registration_id,
            grounds=grounds, now=now(request), timezone=request.state.settings.timezone,
            uploads=uploads, store=_store(request),
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        return await _appeal_form(
            request, registration_id, grounds=grounds,
            error=translate(request, exc.message, exc.params), error_field=exc.field,
            files_lost=bool(uploads), status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(f"/my/appeals/{appeal.id}?sent=1", status_code=303)


async def _own_appeal(
    request: Request, *, error: str | None = None, status_code: int = 200
) -> Response:
    session = db(request)
    appeal = await appeals.own_appeal(session, current_user(request), path_id(request, "appeal_id"))
    files = await attachments.attachments_of(session, appeal.id)
    return render(
        request, "certification/my_appeal.html",
        {"appeal": appeal, "sent": request.query_params.get("sent"),
         "added": request.query_params.get("added"), "files": files, "error": error,
         "can_attach": not appeals.is_decided(appeal) and len(files) < attachments.MAX_FILES,
         "accept": attachments.ACCEPT, "max_files": attachments.MAX_FILES,
         "max_megabytes": attachments.MAX_BYTES // (1024 * 1024)},
        status_code=status_code,
    )  # fmt: skip


async def own_appeal(request: Request) -> Response:
    """GET /my/appeals/{id}: the candidate's own appeal with its files (another's is a 404)."""
    return await _own_appeal(request)


async def add_attachments(request: Request) -> Response:
    """POST /my/appeals/{id}/attachments: attach more files while the appeal is not decided."""
    uploads = await _uploads(await request.form())
    appeal_id = path_id(request, "appeal_id")
    try:
        await appeals.add_attachments(
            db(request), candidate=current_user(request), appeal_id=appeal_id,
            uploads=uploads, store=_store(request), now=now(request),
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        return await _own_appeal(
            request, error=translate(request, exc.message, exc.params),
            status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(f"/my/appeals/{appeal_id}?added=1", status_code=303)


async def own_attachment(request: Request) -> Response:
    """GET /my/appeals/{id}/attachments/{file}: a file of the candidate's own appeal."""
    download = await appeals.own_attachment(
        db(request), current_user(request), path_id(request, "appeal_id"),
        path_id(request, "attachment_id"), _store(request),
    )  # fmt: skip
    return _download(download)


async def staff_attachment(request: Request) -> Response:
    """GET /appeals/{id}/attachments/{file}: a file of an appeal (the download is audited)."""
    download = await appeals.staff_attachment(
        db(request), current_user(request), path_id(request, "appeal_id"),
        path_id(request, "attachment_id"), _store(request),
    )  # fmt: skip
    return _download(download)


async def staff_list(request: Request) -> Response:
    """GET /appeals: every appeal with its status, newest first."""
    rows = await appeals.appeals_for_staff(db(request), current_user(request))
    return render(request, "certification/staff_appeals.html", {"rows": rows})


async def _staff_appeal(
    request: Request, *, error: str | None = None, error_field: str | None = None,
    values: dict[str, str] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    shown = await appeals.appeal_page(
        db(request), current_user(request), path_id(request, "appeal_id"),
        request.state.regrading,
    )  # fmt: skip
    return render(
        request, "certification/staff_appeal.html",
        {"row": shown.row, "files": shown.files, "regrading": shown.regrading,
         "regrading_unfinished": shown.regrading_unfinished, "error": error,
         "error_field": error_field, "values": values or {},
         "done": request.query_params.get("done")},
        status_code=status_code,
    )  # fmt: skip


async def staff_appeal(request: Request) -> Response:
    """GET /appeals/{id}: one appeal, its outcome form and (when upheld) the new decision."""
    return await _staff_appeal(request)


async def record_outcome(request: Request) -> Response:
    """POST /appeals/{id}/status: in review, or the outcome (upheld or rejected) with grounds."""
    form = await request.form()
    values = {name: form_str(form, name) for name in ("status", "grounds")}
    appeal_id = path_id(request, "appeal_id")
    try:
        await appeals.record_outcome(
            db(request), handler=current_user(request), appeal_id=appeal_id,
            status=appeals.parse_status(values["status"]), grounds=values["grounds"],
            now=now(request), regrading=request.state.regrading,
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        return await _staff_appeal(
            request, error=translate(request, exc.message, exc.params),
            error_field=exc.field or "status", values=values, status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(f"/appeals/{appeal_id}?done=status", status_code=303)


async def order_regrading(request: Request) -> Response:
    """POST /appeals/{id}/regrading: have a part of the appealed exam graded again, blindly."""
    form = await request.form()
    appeal_id = path_id(request, "appeal_id")
    try:
        await regrading.order_regrading(
            db(request), handler=current_user(request), appeal_id=appeal_id,
            attempt_part_id=form_id(form, "attempt_part_id", CHOOSE_PART), now=now(request),
            regrading=request.state.regrading,
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        return await _staff_appeal(
            request, error=translate(request, exc.message, exc.params),
            error_field="regrading", status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(f"/appeals/{appeal_id}?done=regrading", status_code=303)


async def redecide(request: Request) -> Response:
    """POST /appeals/{id}/decision: the new decision after an upheld appeal."""
    form = await request.form()
    values = {name: form_str(form, name) for name in ("outcome", "grounds")}
    appeal_id = path_id(request, "appeal_id")
    try:
        await appeals.redecide(
            db(request), decider=current_user(request), appeal_id=appeal_id,
            outcome=appeals.parse_outcome(values["outcome"]), grounds=values["grounds"],
            now=now(request), reviews=request.state.reviews,
            participants=request.state.participants,
            timezone=request.state.settings.timezone,
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        return await _staff_appeal(
            request, error=translate(request, exc.message, exc.params),
            error_field="decision", values=values, status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(f"/appeals/{appeal_id}?done=decision", status_code=303)


def routes() -> list[BaseRoute]:
    """The appeal pages."""
    mine = "/my/registrations/{registration_id:id}/appeal"
    return [
        page(mine, appeal_form, roles=CANDIDATES),
        page(mine, file_appeal, methods=["POST"], roles=CANDIDATES),
        page("/my/appeals/{appeal_id:id}", own_appeal, roles=CANDIDATES),
        page(
            "/my/appeals/{appeal_id:id}/attachments",
            add_attachments,
            methods=["POST"],
            roles=CANDIDATES,
        ),
        page(
            "/my/appeals/{appeal_id:id}/attachments/{attachment_id:id}",
            own_attachment,
            roles=CANDIDATES,
        ),
        page("/appeals", staff_list, roles=VIEWERS),
        page("/appeals/{appeal_id:id}", staff_appeal, roles=VIEWERS),
        page(
            "/appeals/{appeal_id:id}/attachments/{attachment_id:id}",
            staff_attachment,
            roles=VIEWERS,
        ),
        page(
            "/appeals/{appeal_id:id}/status",
            record_outcome,
            methods=["POST"],
            roles=APPEAL_HANDLERS,
        ),
        page(
            "/appeals/{appeal_id:id}/regrading",
            order_regrading,
            methods=["POST"],
            roles=APPEAL_HANDLERS,
        ),
        page("/appeals/{appeal_id:id}/decision", redecide, methods=["POST"], roles=DECIDERS),
    ]
