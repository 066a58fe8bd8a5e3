"""What the decision maker's results pages show, read in the domain: the sittings whose attempts
have part results, and an attempt's parts with their points, pass marks, results and
overrides. The decision maker decides about a person, so the candidate is named; graders are
not (nothing here reads grading)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.lookups import definition_of, parts_of
from exam.models import Attempt, AttemptPart, Registration, Sitting
from exam.results import attempt_passed
from exam.reviews import NO_REVIEWS, Reviews, ReviewSummary
from itembank.models import Scheme
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import _l


@dataclass(frozen=True)
class AttemptRow:
    """An attempt in the results overview."""

    attempt: Attempt
    candidate: User
    parts: int
    """Parts started."""
    decided: int
    """Parts with a result (computed or overridden)."""
    waiting: int
    """Parts handed in whose result waits for grading."""
    overridden: int
    held: bool = False
    """Held from the decision: the candidate's identity is not confirmed."""


@dataclass(frozen=True)
class SittingResults:
    """A sitting with the attempts whose parts have been handed in."""

    sitting: Sitting
    scheme: Scheme
    attempts: list[AttemptRow]


async def results_overview(
    session: AsyncSession, reviews: Reviews = NO_REVIEWS
) -> list[SittingResults]:
    """Every sitting where some part has a result, newest first, with its attempts whose parts
    have been handed in (by candidate name), each marked held when ``reviews`` holds it."""
    rows = (
        await session.execute(
            select(Sitting, Scheme, Attempt, User)
            .join(Scheme, Scheme.id == Sitting.scheme_id)
            .join(Registration, Registration.sitting_id == Sitting.id)
            .join(Attempt, Attempt.registration_id == Registration.id)
            .join(User, User.id == Registration.candidate_id)
            .where(
                Sitting.id.in_(
                    select(Registration.sitting_id)
                    .join(Attempt, Attempt.registration_id == Registration.id)
                    .join(AttemptPart, AttemptPart.attempt_id == Attempt.id)
                    .where(AttemptPart.passed.is_not(None))
                ),
                Attempt.id.in_(
                    select(AttemptPart.attempt_id).where(AttemptPart.submitted_at.is_not(None))
                ),
            )
            .order_by(Sitting.opens_at.desc(), Sitting.id, User.full_name, Attempt.id)
        )
    ).all()
    parts: dict[int, list[AttemptPart]] = {}
    for part in await session.scalars(
        select(AttemptPart).where(AttemptPart.attempt_id.in_([row[2].id for row in rows]))
    ):
        parts.setdefault(part.attempt_id, []).append(part)
    held = await reviews.identity_held(session, {row[2].registration_id for row in rows})
    shown: dict[int, SittingResults] = {}
    for sitting, scheme, attempt, candidate in rows:
        theirs = parts.get(attempt.id, [])
        shown.setdefault(sitting.id, SittingResults(sitting, scheme, [])).attempts.append(
            AttemptRow(
                attempt=attempt,
                candidate=candidate,
                parts=len(theirs),
                decided=sum(1 for p in theirs if p.passed is not None),
                waiting=sum(1 for p in theirs if p.passed is None and p.submitted_at is not None),
                overridden=sum(1 for p in theirs if p.result_override_at is not None),
                held=attempt.registration_id in held,
            )
        )
    return list(shown.values())


@dataclass(frozen=True)
class PartResult:
    """A part's result as the decision maker sees it."""

    part: AttemptPart
    title: str
    threshold: float
    """The pass mark, a share of the part's points (0.7: 70 %)."""
    percent: float | None
    waiting: bool
    """Handed in, its result waits for grading."""
    overridden_by: User | None


@dataclass(frozen=True)
class AttemptResults:
    """An attempt's parts and results, with the candidate they are about."""

    attempt: Attempt
    registration: Registration
    candidate: User
    sitting: Sitting
    scheme: Scheme
    parts: list[PartResult]
    passed: bool | None
    """The whole exam passed ("Bestått"), once every part has a result; None until then."""
    review: ReviewSummary
    """The proctor review's outcome."""
    held: bool = False
    """Held from the decision (nothing released or overridden): the candidate's identity is not
    confirmed."""


async def attempt_results(
    session: AsyncSession, attempt_id: int, reviews: Reviews = NO_REVIEWS
) -> AttemptResults:
    """What the decision maker's page of an attempt shows (a 404 for an unknown attempt), with
    the proctor review's outcome from ``reviews``."""
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    registration = await session.get(Registration, attempt.registration_id)
    assert registration is not None
    sitting = await session.get(Sitting, registration.sitting_id)
    candidate = await session.get(User, registration.candidate_id)
    assert sitting is not None and candidate is not None
    scheme = await session.get(Scheme, sitting.scheme_id)
    assert scheme is not None
    definition = await definition_of(session, attempt)
    parts = await parts_of(session, attempt.id)
    shown = []
    for part in parts:
        plan = definition.parts[part.part_index]
        shown.append(
            PartResult(
                part=part,
                title=plan.title,
                threshold=plan.pass_threshold,
                percent=100 * part.score / part.max_score
                if part.score is not None and part.max_score
                else None,
                waiting=part.passed is None and part.submitted_at is not None,
                overridden_by=await session.get(User, part.result_override_by_id)
                if part.result_override_by_id is not None
                else None,
            )
        )
    every_part_decided = bool(parts) and all(p.passed is not None for p in parts)
    return AttemptResults(
        attempt=attempt,
        registration=registration,
        candidate=candidate,
        sitting=sitting,
        scheme=scheme,
        parts=shown,
        passed=attempt_passed(attempt, parts, registration.part_keys)
        if every_part_decided
        else None,
        review=await reviews.summary_of(session, attempt.id),
        held=attempt.registration_id
        in await reviews.identity_held(session, [attempt.registration_id]),
    )


async def attempt_of_part(session: AsyncSession, attempt_part_id: int) -> int:
    """The attempt a part belongs to, or a 404."""
    attempt_id = await session.scalar(
        select(AttemptPart.attempt_id).where(AttemptPart.id == attempt_part_id)
    )
    if attempt_id is None:
        raise NotFound(_l("No such part."))
    return int(attempt_id)
