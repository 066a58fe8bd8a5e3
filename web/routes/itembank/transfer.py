"""Importing items (QTI items and packages, YAML) and exporting them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from itembank import schemes, transfer
from itembank.access import BANK_ROLES, WRITER_ROLES
from vakt.errors import VaktError
from vakt.i18n import _l
from web.endpoints import current_user, db, form_str, page
from web.i18n import translate
from web.rendering import render
from web.routes.itembank.common import small_int

IMPORT_LABELS = {
    transfer.ImportStatus.CREATED: _l("new item"),
    transfer.ImportStatus.NEW_VERSION: _l("new version"),
    transfer.ImportStatus.UNCHANGED: _l("unchanged"),
}


async def import_form(request: Request) -> Response:
    """The import page."""
    return render(
        request,
        "items/import.html",
        {"schemes": await schemes.list_schemes(db(request)), "report": None, "error": None},
    )


async def import_items(request: Request) -> Response:
    """Import QTI items, a QTI package or our YAML; all or nothing unless told to skip."""
    form = await request.form(max_part_size=request.state.settings.max_upload_bytes)
    session = db(request)
    upload = form.get("file")
    scheme_text = form_str(form, "scheme_id")
    context: dict[str, Any] = {
        "schemes": await schemes.list_schemes(session),
        "report": None,
        "import_labels": {k.value: translate(request, v) for k, v in IMPORT_LABELS.items()},
    }
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise VaktError(_l("Choose a file to import."), field="file")
        scheme_id = small_int(scheme_text)
        if scheme_id is None:
            raise VaktError(_l("Choose the scheme the items belong to."), field="scheme_id")
        report = await transfer.import_items(
            session,
            scheme_id=scheme_id,
            data=await upload.read(),
            filename=upload.filename,
            actor_id=current_user(request).id,
            skip_unsupported=bool(form.get("skip_unsupported")),
            dry_run=bool(form.get("dry_run")),
        )
    except VaktError as exc:
        context.update(
            error=translate(request, exc.message, exc.params),
            errors=[translate(request, d) for d in exc.details],
        )
        return render(request, "items/import.html", context, status_code=exc.status_code)
    context.update(
        report=report,
        problems=[translate(request, p.message_with_place()) for p in report.problems],
        error=None,
        dry_run=bool(form.get("dry_run")),
    )
    return render(request, "items/import.html", context)


async def export_items(request: Request) -> Response:
    """Download the items matching the list's filters (or the chosen ones) as QTI or YAML."""
    form = await request.form()
    fmt = form_str(form, "format") or "qti3"
    chosen_format = transfer.export_format(fmt)
    if chosen_format is None:
        raise VaktError(_l("Unknown export format."), field="format")
    chosen = [
        number
        for value in form.getlist("version")
        if isinstance(value, str) and (number := small_int(value)) is not None
    ]
    data, media_type, filename = await transfer.export_for_download(
        db(request),
        version_ids=chosen,
        scheme_id=None if chosen else small_int(form_str(form, "scheme_id")),
        fmt=chosen_format,
        actor_id=current_user(request).id,
    )
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


def routes() -> list[BaseRoute]:
    """Import is for writers; export (keys and guides included) for the bank's roles."""
    return [
        page("/items/import", import_form, roles=WRITER_ROLES),
        page(
            "/items/import", import_items, methods=["POST"], roles=WRITER_ROLES, name="import_items"
        ),
        page("/items/export", export_items, methods=["POST"], roles=BANK_ROLES),
    ]
