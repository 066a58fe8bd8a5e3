"""The review workflow's steps from the item page: submit, approve, reject, retire."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from itembank import versions, workflow
from itembank.access import WORKFLOW_ROLES
from itembank.schemas import ItemStatus
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from vakt.text import unstorable_text
from web.endpoints import current_user, db, form_str, page
from web.i18n import translate
from web.routes.itembank.common import item_page, path_int


async def change_status(request: Request) -> Response:
    """A workflow step: submit for review, approve, reject (back to draft) or retire.

    A step refused (no comment for a rejection, a step out of order) shows the item again with
    the reason, at the comment field when the comment is at fault, and the comment kept."""
    form = await request.form()
    session = db(request)
    version_id = path_int(request, "version_id")
    typed = form.get("comment")
    typed_comment = typed if isinstance(typed, str) else ""
    try:
        comment = form_str(form, "comment")
        try:
            to_status = ItemStatus(form_str(form, "to"))
        except ValueError:
            raise VaktError(_l("Unknown status."), field="to") from None
        version = await workflow.transition(
            session,
            version_id=version_id,
            to_status=to_status,
            actor=current_user(request),
            comment=comment,
        )
    except VaktError as exc:
        if isinstance(exc, NotFound):
            raise
        shown = await versions.get_version(session, version_id)
        message = translate(request, exc.message, exc.params)
        at_comment = exc.field == "comment"
        return await item_page(
            request,
            shown.item_id,
            shown.number,
            error=None if at_comment else message,
            comment="" if unstorable_text(typed_comment) else typed_comment,
            comment_error=message if at_comment else None,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/items/{version.item_id}?version={version.number}", status_code=303)


def routes() -> list[BaseRoute]:
    """The workflow's route: open to every role that may take some step; which step a user may
    take is decided by the workflow."""
    return [
        page(
            "/items/versions/{version_id:id}/status",
            change_status,
            methods=["POST"],
            roles=WORKFLOW_ROLES,
        ),
    ]
