"""The staff's fee page: each registration's fee (due, paid or waived, with the invoice
reference), set one by one or imported from a CSV file."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from certification import fees
from certification.access import CERTIFICATION_STAFF
from certification.schemas import FeeStatus
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.rendering import render
from web.routes.certification.common import query_id


async def _render(
    request: Request,
    *,
    error: str | None = None,
    error_field: str | None = None,
    error_registration: int | None = None,
    details: list[str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    session = db(request)
    sitting_id = query_id(request, "sitting")
    sittings = await fees.sittings(session)
    return render(
        request,
        "certification/fees.html",
        {
            "rows": await fees.fee_rows(session, sitting_id=sitting_id),
            "sittings": sittings,
            "sitting_id": sitting_id,
            "statuses": list(FeeStatus),
            "error": error,
            "error_field": error_field,
            "error_registration": error_registration,
            "details": details or [],
            "values": values or {},
            "done": request.query_params.get("done"),
        },
        status_code=status_code,
    )


async def fee_page(request: Request) -> Response:
    """GET /staff/fees: the registrations with their fees, by sitting."""
    return await _render(request)


async def set_fee(request: Request) -> Response:
    """POST /staff/fees/registrations/{id}: record one registration's fee."""
    registration_id = path_id(request, "registration_id")
    form = await request.form()
    values = {
        "status": form_str(form, "status"),
        "invoice_reference": form_str(form, "invoice_reference"),
    }
    try:
        await fees.set_fee(
            db(request),
            registration_id=registration_id,
            status=values["status"],
            invoice_reference=values["invoice_reference"],
            actor=current_user(request),
            now=now(request),
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render(
            request, error=translate(request, exc.message, exc.params), error_field=exc.field,
            error_registration=registration_id, values=values, status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(f"/staff/fees?done=saved#fee-{registration_id}", status_code=303)


async def import_fees(request: Request) -> Response:
    """POST /staff/fees/import: import fees from a CSV file; nothing is stored when any line is
    wrong, and every wrong line is named."""
    form = await request.form(max_part_size=request.state.settings.max_upload_bytes)
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise VaktError(_l("Choose a CSV file."), field="file")
        count = await fees.import_fees(
            db(request),
            content=await upload.read(fees.MAX_IMPORT_BYTES + 1),
            actor=current_user(request),
            now=now(request),
        )
    except VaktError as exc:
        return await _render(
            request, error=translate(request, exc.message, exc.params), error_field="file",
            details=[translate(request, d) for d in exc.details], status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse(f"/staff/fees?done=imported&count={count}", status_code=303)


def routes() -> list[BaseRoute]:
    """The staff's fee pages."""
    staff = CERTIFICATION_STAFF
    return [
        page("/staff/fees", fee_page, roles=staff),
        page("/staff/fees/import", import_fees, methods=["POST"], roles=staff),
        page(
            "/staff/fees/registrations/{registration_id:id}",
            set_fee,
            methods=["POST"],
            roles=staff,
        ),
    ]
