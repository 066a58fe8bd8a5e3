"""The computer an attempt runs on: one browser per attempt, another only with the staff's leave."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import (
    Attempt,
    AttemptStatus,
    ResumePermission,
)
from exam.roles import COMPUTER_CHANGERS, require
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, Forbidden, NotFound, VaktError
from vakt.i18n import _l

OPEN_ELSEWHERE = _l(
    "This exam is open on another computer. Ask the exam staff to let you continue on this one."
)
"""Why a running attempt refuses a browser other than the one it is tied to."""


def device_digest(device_token: str) -> str:
    """What is stored of a browser's device token (never the token itself)."""
    return hashlib.sha256(device_token.encode()).hexdigest()


async def bind_device(
    session: AsyncSession,
    *,
    attempt: Attempt,
    device_token: str,
    device_is_new: bool,
    sign_in: str | None,
    actor: User,
    now: datetime,
) -> None:
    """Tie the attempt to the browser it runs in. Another computer may take over only after
    staff allowed it, so an attempt cannot silently run in two places (or be taken by someone
    else with the candidate's password).

    ``device_is_new``: the browser sent no device token, this request made one (its answer
    carries it). Until a request comes back with the bound token the binding is unconfirmed: the
    answer that carried the token may have been lost (a crash, a dropped connection), so the
    same sign-in (``sign_in``: a secret of the signed-in session) may bind again.
    """
    digest = device_digest(device_token)
    if attempt.device_digest == digest:
        if not device_is_new and not attempt.device_confirmed:
            attempt.device_confirmed = True
        return
    sign_in_digest = device_digest(sign_in) if sign_in else None
    answer_lost = (
        attempt.device_digest is not None
        and not attempt.device_confirmed
        and sign_in_digest is not None
        and attempt.device_session_digest == sign_in_digest
    )
    if attempt.device_digest is not None and not answer_lost:
        permission = await session.scalar(
            select(ResumePermission)
            .where(ResumePermission.attempt_id == attempt.id, ResumePermission.used_at.is_(None))
            .order_by(ResumePermission.id.desc())
        )
        if permission is None:
            raise Forbidden(OPEN_ELSEWHERE)
        permission.used_at = now
    attempt.device_digest = digest
    attempt.device_confirmed = not device_is_new
    attempt.device_session_digest = sign_in_digest
    await audit.record(
        session,
        actor_id=actor.id,
        action="attempt.bind_device",
        entity_type="attempt",
        entity_id=attempt.id,
        after={"device": digest[:12], **({"again_after_lost_answer": True} if answer_lost else {})},
    )


async def allow_resume(
    session: AsyncSession, *, attempt_id: int, actor: User, reason: str, now: datetime
) -> ResumePermission:
    """Staff let the candidate continue the attempt on another computer (once)."""
    require(actor, COMPUTER_CHANGERS, _l("Only exam staff can let a candidate change computer."))
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise Conflict(_l("This attempt has ended."))
    if not reason.strip():
        raise VaktError(_l("Say why the candidate changes computer."), field="reason")
    permission = ResumePermission(
        attempt_id=attempt.id, granted_by_id=actor.id, granted_at=now, reason=reason.strip()
    )
    session.add(permission)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="attempt.allow_resume",
        entity_type="attempt",
        entity_id=attempt.id,
        after={"reason": reason.strip()},
    )
    return permission
