"""Part results and releasing them to the candidate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from exam.events import ResultsReleased, publish
from exam.lookups import parts_of
from exam.models import (
    Attempt,
    AttemptPart,
    AttemptStatus,
)
from exam.roles import EXAM_ADMINISTRATORS, require
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, NotFound
from vakt.i18n import _l


async def record_part_result(
    session: AsyncSession, *, attempt_part_id: int, passed: bool, actor: User, now: datetime
) -> AttemptPart:
    """Record a handed-in part's result (grading calls this once the grades are final)."""
    require(actor, EXAM_ADMINISTRATORS, _l("Only the certification body's staff record results."))
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None:
        raise NotFound(_l("No such part."))
    if attempt_part.submitted_at is None:
        raise Conflict(_l("A part has a result only after it has been handed in."))
    before = attempt_part.passed
    attempt_part.passed, attempt_part.result_recorded_at = passed, now
    await audit.record(
        session,
        actor_id=actor.id,
        action="attempt.part_result",
        entity_type="attempt_part",
        entity_id=attempt_part.id,
        before={"passed": before},
        after={"passed": passed},
    )
    return attempt_part


async def release_results(
    session: AsyncSession, *, attempt_id: int, actor: User, now: datetime
) -> Attempt:
    """Show the candidate the results of an ended attempt whose every part has a result."""
    require(actor, EXAM_ADMINISTRATORS, _l("Only the certification body's staff release results."))
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    if attempt.status == AttemptStatus.IN_PROGRESS:
        raise Conflict(_l("The attempt is still going on."))
    if any(part.passed is None for part in await parts_of(session, attempt.id)):
        raise Conflict(_l("Every part needs a result before the results are released."))
    if attempt.results_released_at is None:
        attempt.results_released_at = now
        await audit.record(
            session,
            actor_id=actor.id,
            action="attempt.release_results",
            entity_type="attempt",
            entity_id=attempt.id,
        )
        await publish(
            session,
            ResultsReleased(
                registration_id=attempt.registration_id, attempt_id=attempt.id, released_at=now
            ),
        )
    return attempt


def attempt_passed(attempt: Attempt, parts: list[AttemptPart], part_keys: list[str]) -> bool:
    """True when every registered part was passed ("Bestått"); a terminated attempt never is."""
    if attempt.status == AttemptStatus.TERMINATED:
        return False
    passed = {part.part_key for part in parts if part.passed}
    return all(key in passed for key in part_keys)
