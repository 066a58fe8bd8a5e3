"""The certification decision: the decision maker's queue of complete attempts, the decision
(certify when every requirement is met, or refuse with written grounds) by someone independent
of the attempt, and the results reaching the candidate through it.

One decision stands per registration: the decision's round is unique with its registration, so
of two decision makers deciding at once, one decides and the other is told it is decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy.exc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.access import DECIDERS, DECIDERS_ONLY
from certification.certificates import issue_certificate
from certification.independence import Participants, require_independent
from certification.models import Certificate, CertificationDecision
from certification.requirements import Case, case_of, is_complete
from certification.schemas import DecisionOutcome
from exam import results
from exam.models import Attempt, AttemptPart, AttemptStatus, Registration, Sitting
from exam.reviews import Reviews
from exam.roles import require
from itembank.models import Scheme
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, VaktError
from vakt.i18n import Message, _l
from vakt.text import storable

MAX_GROUNDS = 10_000


@dataclass(frozen=True)
class QueueRow:
    """A complete attempt waiting for a decision."""

    registration: Registration
    attempt: Attempt
    candidate: User
    sitting: Sitting
    scheme: Scheme
    parts: int
    passed: int


async def queue(
    session: AsyncSession, *, scheme_id: int | None = None, sitting_id: int | None = None
) -> list[QueueRow]:
    """Complete attempts without a standing decision, the longest waiting first, of one scheme
    or sitting when given."""
    query = (
        select(Registration, Attempt, User, Sitting, Scheme)
        .join(Attempt, Attempt.registration_id == Registration.id)
        .join(User, User.id == Registration.candidate_id)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .join(Scheme, Scheme.id == Sitting.scheme_id)
        .where(
            Attempt.status != AttemptStatus.IN_PROGRESS,
            Registration.id.not_in(select(CertificationDecision.registration_id)),
        )
        .order_by(Attempt.ended_at, Attempt.id)
    )
    if scheme_id is not None:
        query = query.where(Sitting.scheme_id == scheme_id)
    if sitting_id is not None:
        query = query.where(Sitting.id == sitting_id)
    rows = (await session.execute(query)).all()
    parts: dict[int, list[AttemptPart]] = {}
    for part in await session.scalars(
        select(AttemptPart).where(AttemptPart.attempt_id.in_([row[1].id for row in rows]))
    ):
        parts.setdefault(part.attempt_id, []).append(part)
    return [
        QueueRow(
            registration,
            attempt,
            candidate,
            sitting,
            scheme,
            parts=len(parts.get(attempt.id, [])),
            passed=sum(1 for p in parts.get(attempt.id, []) if p.passed),
        )
        for registration, attempt, candidate, sitting, scheme in rows
        if is_complete(attempt, parts.get(attempt.id, []))
    ]


async def queue_filters(session: AsyncSession) -> tuple[list[Scheme], list[Sitting]]:
    """The schemes and sittings the queue can be filtered by."""
    schemes = list(await session.scalars(select(Scheme).order_by(Scheme.name, Scheme.id)))
    sittings = list(
        await session.scalars(select(Sitting).order_by(Sitting.opens_at.desc(), Sitting.id))
    )
    return schemes, sittings


async def standing_decision(
    session: AsyncSession, registration_id: int
) -> CertificationDecision | None:
    """The registration's decision that stands (the newest round), or None."""
    return await session.scalar(
        select(CertificationDecision)
        .where(CertificationDecision.registration_id == registration_id)
        .order_by(CertificationDecision.decision_round.desc())
        .limit(1)
    )


async def certificate_of(session: AsyncSession, decision_id: int) -> Certificate | None:
    """The certificate a decision issued, if any."""
    return await session.scalar(select(Certificate).where(Certificate.decision_id == decision_id))


def parse_outcome(value: str) -> DecisionOutcome:
    """The outcome named in a form, or a 400 at the field."""
    try:
        return DecisionOutcome(value)
    except ValueError:
        raise VaktError(_l("Choose certify or refuse."), field="outcome") from None


def _unmet(case: Case) -> list[Message]:
    return [Message(r.detail, r.params) for r in case.requirements if not r.met]


async def decide(
    session: AsyncSession,
    *,
    registration_id: int,
    outcome: DecisionOutcome,
    grounds: str,
    decider: User,
    now: datetime,
    reviews: Reviews,
    participants: Participants,
    timezone: str,
) -> CertificationDecision:
    """Decide on a complete attempt: certify (every requirement met; the certificate is issued)
    or refuse (with written grounds). The results are released to the candidate with it;
    audited as ``certification.decided`` with the requirements as checked."""
    require(decider, DECIDERS, DECIDERS_ONLY)
    grounds = storable(grounds, "grounds").strip()
    if len(grounds) > MAX_GROUNDS:
        raise VaktError(
            _l("Write the grounds in at most {count} characters."),
            field="grounds",
            count=MAX_GROUNDS,
        )
    case = await case_of(session, registration_id, reviews)
    if await standing_decision(session, registration_id) is not None:
        raise Conflict(_l("This attempt has been decided already."))
    await require_independent(session, decider, case.registrations, participants)
    if outcome == DecisionOutcome.REFUSED and not grounds:
        raise VaktError(_l("Give the grounds for refusing."), field="grounds")
    if outcome == DecisionOutcome.CERTIFIED and not case.all_met:
        raise VaktError(
            _l("Certify only when every requirement is met. Not met:"),
            field="outcome",
            status_code=409,
            details=list(_unmet(case)),
        )
    decision = CertificationDecision(
        registration_id=case.registration.id,
        candidate_id=case.candidate.id,
        scheme_id=case.scheme.id,
        outcome=outcome,
        grounds=grounds,
        requirements=[r.snapshot() for r in case.requirements],
        decided_by_id=decider.id,
        decided_at=now,
        decision_round=1,
    )
    try:
        async with session.begin_nested():
            session.add(decision)
            await session.flush()
    except sqlalchemy.exc.IntegrityError:
        raise Conflict(_l("This attempt has been decided already.")) from None
    certificate = None
    if outcome == DecisionOutcome.CERTIFIED:
        certificate = await issue_certificate(
            session, decision=decision, rules=case.rules, timezone=timezone, now=now
        )
    await audit.record(
        session,
        actor_id=decider.id,
        action="certification.decided",
        entity_type="registration",
        entity_id=case.registration.id,
        after={
            "decision_id": decision.id,
            "outcome": outcome.value,
            "grounds": grounds,
            "requirements": decision.requirements,
            "certificate": certificate.number if certificate else None,
        },
    )
    await release_with_decision(session, case, decider, now, reviews)
    return decision


async def release_with_decision(
    session: AsyncSession, case: Case, decider: User, now: datetime, reviews: Reviews
) -> None:
    """Release the attempt's results with the decision: the first time, or again when a part
    has a newer result than the one released (graded again after an appeal)."""
    parts = [c.part for c in case.parts if c.part is not None]
    own = [p for p in parts if p.attempt_id == case.attempt.id]
    newer = any(results.withheld(case.attempt, p) for p in own)
    unreleased = case.attempt.results_released_at is None or newer
    if unreleased and all(p.passed is not None for p in own):
        await results.release_results(
            session, attempt_id=case.attempt.id, actor=decider, now=now, reviews=reviews
        )


async def release_not_passed(
    session: AsyncSession,
    *,
    registration_id: int,
    decider: User,
    now: datetime,
    reviews: Reviews,
    participants: Participants,
) -> Attempt:
    """Release the results of a complete attempt that is not passed ("Ikke bestått") before any
    decision, so the candidate can retake; a passed attempt reaches the candidate only through
    the decision."""
    require(decider, DECIDERS, DECIDERS_ONLY)
    case = await case_of(session, registration_id, reviews)
    await require_independent(session, decider, case.registrations, participants)
    if not case.terminated and all(c.part is not None and c.part.passed for c in case.parts):
        raise Conflict(
            _l("Every part is passed: the results reach the candidate with the decision.")
        )
    await release_with_decision(session, case, decider, now, reviews)
    return case.attempt
