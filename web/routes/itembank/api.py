"""The bank's JSON API: search, items and versions, new items and versions, workflow steps."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from itembank import search, versions, workflow
from itembank.access import BANK_ROLES, WORKFLOW_ROLES, WRITER_ROLES
from itembank.models import ItemVersion
from itembank.schemas import ItemStatus
from vakt.errors import VaktError
from vakt.i18n import _l
from web.endpoints import api, current_user, db
from web.inputs import json_object
from web.routes.itembank.common import LARGEST_ID, item_query, path_int


def _version_json(version: ItemVersion, *, full: bool) -> dict[str, Any]:
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
    results = await search.search_items(db(request), item_query(request))
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
    all_versions = await versions.list_versions(db(request), path_int(request, "item_id"))
    return JSONResponse(
        {
            "latest": _version_json(all_versions[-1], full=True),
            "versions": [_version_json(v, full=False) for v in all_versions],
        }
    )


async def api_version(request: Request) -> Response:
    """GET /api/items/versions/{version_id}: one version in full."""
    version = await versions.get_version(db(request), path_int(request, "version_id"))
    return JSONResponse(_version_json(version, full=True))


def _text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise VaktError(_l("{name} must be text."), field=name, name=name)
    return value


async def api_create_item(request: Request) -> Response:
    """POST /api/items {scheme_id, document}: create an item (first version, draft)."""
    body = await json_object(request)
    scheme_id = body.get("scheme_id")
    if (
        not isinstance(scheme_id, int)
        or isinstance(scheme_id, bool)
        or not 0 < scheme_id <= LARGEST_ID
    ):
        raise VaktError(_l("scheme_id must be a whole number."), field="scheme_id")
    document = versions.parse_document(body.get("document") or {})
    version = await versions.create_item(
        db(request), scheme_id=scheme_id, document=document, actor_id=current_user(request).id
    )
    return JSONResponse(_version_json(version, full=True), status_code=201)


async def api_create_version(request: Request) -> Response:
    """POST /api/items/{item_id}/versions {document, change_note}: a new version."""
    body = await json_object(request)
    document = versions.parse_document(body.get("document") or {})
    version = await versions.create_version(
        db(request),
        item_id=path_int(request, "item_id"),
        document=document,
        actor_id=current_user(request).id,
        change_note=_text_field(body, "change_note"),
    )
    return JSONResponse(_version_json(version, full=True), status_code=201)


async def api_transition(request: Request) -> Response:
    """POST /api/items/versions/{version_id}/status {to, comment}: a workflow step."""
    body = await json_object(request)
    try:
        to_status = ItemStatus(str(body.get("to", "")))
    except ValueError:
        raise VaktError(_l("Unknown status."), field="to") from None
    version = await workflow.transition(
        db(request),
        version_id=path_int(request, "version_id"),
        to_status=to_status,
        actor=current_user(request),
        comment=_text_field(body, "comment"),
    )
    return JSONResponse(_version_json(version, full=False))


def routes() -> list[BaseRoute]:
    """The bank's API, with the same roles as its pages."""
    return [
        api("/api/items", api_items, roles=BANK_ROLES),
        api(
            "/api/items",
            api_create_item,
            methods=["POST"],
            roles=WRITER_ROLES,
            name="api_create_item",
        ),
        api("/api/items/{item_id:id}", api_item, roles=BANK_ROLES),
        api(
            "/api/items/{item_id:id}/versions",
            api_create_version,
            methods=["POST"],
            roles=WRITER_ROLES,
        ),
        api("/api/items/versions/{version_id:id}", api_version, roles=BANK_ROLES),
        api(
            "/api/items/versions/{version_id:id}/status",
            api_transition,
            methods=["POST"],
            roles=WORKFLOW_ROLES,
        ),
    ]
