"""The item bank's pages and API: search, create, edit, preview, compare, review, import, export.

Only item writers, reviewers and administrators reach any of these routes; the item's key and
grading guide are shown only here.
"""

from __future__ import annotations

from typing import Any, NoReturn
from urllib.parse import quote

from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from itembank import service, transfer
from itembank.models import Scheme
from itembank.schemas import (
    STATUS_LABELS,
    TYPE_LABELS,
    ItemStatus,
    ItemType,
    ScoringRule,
    candidate_view,
    validate_input,
)
from itembank.service import BANK_ROLES, FileUpload, ItemQuery
from vakt import audit
from vakt.accounts import Role
from vakt.errors import NotFound, VaktError
from vakt.i18n import Message, _l
from vakt.text import UNSTORABLE_TEXT, unstorable_text
from web.endpoints import api, current_user, db, form_str, page
from web.forms.items import (
    ITEM_TYPES,
    QUESTION_TYPES,
    document_data,
    document_state,
    editor_state,
    field_errors,
    item_type_of,
    type_changed,
)
from web.headers import item_file_headers
from web.i18n import translate
from web.inputs import json_object
from web.rendering import render

IMPORT_LABELS = {
    transfer.ImportStatus.CREATED: _l("new item"),
    transfer.ImportStatus.NEW_VERSION: _l("new version"),
    transfer.ImportStatus.UNCHANGED: _l("unchanged"),
}
SCORING_LABELS = {
    ScoringRule.ALL_OR_NOTHING: _l("All or nothing"),
    ScoringRule.PER_OPTION: _l("Partial credit: + for each right option, − for each wrong one"),
    ScoringRule.MAPPED: _l("Partial credit: a value for each option"),
}


def _labels(request: Request) -> dict[str, Any]:
    return {
        "type_labels": {k.value: translate(request, v) for k, v in TYPE_LABELS.items()},
        "status_labels": {k.value: translate(request, v) for k, v in STATUS_LABELS.items()},
        "scoring_labels": {k.value: translate(request, v) for k, v in SCORING_LABELS.items()},
    }


LARGEST_ID = 2**31 - 1
"""Ids and numbers are 32-bit integers in the database; a larger one names nothing."""


def _small_int(text: str) -> int | None:
    """A whole number the database can hold, or None."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > LARGEST_ID:
        return None
    return int(text)


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    number = _small_int(value)
    if number is None:
        raise VaktError(_l("{name} must be a whole number."), field=name, name=name)
    return number


def _path_int(request: Request, name: str) -> int:
    number = _small_int(str(request.path_params[name]))
    if number is None:
        raise NotFound(_l("The page you asked for does not exist."))
    return number


def _text_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()[:200]
    if unstorable_text(value):
        raise VaktError(UNSTORABLE_TEXT, field=name)
    return value or None


def _enum_param(request: Request, name: str, enum: type[Any]) -> Any:
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        raise VaktError(_l("Unknown value for {name}."), field=name, name=name) from None


def _query(request: Request) -> ItemQuery:
    return ItemQuery(
        scheme_id=_int_param(request, "scheme"),
        item_type=_enum_param(request, "type", ItemType),
        status=_enum_param(request, "status", ItemStatus),
        tag=_text_param(request, "tag"),
        text=_text_param(request, "q"),
        page=_int_param(request, "page") or 1,
    )


# ---- pages --------------------------------------------------------------------------------------


async def item_list(request: Request) -> Response:
    """Search and filter the bank."""
    query = _query(request)
    session = db(request)
    results = await service.search_items(session, query)
    return render(
        request,
        "items/list.html",
        {
            "results": results,
            "query": query,
            "schemes": await service.list_schemes(session),
            "tags": await service.all_tags(session),
            "query_string": request.url.query,
            **_labels(request),
        },
    )


async def _editor(
    request: Request,
    *,
    state: dict[str, Any],
    item_id: int | None,
    scheme_id: int | None,
    errors: list[str] | None = None,
    error: str | None = None,
    field_messages: dict[str, list[str]] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    session = db(request)
    return render(
        request,
        "items/edit.html",
        {
            "state": state,
            "item_id": item_id,
            "scheme_id": scheme_id,
            "schemes": await service.list_schemes(session),
            "errors": errors or [],
            "error": error,
            "field_errors": field_messages or {},
            "notice": notice,
            "item_types": ITEM_TYPES,
            "question_types": QUESTION_TYPES,
            **_labels(request),
        },
        status_code=status_code,
    )


async def new_item_form(request: Request) -> Response:
    """A blank editor for an item of the chosen type."""
    item_type = _enum_param(request, "type", ItemType) or ItemType.SINGLE_CHOICE
    state = editor_state({"type": item_type.value})
    return await _editor(
        request, state=state, item_id=None, scheme_id=_int_param(request, "scheme")
    )


async def _uploads(form: FormData) -> list[FileUpload]:
    uploads: list[FileUpload] = []
    for value in form.getlist("files"):
        if isinstance(value, UploadFile) and value.filename:
            uploads.append(FileUpload(name=value.filename, data=await value.read()))
    return uploads


TYPE_CHANGED = _l(
    "The form now shows the fields for the type you chose. Check them, then save again."
)
CHOOSE_TYPE = _l("Choose the item's type.")


def _refuse_document(exc: ValidationError, found: dict[str, list[Message]]) -> NoReturn:
    found.update(field_errors(exc))
    raise service.invalid_document(exc) from None


async def _save(request: Request, item_id: int | None) -> Response:
    form = await request.form(max_part_size=request.state.settings.max_upload_bytes)
    session = db(request)
    user = current_user(request)
    existing: list[str] = []
    if item_id is not None:
        latest = await service.latest_version(session, item_id)
        existing = [f.name for f in latest.files]
    uploads = await _uploads(form)
    data = document_data(
        form, attachments=existing + [u.name for u in uploads if u.name not in existing]
    )
    scheme_id = _small_int(form_str(form, "scheme_id"))
    action = form_str(form, "action")
    # Uploads are not kept when the form is shown again, so it lists only the stored files.
    shown_again = {**data, "attachments": [n for n in data["attachments"] if n in existing]}
    if action in ("add_question", "update") or type_changed(form):
        return await _editor(
            request,
            state=editor_state(shown_again, extra_question=action == "add_question"),
            item_id=item_id,
            scheme_id=scheme_id,
            notice=None
            if action in ("add_question", "update")
            else translate(request, TYPE_CHANGED),
        )
    found: dict[str, list[Message]] = {}
    try:
        if item_type_of(form) is None:
            raise VaktError(CHOOSE_TYPE, field="type")
        try:
            document = validate_input(data)
        except ValidationError as exc:
            _refuse_document(exc, found)
        if item_id is None:
            if scheme_id is None or await session.get(Scheme, scheme_id) is None:
                raise VaktError(_l("Choose the scheme the item belongs to."), field="scheme_id")
            version = await service.create_item(
                session, scheme_id=scheme_id, document=document, files=uploads, actor_id=user.id,
                change_note=form_str(form, "change_note"),
            )  # fmt: skip
        else:
            version = await service.create_version(
                session, item_id=item_id, document=document, files=uploads, actor_id=user.id,
                change_note=form_str(form, "change_note"),
            )  # fmt: skip
    except VaktError as exc:
        if exc.field:
            found.setdefault(exc.field, []).append(Message(exc.message, exc.params))
        return await _editor(
            request,
            state=editor_state(shown_again),
            item_id=item_id,
            scheme_id=scheme_id,
            error=translate(request, exc.message, exc.params),
            errors=[translate(request, d) for d in exc.details],
            field_messages={
                name: [translate(request, m) for m in messages] for name, messages in found.items()
            },
            status_code=exc.status_code if exc.status_code != 400 else 422,
        )
    return RedirectResponse(f"/items/{version.item_id}?saved={version.number}", status_code=303)


async def create_item(request: Request) -> Response:
    """Save a new item (its first version, a draft)."""
    return await _save(request, None)


async def edit_item_form(request: Request) -> Response:
    """The editor, filled with the newest version."""
    item_id = _path_int(request, "item_id")
    latest = await service.latest_version(db(request), item_id)
    state = document_state(service.document_of(latest))
    return await _editor(request, state=state, item_id=item_id, scheme_id=latest.item.scheme_id)


async def edit_item(request: Request) -> Response:
    """Save an edit as a new version."""
    return await _save(request, _path_int(request, "item_id"))


async def _item_page(
    request: Request,
    item_id: int,
    version_number: int | None,
    *,
    error: str | None = None,
    comment: str = "",
    comment_error: str | None = None,
    status_code: int = 200,
) -> Response:
    session = db(request)
    versions = await service.list_versions(session, item_id)
    shown = next((v for v in versions if v.number == version_number), versions[-1])
    return render(
        request,
        "items/detail.html",
        {
            "item": shown.item,
            "version": shown,
            "latest": versions[-1],
            "document": service.document_of(shown),
            "versions": versions,
            "history": await service.review_history(session, item_id),
            "saved": request.query_params.get("saved"),
            "error": error,
            "comment": comment,
            "comment_error": comment_error,
            **_labels(request),
        },
        status_code=status_code,
    )


async def item_detail(request: Request) -> Response:
    """An item: its newest version in full, its versions, its review history and the next steps."""
    return await _item_page(request, _path_int(request, "item_id"), _int_param(request, "version"))


async def preview(request: Request) -> Response:
    """A version exactly as a candidate will see it (no key, no guide)."""
    version = await service.get_version(db(request), _path_int(request, "version_id"))
    view = candidate_view(service.document_of(version))
    return render(
        request,
        "items/preview.html",
        {"version": version, "view": view, "file_base": f"/items/versions/{version.id}/files/"},
    )


async def compare(request: Request) -> Response:
    """Two versions of an item side by side, with the changed fields listed."""
    session = db(request)
    item_id = _path_int(request, "item_id")
    versions = await service.list_versions(session, item_id)
    by_number = {v.number: v for v in versions}
    a_number = _int_param(request, "a") or (versions[-2].number if len(versions) > 1 else 1)
    b_number = _int_param(request, "b") or versions[-1].number
    if a_number not in by_number or b_number not in by_number:
        raise NotFound(_l("No such item version."))
    old, new = by_number[a_number], by_number[b_number]
    changes = service.compare_documents(service.document_of(old), service.document_of(new))
    return render(
        request,
        "items/compare.html",
        {"item": old.item, "old": old, "new": new, "changes": changes, "versions": versions},
    )


async def change_status(request: Request) -> Response:
    """A workflow step: submit for review, approve, reject (back to draft) or retire.

    A step refused (no comment for a rejection, a step out of order) shows the item again with
    the reason, at the comment field when the comment is at fault, and the comment kept."""
    form = await request.form()
    session = db(request)
    version_id = _path_int(request, "version_id")
    typed = form.get("comment")
    typed_comment = typed if isinstance(typed, str) else ""
    try:
        comment = form_str(form, "comment")
        try:
            to_status = ItemStatus(form_str(form, "to"))
        except ValueError:
            raise VaktError(_l("Unknown status."), field="to") from None
        version = await service.transition(
            session,
            version_id=version_id,
            to_status=to_status,
            actor=current_user(request),
            comment=comment,
        )
    except VaktError as exc:
        if isinstance(exc, NotFound):
            raise
        shown = await service.get_version(session, version_id)
        message = translate(request, exc.message, exc.params)
        at_comment = exc.field == "comment"
        return await _item_page(
            request,
            shown.item_id,
            shown.number,
            error=None if at_comment else message,
            comment="" if unstorable_text(typed_comment) else typed_comment,
            comment_error=message if at_comment else None,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/items/{version.item_id}?version={version.number}", status_code=303)


async def version_file(request: Request) -> Response:
    """A file of a version (images in the text, case documents)."""
    media_type, data = await service.read_file(
        db(request), _path_int(request, "version_id"), request.path_params["name"]
    )
    return Response(
        data, media_type=media_type, headers=item_file_headers(media_type, "private, max-age=3600")
    )


async def import_form(request: Request) -> Response:
    """The import page."""
    session = db(request)
    return render(
        request,
        "items/import.html",
        {"schemes": await service.list_schemes(session), "report": None, "error": None},
    )


async def import_items(request: Request) -> Response:
    """Import QTI items, a QTI package or our YAML; all or nothing unless told to skip."""
    form = await request.form(max_part_size=request.state.settings.max_upload_bytes)
    session = db(request)
    upload = form.get("file")
    scheme_text = form_str(form, "scheme_id")
    context: dict[str, Any] = {
        "schemes": await service.list_schemes(session),
        "report": None,
        "import_labels": {k.value: translate(request, v) for k, v in IMPORT_LABELS.items()},
    }
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise VaktError(_l("Choose a file to import."), field="file")
        scheme_id = _small_int(scheme_text)
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
    session = db(request)
    fmt = form_str(form, "format") or "qti3"
    if fmt not in ("qti3", "qti21", "yaml"):
        raise VaktError(_l("Unknown export format."), field="format")
    chosen = [
        number
        for value in form.getlist("version")
        if isinstance(value, str) and (number := _small_int(value)) is not None
    ]
    if not chosen:
        query = ItemQuery(scheme_id=_small_int(form_str(form, "scheme_id")), per_page=100_000)
        chosen = [v.id for v in (await service.search_items(session, query)).rows]
    if not chosen:
        raise VaktError(_l("There are no items to export."))
    data, media_type, filename = await transfer.export_items(session, version_ids=chosen, fmt=fmt)  # type: ignore[arg-type]
    await audit.record(
        session,
        actor_id=current_user(request).id,
        action="item.export",
        entity_type="item_version",
        entity_id=",".join(map(str, chosen[:20])) + ("…" if len(chosen) > 20 else ""),
        after={"format": fmt, "count": len(chosen)},
    )
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


# ---- JSON API -----------------------------------------------------------------------------------


def _version_json(version: Any, *, full: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "item_id": version.item_id,
        "version_id": version.id,
        "number": version.number,
        "external_id": version.item.external_id,
        "scheme_id": version.item.scheme_id,
        "title": version.title,
        "type": version.item_type,
        "language": version.language,
        "status": version.status,
        "tags": version.tag_names,
        "max_points": version.max_points,
        "created_at": version.created_at.isoformat(),
    }
    if full:
        body["document"] = version.document
        body["files"] = [{"name": f.name, "media_type": f.media_type} for f in version.files]
    return body


async def api_items(request: Request) -> Response:
    """GET /api/items: the newest version of each matching item (filters as on the list page)."""
    results = await service.search_items(db(request), _query(request))
    return JSONResponse(
        {
            "items": [_version_json(v, full=False) for v in results.rows],
            "total": results.total,
            "page": results.page,
            "pages": results.pages,
        }
    )


async def api_item(request: Request) -> Response:
    """GET /api/items/{item_id}: every version of an item, the newest in full."""
    versions = await service.list_versions(db(request), _path_int(request, "item_id"))
    return JSONResponse(
        {
            "latest": _version_json(versions[-1], full=True),
            "versions": [_version_json(v, full=False) for v in versions],
        }
    )


async def api_version(request: Request) -> Response:
    """GET /api/items/versions/{version_id}: one version in full."""
    version = await service.get_version(db(request), _path_int(request, "version_id"))
    return JSONResponse(_version_json(version, full=True))


async def _json_body(request: Request) -> dict[str, Any]:
    return await json_object(request)


def _text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise VaktError(_l("{name} must be text."), field=name, name=name)
    return value


async def api_create_item(request: Request) -> Response:
    """POST /api/items {scheme_id, document}: create an item (first version, draft)."""
    body = await _json_body(request)
    scheme_id = body.get("scheme_id")
    if (
        not isinstance(scheme_id, int)
        or isinstance(scheme_id, bool)
        or not 0 < scheme_id <= LARGEST_ID
    ):
        raise VaktError(_l("scheme_id must be a whole number."), field="scheme_id")
    document = service.parse_document(body.get("document") or {})
    version = await service.create_item(
        db(request), scheme_id=scheme_id, document=document, actor_id=current_user(request).id
    )
    return JSONResponse(_version_json(version, full=True), status_code=201)


async def api_create_version(request: Request) -> Response:
    """POST /api/items/{item_id}/versions {document, change_note}: a new version."""
    body = await _json_body(request)
    document = service.parse_document(body.get("document") or {})
    version = await service.create_version(
        db(request),
        item_id=_path_int(request, "item_id"),
        document=document,
        actor_id=current_user(request).id,
        change_note=_text_field(body, "change_note"),
    )
    return JSONResponse(_version_json(version, full=True), status_code=201)


async def api_transition(request: Request) -> Response:
    """POST /api/items/versions/{version_id}/status {to, comment}: a workflow step."""
    body = await _json_body(request)
    try:
        to_status = ItemStatus(str(body.get("to", "")))
    except ValueError:
        raise VaktError(_l("Unknown status."), field="to") from None
    version = await service.transition(
        db(request),
        version_id=_path_int(request, "version_id"),
        to_status=to_status,
        actor=current_user(request),
        comment=_text_field(body, "comment"),
    )
    return JSONResponse(_version_json(version, full=False))


def routes() -> list[BaseRoute]:
    """Item bank routes; every one is limited to the bank's roles."""
    roles = BANK_ROLES
    writers = (Role.ITEM_WRITER, Role.ADMINISTRATOR)
    return [
        page("/items", item_list, roles=roles),
        page("/items/new", new_item_form, roles=writers),
        page("/items/new", create_item, methods=["POST"], roles=writers, name="create_item"),
        page("/items/import", import_form, roles=writers),
        page("/items/import", import_items, methods=["POST"], roles=writers, name="import_items"),
        page("/items/export", export_items, methods=["POST"], roles=roles),
        page("/items/{item_id:id}", item_detail, roles=roles),
        page("/items/{item_id:id}/edit", edit_item_form, roles=writers),
        page(
            "/items/{item_id:id}/edit",
            edit_item,
            methods=["POST"],
            roles=writers,
            name="edit_item",
        ),
        page("/items/{item_id:id}/compare", compare, roles=roles),
        page("/items/versions/{version_id:id}/preview", preview, roles=roles),
        page(
            "/items/versions/{version_id:id}/status", change_status, methods=["POST"], roles=roles
        ),
        page("/items/versions/{version_id:id}/files/{name:path}", version_file, roles=roles),
        api("/api/items", api_items, roles=roles),
        api("/api/items", api_create_item, methods=["POST"], roles=writers, name="api_create_item"),
        api("/api/items/{item_id:id}", api_item, roles=roles),
        api(
            "/api/items/{item_id:id}/versions", api_create_version, methods=["POST"], roles=writers
        ),
        api("/api/items/versions/{version_id:id}", api_version, roles=roles),
        api(
            "/api/items/versions/{version_id:id}/status",
            api_transition,
            methods=["POST"],
            roles=roles,
        ),
    ]
