"""The bank's pages: search, the editor (create, edit), an item, previews, comparisons, files."""

from __future__ import annotations

from typing import Any, NoReturn

from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from itembank import compare, files, queries, schemes, versions
from itembank.access import BANK_ROLES, WRITER_ROLES
from itembank.files import FileUpload
from itembank.schemas import ItemType, validate_input
from vakt.errors import VaktError
from vakt.i18n import Message, _l
from web.endpoints import current_user, db, form_str, page
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
from web.rendering import render
from web.routes.itembank.common import (
    enum_param,
    int_param,
    item_page,
    item_query,
    labels,
    path_int,
    small_int,
)

TYPE_CHANGED = _l(
    "The form now shows the fields for the type you chose. Check them, then save again."
)
CHOOSE_TYPE = _l("Choose the item's type.")


async def item_list(request: Request) -> Response:
    """Search and filter the bank."""
    query = item_query(request)
    listing = await queries.bank_listing(db(request), query)
    return render(
        request,
        "items/list.html",
        {
            "results": listing.results,
            "query": query,
            "schemes": listing.schemes,
            "tags": listing.tags,
            "marked": listing.marked,
            "query_string": request.url.query,
            **labels(request),
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
    return render(
        request,
        "items/edit.html",
        {
            "state": state,
            "item_id": item_id,
            "scheme_id": scheme_id,
            "schemes": await schemes.list_schemes(db(request)),
            "errors": errors or [],
            "error": error,
            "field_errors": field_messages or {},
            "notice": notice,
            "item_types": ITEM_TYPES,
            "question_types": QUESTION_TYPES,
            **labels(request),
        },
        status_code=status_code,
    )


async def new_item_form(request: Request) -> Response:
    """A blank editor for an item of the chosen type."""
    item_type = enum_param(request, "type", ItemType) or ItemType.SINGLE_CHOICE
    state = editor_state({"type": item_type.value})
    return await _editor(request, state=state, item_id=None, scheme_id=int_param(request, "scheme"))


async def _uploads(form: FormData) -> list[FileUpload]:
    uploads: list[FileUpload] = []
    for value in form.getlist("files"):
        if isinstance(value, UploadFile) and value.filename:
            uploads.append(FileUpload(name=value.filename, data=await value.read()))
    return uploads


def _refuse_document(exc: ValidationError, found: dict[str, list[Message]]) -> NoReturn:
    found.update(field_errors(exc))
    raise versions.invalid_document(exc) from None


async def _save(request: Request, item_id: int | None) -> Response:
    form = await request.form(max_part_size=request.state.settings.max_upload_bytes)
    session = db(request)
    user = current_user(request)
    existing: list[str] = []
    if item_id is not None:
        latest = await versions.latest_version(session, item_id)
        existing = [f.name for f in latest.files]
    uploads = await _uploads(form)
    data = document_data(
        form, attachments=existing + [u.name for u in uploads if u.name not in existing]
    )
    scheme_id = small_int(form_str(form, "scheme_id"))
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
            if scheme_id is None or await schemes.find_scheme(session, scheme_id) is None:
                raise VaktError(_l("Choose the scheme the item belongs to."), field="scheme_id")
            version = await versions.create_item(
                session, scheme_id=scheme_id, document=document, files=uploads, actor_id=user.id,
                change_note=form_str(form, "change_note"),
            )  # fmt: skip
        else:
            version = await versions.create_version(
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
    item_id = path_int(request, "item_id")
    latest = await versions.latest_version(db(request), item_id)
    state = document_state(versions.document_of(latest))
    return await _editor(request, state=state, item_id=item_id, scheme_id=latest.item.scheme_id)


async def edit_item(request: Request) -> Response:
    """Save an edit as a new version."""
    return await _save(request, path_int(request, "item_id"))


async def item_detail(request: Request) -> Response:
    """An item: its newest version in full, its versions, its review history and the next steps."""
    return await item_page(request, path_int(request, "item_id"), int_param(request, "version"))


async def preview(request: Request) -> Response:
    """A version exactly as a candidate will see it (no key, no guide)."""
    shown = await queries.preview(db(request), path_int(request, "version_id"))
    version = shown.version
    return render(
        request,
        "items/preview.html",
        {
            "version": version,
            "view": shown.view,
            "file_base": f"/items/versions/{version.id}/files/",
        },
    )


async def compare_versions(request: Request) -> Response:
    """Two versions of an item side by side, with the changed fields listed."""
    item_id = path_int(request, "item_id")
    old_number, new_number = int_param(request, "a"), int_param(request, "b")
    comparison = await compare.compare_versions(db(request), item_id, old_number, new_number)
    return render(
        request,
        "items/compare.html",
        {
            "item": comparison.item,
            "old": comparison.old,
            "new": comparison.new,
            "changes": comparison.changes,
            "versions": comparison.versions,
        },
    )


async def version_file(request: Request) -> Response:
    """A file of a version (images in the text, case documents)."""
    media_type, data = await files.read_file(
        db(request), path_int(request, "version_id"), request.path_params["name"]
    )
    return Response(
        data, media_type=media_type, headers=item_file_headers(media_type, "private, max-age=3600")
    )


def routes() -> list[BaseRoute]:
    """The bank's pages: reading for the bank's roles, writing for writers."""
    return [
        page("/items", item_list, roles=BANK_ROLES),
        page("/items/new", new_item_form, roles=WRITER_ROLES),
        page("/items/new", create_item, methods=["POST"], roles=WRITER_ROLES, name="create_item"),
        page("/items/{item_id:id}", item_detail, roles=BANK_ROLES),
        page("/items/{item_id:id}/edit", edit_item_form, roles=WRITER_ROLES),
        page(
            "/items/{item_id:id}/edit",
            edit_item,
            methods=["POST"],
            roles=WRITER_ROLES,
            name="edit_item",
        ),
        page("/items/{item_id:id}/compare", compare_versions, roles=BANK_ROLES, name="compare"),
        page("/items/versions/{version_id:id}/preview", preview, roles=BANK_ROLES),
        page("/items/versions/{version_id:id}/files/{name:path}", version_file, roles=BANK_ROLES),
    ]
