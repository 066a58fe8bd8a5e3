"""The review workflow: draft -> in review -> approved -> retired, and its history.

Who may take which step is ``itembank.access.STEP_ROLES``. Every step is kept as a review event
with its comment, and written to the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank.access import STEP_ROLES
from itembank.checks import refuse_unstorable
from itembank.models import ItemVersion, ReviewEvent
from itembank.schemas import STATUS_LABELS, ItemStatus
from itembank.versions import get_version, latest_version
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, Forbidden, VaktError
from vakt.i18n import _l


async def transition(
    session: AsyncSession,
    *,
    version_id: int,
    to_status: ItemStatus,
    actor: User,
    comment: str = "",
) -> ItemVersion:
    """Move a version through the workflow: draft -> in review -> approved -> retired.

    A reviewer sends a version back to draft (a rejection) with a comment. Nobody approves a
    version they wrote. Approving a version retires the item's previously approved version.
    """
    version = await get_version(session, version_id)
    from_status = ItemStatus(version.status)
    allowed_roles = STEP_ROLES.get((from_status, to_status))
    if allowed_roles is None:
        raise Conflict(
            _l("A version that is {from_status} cannot become {to_status}."),
            from_status=STATUS_LABELS[from_status],
            to_status=STATUS_LABELS[to_status],
        )
    if not actor.has_any(*allowed_roles):
        raise Forbidden(_l("Your roles do not allow this step."))
    comment = comment.strip()
    refuse_unstorable(comment, "comment")
    if len(comment) > 5000:
        raise VaktError(_l("The comment is too long (at most 5000 characters)."), field="comment")
    if to_status is ItemStatus.APPROVED and version.author_id == actor.id:
        raise Forbidden(_l("You wrote this version, so someone else must review it."))
    rejecting = from_status is ItemStatus.IN_REVIEW and to_status is ItemStatus.DRAFT
    if (rejecting or to_status is ItemStatus.RETIRED) and not comment:
        raise VaktError(_l("Say why in a comment."), field="comment")
    latest = await latest_version(session, version.item_id)
    if to_status is ItemStatus.IN_REVIEW and latest.id != version.id:
        raise Conflict(_l("Only the newest version of an item can be sent to review."))
    if to_status is ItemStatus.APPROVED:
        previous = await session.scalars(
            select(ItemVersion).where(
                ItemVersion.item_id == version.item_id,
                ItemVersion.status == ItemStatus.APPROVED,
                ItemVersion.id != version.id,
            )
        )
        for older in previous:
            await _set_status(
                session, older, ItemStatus.RETIRED, actor, "superseded by a newer version"
            )
    await _set_status(session, version, to_status, actor, comment)
    return version


async def _set_status(
    session: AsyncSession, version: ItemVersion, to_status: ItemStatus, actor: User, comment: str
) -> None:
    from_status = ItemStatus(version.status)
    version.status = to_status
    session.add(
        ReviewEvent(
            version_id=version.id,
            from_status=from_status,
            to_status=to_status,
            actor_id=actor.id,
            comment=comment,
        )
    )
    await audit.record(
        session,
        actor_id=actor.id,
        action="item.status",
        entity_type="item_version",
        entity_id=version.id,
        before={"status": from_status.value},
        after={"status": to_status.value, "comment": comment},
    )


async def review_history(session: AsyncSession, item_id: int) -> Sequence[ReviewEvent]:
    """Every workflow step of every version of an item, oldest first."""
    return (
        await session.scalars(
            select(ReviewEvent)
            .join(ItemVersion, ItemVersion.id == ReviewEvent.version_id)
            .where(ItemVersion.item_id == item_id)
            .order_by(ReviewEvent.at, ReviewEvent.id)
        )
    ).all()
