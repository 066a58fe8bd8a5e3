"""What the exam's page modules share (no routes here): the candidate's registration in the
path, where a candidate goes next before the exam, and data for a page's scripts."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse

from exam import queries
from exam.checkin import CheckInStep
from exam.models import Registration, Sitting
from web.endpoints import current_user, db, path_id


async def own_registration(request: Request) -> tuple[Registration, Sitting]:
    """The signed-in candidate's registration named in the path, with its sitting."""
    return await queries.candidate_registration(
        db(request), path_id(request, "registration_id"), current_user(request)
    )


def step_redirect(
    request: Request, registration: Registration, step: CheckInStep | None
) -> RedirectResponse:
    """To the check-in step still to do (``step``), or to the exam when none is left."""
    if step is CheckInStep.DECLARATION:
        return RedirectResponse(f"/exam/{registration.id}/rules", status_code=303)
    if step is CheckInStep.IDENTITY:
        url = request.state.checkin.identity_page_url(registration)
        return RedirectResponse(url or f"/exam/{registration.id}", status_code=303)
    return RedirectResponse(f"/exam/{registration.id}/take", status_code=303)


def script_json(data: Any) -> str:
    """JSON safe to put inside a <script> element: an answer containing "</script>" must not
    end it early."""
    return (
        json.dumps(data, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
