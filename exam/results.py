"""Part results and releasing them to the candidate. An attempt whose candidate's identity a
proctor did not confirm is held from the decision (``HELD``): its results are neither released
nor overridden until a proctor confirms the identity (``exam.reviews.Reviews.identity_held``)."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from exam.events import ResultsReleased, publish
from exam.lookups import definition_of, parts_of
from exam.models import (
    Attempt,
    AttemptPart,
    AttemptStatus,
)
from exam.reviews import Reviews
from exam.roles import RESULT_OVERRIDERS, RESULT_RELEASERS, require
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l
from vakt.text import storable

HELD = _l(
    "The candidate's identity is not confirmed: the attempt is held from the decision until a "
    "proctor confirms it."
)
"""Why a held attempt's results are neither released nor overridden."""


async def refuse_if_held(session: AsyncSession, reviews: Reviews, registration_id: int) -> None:
    """Refuse (409) a decision on the registration's attempt while its candidate's identity is
    not confirmed."""
    if registration_id in await reviews.identity_held(session, [registration_id]):
        raise Conflict(HELD)


def passes(score: float, max_score: float, threshold: float) -> bool:
    """True when ``score`` of ``max_score`` reaches the part's pass mark, counted exactly: 70 %
    passes, 69.99 % does not (no rounding in binary fractions decides a result)."""
    if max_score <= 0:
        return False
    exact = Fraction(str(score)) / Fraction(str(max_score))
    return exact >= Fraction(str(threshold))


async def record_computed_result(
    session: AsyncSession,
    *,
    attempt_part_id: int,
    score: float,
    max_score: float,
    now: datetime,
) -> AttemptPart:
    """Record a handed-in part's result, computed from its points (grading calls this once every
    score is final): passed when the points reach the part's pass mark. An override by the
    decision maker stands over it."""
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None:
        raise NotFound(_l("No such part."))
    if attempt_part.submitted_at is None:
        raise Conflict(_l("A part has a result only after it has been handed in."))
    attempt = await session.get(Attempt, attempt_part.attempt_id)
    assert attempt is not None
    threshold = (
        (await definition_of(session, attempt)).parts[attempt_part.part_index].pass_threshold
    )
    before = {"passed": attempt_part.passed, "score": attempt_part.score}
    attempt_part.score, attempt_part.max_score = score, max_score
    if attempt_part.result_override_at is None:
        attempt_part.passed = passes(score, max_score, threshold)
        attempt_part.result_recorded_at = now
    await audit.record(
        session,
        actor_id=None,
        action="attempt.part_result_computed",
        entity_type="attempt_part",
        entity_id=attempt_part.id,
        before=before,
        after={
            "score": score,
            "max_score": max_score,
            "threshold": threshold,
            "passed": attempt_part.passed,
        },
    )
    return attempt_part


async def override_part_result(
    session: AsyncSession,
    *,
    attempt_part_id: int,
    passed: bool,
    grounds: str,
    actor: User,
    now: datetime,
    reviews: Reviews,
) -> AttemptPart:
    """The decision maker sets a part's result against its points, with written grounds; it is
    shown as an override wherever the result is. Refused while the attempt is held."""
    require(
        actor,
        RESULT_OVERRIDERS,
        _l("Only the decision maker can override a part's result."),
    )
    if not storable(grounds, "grounds").strip():
        raise VaktError(_l("Give the grounds for the override."), field="grounds")
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None:
        raise NotFound(_l("No such part."))
    attempt = await session.get(Attempt, attempt_part.attempt_id)
    assert attempt is not None
    await refuse_if_held(session, reviews, attempt.registration_id)
    if attempt_part.submitted_at is None:
        raise Conflict(_l("A part has a result only after it has been handed in."))
    before = attempt_part.passed
    attempt_part.passed, attempt_part.result_recorded_at = passed, now
    attempt_part.result_override_at = now
    attempt_part.result_override_by_id = actor.id
    attempt_part.result_override_grounds = grounds.strip()
    await audit.record(
        session,
        actor_id=actor.id,
        action="attempt.part_result_overridden",
        entity_type="attempt_part",
        entity_id=attempt_part.id,
        before={"passed": before},
        after={"passed": passed, "grounds": grounds.strip()},
    )
    return attempt_part


async def release_results(
    session: AsyncSession, *, attempt_id: int, actor: User, now: datetime, reviews: Reviews
) -> Attempt:
    """Show the candidate the results of an ended attempt whose every part has a result. The
    certification decision calls this (``certification.decisions``): results reach the
    candidate through the decision maker only; refused while the attempt is held (the
    candidate's identity not confirmed). Released once, they are released again when a part
    has a newer result (graded again after an appeal), which the candidate sees only then."""
    require(actor, RESULT_RELEASERS, _l("Only the decision maker releases results."))
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    await refuse_if_held(session, reviews, attempt.registration_id)
    if attempt.status == AttemptStatus.IN_PROGRESS:
        raise Conflict(_l("The attempt is still going on."))
    parts = await parts_of(session, attempt.id)
    if any(part.passed is None for part in parts):
        raise Conflict(_l("Every part needs a result before the results are released."))
    again = attempt.results_released_at is not None and any(
        withheld(attempt, part) for part in parts
    )
    if attempt.results_released_at is None or again:
        attempt.results_released_at = now
        await audit.record(
            session,
            actor_id=actor.id,
            action="attempt.release_results",
            entity_type="attempt",
            entity_id=attempt.id,
            after={"again": again},
        )
        await publish(
            session,
            ResultsReleased(
                registration_id=attempt.registration_id, attempt_id=attempt.id, released_at=now
            ),
        )
    return attempt


def withheld(attempt: Attempt, part: AttemptPart) -> bool:
    """A part's result recorded after the attempt's results were released (graded again after
    an appeal): the candidate does not see it until the results are released again."""
    released = attempt.results_released_at
    recorded = part.result_recorded_at
    return released is not None and recorded is not None and recorded > released


def attempt_passed(attempt: Attempt, parts: list[AttemptPart], part_keys: list[str]) -> bool:
    """True when every registered part was passed ("Bestått"); a terminated attempt never is."""
    if attempt.status == AttemptStatus.TERMINATED:
        return False
    passed = {part.part_key for part in parts if part.passed}
    return all(key in passed for key in part_keys)
