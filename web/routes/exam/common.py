"""What the exam's page modules share (no routes here): the candidate's registration in the
path, where a candidate goes next before the exam, and data for a page's scripts."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse

from exam import queries
from exam.checkin import CheckInStep, IdentityStatus
from exam.models import Registration, Sitting
from vakt.i18n import _l
from web.endpoints import current_user, db, path_id
from web.i18n import translate

# The way into the exam, in order: (key, label). The identity step is left out when the
# check-in has none.
_STEPS = (
    ("check", _l("System check")),
    ("rules", _l("Code of conduct and self-declaration")),
    ("identity", _l("Identity check")),
    ("exam", _l("Exam")),
)


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


async def checkin_steps(
    request: Request, registration: Registration, current: str
) -> list[dict[str, str]]:
    """The step indicator's steps (key, label, state "done", "current" or "todo"), with
    ``current`` (a step key) the page being shown; the identity step only where the sitting
    has one."""
    keys = [key for key, _label in _STEPS]
    if current not in keys:
        raise ValueError(f"unknown check-in step {current!r}")
    identity = await request.state.checkin.identity_status(db(request), registration)
    with_identity = identity is not IdentityStatus.NOT_REQUIRED
    position = keys.index(current)
    return [
        {
            "key": key,
            "label": translate(request, label),
            "state": "done" if index < position else "current" if index == position else "todo",
        }
        for index, (key, label) in enumerate(_STEPS)
        if key != "identity" or with_identity
    ]
