"""The proctor review's decisions: flags dismissed or confirmed, an attempt cleared or cheating
proposed and confirmed by a second person (four eyes), identity confirmed or not.

- A proctor decides only on an attempt they hold a live claim on (``review_claims``).
- A flag is decided once: dismissed with a reason, or confirmed; who, when and why are kept.
- An attempt is cleared once every flag is decided. Cheating is proposed with written grounds
  and the confirmed flags it rests on; unless the scheme's policy waives the four eyes
  (``cheating_four_eyes``), another proctor or an administrator confirms it (the proposer never
  can) or rejects it with grounds. Confirmed, the attempt ends at once through
  ``exam.handin.terminate_for_cheating`` ("Ikke bestått"; grading withdraws its scripts) and
  the candidate's My page may show the grounds (``cheating_decision_of``).
- An identity not confirmed holds the registration from grading and from the certification
  decision: grading and certification ask ``identity_held``.

Every decision is written to the audit log. Nothing here reads answers or scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exam.events import IdentityConfirmed, publish
from exam.handin import terminate_for_cheating
from exam.models import Attempt, AttemptStatus, Registration
from exam.roles import require
from proctoring.access import CHEATING_CONFIRMERS, REVIEW_REFUSED, REVIEWERS
from proctoring.involvement import note_involvement
from proctoring.models import (
    AttemptReview,
    Flag,
    FlagDecision,
    IdentityDecision,
    ReviewOutcome,
)
from proctoring.review_claims import (
    attempt_of,
    claimed_by_other,
    policy_of_attempt,
    require_claim,
    review_of,
)
from vakt import audit
from vakt.accounts import User
from vakt.db import MAX_ROW_ID
from vakt.errors import Conflict, Forbidden, NotFound, VaktError
from vakt.i18n import _l
from vakt.text import storable

MAX_GROUNDS = 4000
"""The longest reason or grounds accepted, in characters."""
MAX_EVIDENCE = 100
"""The most flags one proposal may cite."""


def written(text: str, field: str, missing: object | None) -> str:
    """``text`` stripped, refused when too long or not storable, and when empty unless it is
    optional (``missing`` None; else what the person is told)."""
    text = storable(text.strip(), field)
    if not text and missing is not None:
        raise VaktError(missing, field=field)  # type: ignore[arg-type]
    if len(text) > MAX_GROUNDS:
        raise VaktError(_l("Keep it to {max} characters."), field=field, max=MAX_GROUNDS)
    return text


async def flags_of_attempt(session: AsyncSession, attempt: Attempt) -> list[Flag]:
    """Every flag of the attempt's registration (its check-in's too), oldest first."""
    return list(
        await session.scalars(
            select(Flag)
            .where(Flag.registration_id == attempt.registration_id)
            .order_by(Flag.started_at, Flag.id)
            .execution_options(populate_existing=True)
        )
    )


def _open_for_decisions(review: AttemptReview) -> None:
    if review.outcome == ReviewOutcome.CHEATING_PROPOSED:
        raise Conflict(
            _l("Cheating has been proposed: it must be confirmed or rejected before anything else.")
        )


async def decide_flag(
    session: AsyncSession,
    *,
    flag_id: int,
    decision: FlagDecision,
    reason: str,
    proctor: User,
    now: datetime,
    attempt_id: int | None = None,
) -> Flag:
    """Dismiss a flag (a reason is required) or confirm it, on an attempt the proctor holds.
    A flag is decided once. With ``attempt_id`` (the page it was decided on), a flag of another
    attempt is "not found"."""
    require(proctor, REVIEWERS, REVIEW_REFUSED)
    flag = await session.get(Flag, flag_id) if 1 <= flag_id <= MAX_ROW_ID else None
    attempt = (
        await session.scalar(select(Attempt).where(Attempt.registration_id == flag.registration_id))
        if flag is not None
        else None
    )
    if flag is None or attempt is None or attempt_id not in (None, attempt.id):
        raise NotFound(_l("No such flag."))
    dismissed = decision == FlagDecision.DISMISSED
    reason = written(reason, "reason", _l("Say why the flag is dismissed.") if dismissed else None)
    review = await require_claim(session, attempt, proctor, now)
    _open_for_decisions(review)
    decided = await session.execute(
        update(Flag)
        .where(Flag.id == flag.id, Flag.decision.is_(None))
        .values(decision=decision, decided_by_id=proctor.id, decided_at=now, decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if not decided.rowcount:  # type: ignore[attr-defined]
        raise Conflict(_l("This flag has been decided already."))
    await session.refresh(flag)
    await audit.record(
        session,
        actor_id=proctor.id,
        action="proctoring.flag_decided",
        entity_type="proctoring_flag",
        entity_id=flag.id,
        after={"decision": decision.value, "reason": reason, "attempt_id": attempt.id},
    )
    return flag


async def clear_attempt(
    session: AsyncSession, *, attempt_id: int, proctor: User, now: datetime
) -> AttemptReview:
    """Clear the attempt: no cheating. Every flag must be decided first."""
    require(proctor, REVIEWERS, REVIEW_REFUSED)
    attempt = await attempt_of(session, attempt_id)
    review = await require_claim(session, attempt, proctor, now)
    _open_for_decisions(review)
    undecided = [f.id for f in await flags_of_attempt(session, attempt) if f.decision is None]
    if undecided:
        raise Conflict(_l("Decide every flag first ({count} not decided)."), count=len(undecided))
    review.outcome, review.cleared_by_id, review.cleared_at = ReviewOutcome.CLEARED, proctor.id, now
    review.claimed_by_id = review.claimed_at = review.claim_expires_at = None
    await audit.record(
        session,
        actor_id=proctor.id,
        action="proctoring.attempt_cleared",
        entity_type="attempt",
        entity_id=attempt.id,
        after={"at": now.isoformat()},
    )
    return review


async def propose_cheating(
    session: AsyncSession,
    *,
    attempt_id: int,
    grounds: str,
    evidence: list[int],
    proctor: User,
    now: datetime,
) -> AttemptReview:
    """Propose that the candidate cheated, with written grounds and the attempt's confirmed
    flags as evidence. The claim is given up so a second person can confirm; where the scheme
    waives the four eyes the proposal is confirmed at once."""
    require(proctor, REVIEWERS, REVIEW_REFUSED)
    grounds = written(grounds, "grounds", _l("Write the grounds for the proposal."))
    if not evidence:
        raise VaktError(_l("Choose the flags the proposal rests on."), field="evidence")
    if len(evidence) > MAX_EVIDENCE:
        raise VaktError(_l("Choose at most {max} flags."), field="evidence", max=MAX_EVIDENCE)
    attempt = await attempt_of(session, attempt_id)
    review = await require_claim(session, attempt, proctor, now)
    _open_for_decisions(review)
    flags = {f.id: f for f in await flags_of_attempt(session, attempt)}
    chosen = sorted(set(evidence))
    # Another attempt's flag (or an id no row has) is not this attempt's: it cannot be evidence.
    if any(flag_id not in flags for flag_id in chosen):
        raise VaktError(_l("The evidence must be flags of this attempt."), field="evidence")
    if any(flags[flag_id].decision != FlagDecision.CONFIRMED for flag_id in chosen):
        raise VaktError(_l("Confirm a flag before citing it as evidence."), field="evidence")
    review.outcome, review.grounds, review.evidence = (
        ReviewOutcome.CHEATING_PROPOSED,
        grounds,
        chosen,
    )
    review.proposed_by_id, review.proposed_at = proctor.id, now
    review.claimed_by_id = review.claimed_at = review.claim_expires_at = None
    await audit.record(
        session,
        actor_id=proctor.id,
        action="proctoring.cheating_proposed",
        entity_type="attempt",
        entity_id=attempt.id,
        after={"grounds": grounds, "evidence": chosen},
    )
    if not (await policy_of_attempt(session, attempt)).cheating_four_eyes:
        await _confirm(session, attempt, review, proctor, now)
    return review


async def _proposal(
    session: AsyncSession, attempt_id: int, actor: User, now: datetime
) -> tuple[Attempt, AttemptReview]:
    require(actor, CHEATING_CONFIRMERS, _l("Only proctors and the exam staff confirm cheating."))
    attempt = await attempt_of(session, attempt_id)
    review = await review_of(session, attempt.id)
    if review is None or review.outcome != ReviewOutcome.CHEATING_PROPOSED:
        raise Conflict(_l("No cheating is proposed for this attempt."))
    if review.proposed_by_id == actor.id:
        raise Forbidden(
            _l("You proposed this: another proctor must confirm or reject it (four eyes).")
        )
    if claimed_by_other(review, actor, now):
        raise Conflict(_l("Another proctor is looking at this attempt now; try again later."))
    await note_involvement(session, registration_id=attempt.registration_id, proctor=actor, now=now)
    return attempt, review


async def _confirm(
    session: AsyncSession, attempt: Attempt, review: AttemptReview, actor: User, now: datetime
) -> None:
    # Only one of two people confirming at once gets past this UPDATE.
    confirmed = await session.execute(
        update(AttemptReview)
        .where(
            AttemptReview.attempt_id == attempt.id,
            AttemptReview.outcome == ReviewOutcome.CHEATING_PROPOSED,
        )
        .values(
            outcome=ReviewOutcome.CHEATING_CONFIRMED,
            confirmed_by_id=actor.id,
            confirmed_at=now,
            claimed_by_id=None,
            claimed_at=None,
            claim_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if not confirmed.rowcount:  # type: ignore[attr-defined]
        raise Conflict(_l("Someone decided this proposal a moment ago."))
    await session.refresh(review)
    await audit.record(
        session,
        actor_id=actor.id,
        action="proctoring.cheating_confirmed",
        entity_type="attempt",
        entity_id=attempt.id,
        after={"proposed_by": review.proposed_by_id, "evidence": review.evidence},
    )
    await terminate_for_cheating(
        session, attempt_id=attempt.id, actor=actor, reason=review.grounds, now=now
    )


async def confirm_cheating(
    session: AsyncSession, *, attempt_id: int, confirmer: User, now: datetime
) -> AttemptReview:
    """Confirm another person's proposal of cheating: the attempt ends at once "Ikke bestått".
    The proposer can never confirm their own proposal."""
    attempt, review = await _proposal(session, attempt_id, confirmer, now)
    await _confirm(session, attempt, review, confirmer, now)
    return review


async def reject_cheating(
    session: AsyncSession, *, attempt_id: int, grounds: str, confirmer: User, now: datetime
) -> AttemptReview:
    """Reject another person's proposal of cheating, with grounds: the attempt goes back to
    review (its flags stay decided)."""
    grounds = written(grounds, "grounds", _l("Write why the proposal is rejected."))
    attempt, review = await _proposal(session, attempt_id, confirmer, now)
    rejected = await session.execute(
        update(AttemptReview)
        .where(
            AttemptReview.attempt_id == attempt.id,
            AttemptReview.outcome == ReviewOutcome.CHEATING_PROPOSED,
        )
        .values(
            outcome=None, rejected_by_id=confirmer.id, rejected_at=now, rejection_grounds=grounds
        )
        .execution_options(synchronize_session=False)
    )
    if not rejected.rowcount:  # type: ignore[attr-defined]
        raise Conflict(_l("Someone decided this proposal a moment ago."))
    await session.refresh(review)
    await audit.record(
        session,
        actor_id=confirmer.id,
        action="proctoring.cheating_rejected",
        entity_type="attempt",
        entity_id=attempt.id,
        before={"grounds": review.grounds, "proposed_by": review.proposed_by_id},
        after={"grounds": grounds},
    )
    return review


async def decide_identity(
    session: AsyncSession,
    *,
    registration_id: int,
    confirmed: bool,
    grounds: str,
    proctor: User,
    now: datetime,
) -> IdentityDecision:
    """Decide whether the registration's candidate is who they claim to be (grounds required
    when not confirmed). A later decision replaces an earlier one; both are on record. Not
    confirmed, the attempt is held from grading and from the decision; confirmed, what was held
    goes on (``exam.events.IdentityConfirmed``)."""
    require(proctor, REVIEWERS, REVIEW_REFUSED)
    grounds = written(
        grounds, "grounds", None if confirmed else _l("Say why the identity is not confirmed.")
    )
    registration = (
        await session.get(Registration, registration_id)
        if 1 <= registration_id <= MAX_ROW_ID
        else None
    )
    if registration is None:
        raise NotFound(_l("No such registration."))
    await note_involvement(session, registration_id=registration.id, proctor=proctor, now=now)
    earlier = await session.get(IdentityDecision, registration.id)
    before = None if earlier is None else {"confirmed": earlier.confirmed}
    values = {
        "confirmed": confirmed,
        "grounds": grounds,
        "decided_by_id": proctor.id,
        "decided_at": now,
    }
    # One statement whether or not a decision exists: two proctors deciding at once for the
    # first time must not collide on the key (the later one's decision stands).
    dialect = session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = dialect_insert(IdentityDecision).values(registration_id=registration.id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["registration_id"], set_=values)
    )
    decision = await session.get(IdentityDecision, registration.id, populate_existing=True)
    assert decision is not None
    await audit.record(
        session,
        actor_id=proctor.id,
        action="proctoring.identity_decided",
        entity_type="registration",
        entity_id=registration.id,
        before=before,
        after={"confirmed": confirmed, "grounds": grounds},
    )
    if confirmed:
        await publish(session, IdentityConfirmed(registration_id=registration.id, confirmed_at=now))
    return decision


async def identity_held(session: AsyncSession, registration_id: int) -> bool:
    """True when a proctor decided the registration's identity is not confirmed: its attempt is
    then held from grading and from the certification decision. The extension point grading and
    certification consult (docs/architecture.md, "Proctor review")."""
    confirmed = await session.scalar(
        select(IdentityDecision.confirmed).where(
            IdentityDecision.registration_id == registration_id
        )
    )
    return confirmed is False


class ProctoringIdentityHolds:
    """``identity_held`` as an object: grading's ``IdentityHolds`` (``grading.holds``), handed
    to it in ``web.app.create_app``."""

    async def held(self, session: AsyncSession, registration_id: int) -> bool:
        """True when the registration is held (identity not confirmed)."""
        return await identity_held(session, registration_id)

    async def held_registrations(self, session: AsyncSession) -> set[int]:
        """Every registration held now (identity decided not confirmed)."""
        return set(
            await session.scalars(
                select(IdentityDecision.registration_id).where(
                    IdentityDecision.confirmed.is_(False)
                )
            )
        )


@dataclass(frozen=True)
class CheatingDecision:
    """What the candidate is told of a confirmed decision of cheating."""

    attempt_id: int
    grounds: str
    decided_at: datetime


async def cheating_decision_of(
    session: AsyncSession, *, registration_id: int, candidate: User
) -> CheatingDecision | None:
    """The confirmed decision of cheating on the candidate's own registration, with its grounds
    (for My page); None without one. Another's registration is a 404."""
    registration = (
        await session.get(Registration, registration_id)
        if 1 <= registration_id <= MAX_ROW_ID
        else None
    )
    if registration is None or registration.candidate_id != candidate.id:
        raise NotFound(_l("No such registration."))
    # The attempt's own record covers both ways cheating is decided (a confirmed proposal
    # passes its grounds on; staff may end an attempt through exam.handin directly).
    attempt = await session.scalar(
        select(Attempt).where(
            Attempt.registration_id == registration.id,
            Attempt.status == AttemptStatus.TERMINATED,
        )
    )
    if attempt is None or attempt.ended_at is None:
        return None
    return CheatingDecision(
        attempt_id=attempt.id, grounds=attempt.ended_reason, decided_at=attempt.ended_at
    )
