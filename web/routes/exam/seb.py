"""Safe Exam Browser routes: the candidate's ``.seb`` download and the administrators' settings
page of a scheme (``exam.seb``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from exam import seb
from exam.roles import CANDIDATES, EXAM_ADMINISTRATORS
from itembank.models import Scheme
from vakt.errors import VaktError
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.rendering import render


async def download_config(request: Request) -> Response:
    """GET /exam/{id}/seb: the exam's Safe Exam Browser configuration (opening it starts SEB)."""
    download = await seb.config_for_registration(
        db(request), path_id(request, "registration_id"), current_user(request)
    )
    return Response(
        download.content,
        media_type=seb.MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{download.filename}"',
            "Cache-Control": "no-store",
        },
    )


def _form_values(policy: seb.SebPolicy) -> dict[str, object]:
    return {
        "required": policy.required,
        "start_url": policy.start_url,
        "has_quit_password": bool(policy.quit_password_hash),
        "browser_exam_keys": "\n".join(policy.browser_exam_keys),
    }


async def _render_settings(
    request: Request,
    scheme: Scheme,
    values: dict[str, object],
    *,
    error: str | None = None,
    error_field: str | None = None,
    saved: bool = False,
    config_key: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "staff/seb.html",
        {
            "scheme": scheme,
            "values": values,
            "labels": {name: translate(request, label) for name, label in seb.LABELS.items()},
            "error": error,
            "error_field": error_field,
            "saved": saved,
            "config_key": config_key,
            "default_start_url": request.state.settings.public_url.rstrip("/") + "/my",
        },
        status_code=status_code,
    )


async def settings_page(request: Request) -> Response:
    """GET /staff/schemes/{id}/seb: the scheme's Safe Exam Browser settings."""
    scheme, policy = await seb.scheme_policy(db(request), path_id(request, "scheme_id"))
    return await _render_settings(
        request,
        scheme,
        _form_values(policy),
        saved=request.query_params.get("saved") == "1",
        config_key=seb.policy_config_key(policy) if policy.required else None,
    )


async def settings_save(request: Request) -> Response:
    """POST /staff/schemes/{id}/seb: change the settings (every value validated)."""
    scheme_id = path_id(request, "scheme_id")
    form = await request.form()
    submitted = seb.SebForm(
        required=form_str(form, "required") == "on",
        start_url=form_str(form, "start_url"),
        quit_password=form_str(form, "quit_password"),
        clear_quit_password=form_str(form, "clear_quit_password") == "on",
        browser_exam_keys=form_str(form, "browser_exam_keys"),
    )
    try:
        await seb.set_policy(
            db(request),
            scheme_id=scheme_id,
            form=submitted,
            actor=current_user(request),
            now=now(request),
        )
    except VaktError as error:
        if error.status_code == 404:
            raise
        scheme, policy = await seb.scheme_policy(db(request), scheme_id)
        values = {
            "required": submitted.required,
            "start_url": submitted.start_url,
            "has_quit_password": bool(policy.quit_password_hash),
            "browser_exam_keys": submitted.browser_exam_keys,
        }
        return await _render_settings(
            request,
            scheme,
            values,
            error=translate(request, error.message, error.params),
            error_field=error.field,
            status_code=error.status_code,
        )
    return RedirectResponse(f"/staff/schemes/{scheme_id}/seb?saved=1", status_code=303)


def routes() -> list[BaseRoute]:
    """The SEB download and settings routes."""
    return [
        page("/exam/{registration_id:id}/seb", download_config, roles=CANDIDATES),
        page("/staff/schemes/{scheme_id:id}/seb", settings_page, roles=EXAM_ADMINISTRATORS),
        page(
            "/staff/schemes/{scheme_id:id}/seb",
            settings_save,
            methods=["POST"],
            roles=EXAM_ADMINISTRATORS,
            name="seb_settings_save",
        ),
    ]
