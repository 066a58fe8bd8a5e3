"""The candidate's "My page": sittings, accommodation requests, receipts, results, retakes and
certificates."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from certification import appeals, attachments, holders
from certification.certificates import local_date
from exam import accommodations, queries, seb
from exam.roles import CANDIDATES
from vakt import notifications
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web import proctoring_view
from web.endpoints import current_user, db, form_str, now, page, path_id
from web.i18n import translate
from web.rendering import render


async def _render_my_page(
    request: Request,
    *,
    error_for: int | None = None,
    error: str | None = None,
    form_values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    session, candidate, moment = db(request), current_user(request), now(request)
    views = await queries.my_registrations(session, candidate, moment, request.state.reviews)
    for view in views:
        if view.registration.id == error_for:
            view.error, view.form_values = error, form_values or {}
    return render(
        request,
        "candidate/my.html",
        {
            "now": moment,
            "registrations": views,
            "applications": await queries.applications_of(session, candidate),
            "retakes": await queries.retake_options(session, candidate, moment),
            "sent": request.query_params.get("sent"),
            "unread_messages": await notifications.unread_count(session, candidate),
            "certificates": await holders.certificates_of(
                session, candidate, local_date(moment, request.state.settings.timezone)
            ),
            "appeals": await appeals.appeal_options(
                session, candidate, request.state.settings.timezone
            ),
            "appeal_files": {
                "accept": attachments.ACCEPT,
                "max_files": attachments.MAX_FILES,
                "max_megabytes": attachments.MAX_BYTES // (1024 * 1024),
            },
            "today": local_date(moment, request.state.settings.timezone),
            "seb_registrations": await seb.requiring_seb(
                session, [view.registration.id for view in views]
            ),
            **(await proctoring_view.my_page_facts(request, [v.registration for v in views])),
        },
        status_code=status_code,
    )


async def my_page(request: Request) -> Response:
    """GET /my: the candidate's sittings, accommodations, results and retake options."""
    return await _render_my_page(request)


async def request_accommodation(request: Request) -> Response:
    """POST /my/registrations/{id}/accommodation: ask for extra time or other arrangements."""
    form = await request.form()
    values = {
        name: form_str(form, name) for name in ("extra_time_percent", "other_needs", "reason")
    }
    registration_id = path_id(request, "registration_id")
    try:
        raw = values["extra_time_percent"].strip() or "0"
        if not raw.isdigit() or len(raw) > 4:
            raise VaktError(
                _l("Extra time must be a whole number of percent, for example 25."),
                field="extra_time_percent",
            )
        await accommodations.request_accommodation(
            db(request),
            registration_id=registration_id,
            candidate=current_user(request),
            extra_time_percent=int(raw),
            reason=values["reason"],
            other_needs=values["other_needs"],
            now=now(request),
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_my_page(
            request,
            error_for=registration_id,
            error=translate(request, exc.message, exc.params),
            form_values=values,
            status_code=exc.status_code,
        )
    return RedirectResponse("/my?sent=accommodation", status_code=303)


def routes() -> list[BaseRoute]:
    """ "My page" routes."""
    return [
        page("/my", my_page, roles=CANDIDATES),
        page(
            "/my/registrations/{registration_id:id}/accommodation",
            request_accommodation,
            methods=["POST"],
            roles=CANDIDATES,
        ),
    ]
