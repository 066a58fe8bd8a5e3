"""The holder's certificate pages: the PDF of their own certificate (another's is a 404), the
report of a change (the holder's duty to report) and the application for recertification,
both sent from My page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from certification import holders, recertification
from certification.certificates import local_date
from exam.roles import CANDIDATES
from vakt.errors import NotFound, VaktError
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.rendering import render


async def certificate_pdf(request: Request) -> Response:
    """GET /my/certificates/{id}/pdf: the holder's own certificate as a PDF."""
    settings = request.state.settings
    name, content = await holders.certificate_pdf(
        db(request),
        holder=current_user(request),
        certificate_id=path_id(request, "certificate_id"),
        body_name=settings.body_name,
        public_url=settings.public_url,
        signing_key=settings.signing_key,
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


def _form(
    request: Request, *, text: str = "", error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "certification/report_change.html",
        {"text": text, "error": error},
        status_code=status_code,
    )


async def change_form(request: Request) -> Response:
    """GET /my/changes: the form to report a change (also on My page)."""
    return _form(request)


async def report_change(request: Request) -> Response:
    """POST /my/changes: send the report; staff see it in their list."""
    text = form_str(await request.form(), "text")
    try:
        await holders.report_change(
            db(request), holder=current_user(request), text=text, now=now(request)
        )
    except NotFound:
        raise
    except VaktError as exc:
        return _form(
            request,
            text=text,
            error=translate(request, exc.message, exc.params),
            status_code=exc.status_code,
        )
    return RedirectResponse("/my?sent=change#certificates-heading", status_code=303)


async def apply_recertification(request: Request) -> Response:
    """POST /my/certificates/{id}/recertification: apply to renew, with evidence; an error
    comes back on a page of its own with the evidence as typed."""
    evidence = form_str(await request.form(), "evidence")
    certificate_id = path_id(request, "certificate_id")
    moment = now(request)
    try:
        await recertification.apply(
            db(request), holder=current_user(request), certificate_id=certificate_id,
            evidence=evidence, today=local_date(moment, request.state.settings.timezone),
            now=moment,
        )  # fmt: skip
    except NotFound:
        raise
    except VaktError as exc:
        return render(
            request, "certification/recertification_form.html",
            {"certificate_id": certificate_id, "evidence": evidence,
             "error": translate(request, exc.message, exc.params)},
            status_code=exc.status_code,
        )  # fmt: skip
    return RedirectResponse("/my?sent=recertification#certificates-heading", status_code=303)


def routes() -> list[BaseRoute]:
    """The holder's certificate pages."""
    return [
        page("/my/certificates/{certificate_id:id}/pdf", certificate_pdf, roles=CANDIDATES),
        page("/my/changes", change_form, roles=CANDIDATES),
        page("/my/changes", report_change, methods=["POST"], roles=CANDIDATES),
        page(
            "/my/certificates/{certificate_id:id}/recertification",
            apply_recertification,
            methods=["POST"],
            roles=CANDIDATES,
        ),
    ]
