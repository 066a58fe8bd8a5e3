"""A complete, graded attempt ready for the certification decision: the graded sitting of
tests/grading/graded_sitting.py (the first candidate passes both parts), with the declarations
accepted and the fee paid; reviews told as a test wants them; and certificates made directly,
as a decision to certify makes them (for the certificate's own tests)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import fees
from certification.certificates import issue_certificate
from certification.models import Certificate, CertificationDecision
from certification.schemas import CertificationRules, DecisionOutcome
from exam.declarations import TEXT_VERSION
from exam.models import Declaration, Registration, Sitting
from exam.reviews import ReviewSummary
from tests.exam.factories import OPENS
from tests.grading.graded_sitting import GradedSitting, graded_sitting
from vakt.accounts import User

CLEARED = ReviewSummary(cleared=True, identity_confirmed=True)
DECIDED_AT = OPENS + timedelta(days=2)


class ToldReviews:
    """``exam.reviews.Reviews`` answering with one summary for every attempt."""

    def __init__(self, summary: ReviewSummary = CLEARED) -> None:
        self.summary = summary

    async def cheating_grounds(
        self, session: AsyncSession, registration_id: int, candidate: User
    ) -> str | None:
        return self.summary.grounds if self.summary.cheating_confirmed else None

    async def summary_of(self, session: AsyncSession, attempt_id: int) -> ReviewSummary:
        return self.summary

    async def identity_held(
        self, session: AsyncSession, registration_ids: Collection[int]
    ) -> set[int]:
        return set(registration_ids) if self.summary.identity_confirmed is False else set()


@dataclass
class Ready:
    built: GradedSitting
    registration_ids: list[int]
    """One per candidate, in the order of ``built.candidates``."""

    @property
    def passed(self) -> int:
        """The registration of the candidate who passed every part."""
        return self.registration_ids[0]

    @property
    def failed(self) -> int:
        """A registration with the multiple choice part not passed."""
        return self.registration_ids[2]


async def ready_for_decision(session: AsyncSession, users: dict[str, User]) -> Ready:
    """Every candidate's attempt graded, declarations accepted and fees paid; committed."""
    built = await graded_sitting(session, users)
    ids = []
    for person in built.candidates:
        registration_id = await session.scalar(
            select(Registration.id).where(
                Registration.sitting_id == built.sitting_id,
                Registration.candidate_id == person.id,
            )
        )
        assert registration_id is not None
        ids.append(registration_id)
        session.add(
            Declaration(
                registration_id=registration_id, text_version=TEXT_VERSION, language="nb",
                text_digest="0" * 64, accepted_at=OPENS,
            )
        )  # fmt: skip
        await fees.set_fee(
            session, registration_id=registration_id, status="paid",
            invoice_reference=f"F-{registration_id}", actor=users["administrator"], now=OPENS,
        )  # fmt: skip
    await session.commit()
    return Ready(built, ids)


async def certify(
    session: AsyncSession,
    registration_id: int,
    decided_by: User,
    decided_at: datetime,
    rules: CertificationRules | None = None,
) -> Certificate:
    """A decision to certify the registration's candidate and the certificate it issues;
    committed."""
    registration = await session.get(Registration, registration_id)
    assert registration is not None
    sitting = await session.get(Sitting, registration.sitting_id)
    assert sitting is not None
    scheme_id = sitting.scheme_id
    decision = CertificationDecision(
        registration_id=registration.id,
        candidate_id=registration.candidate_id,
        scheme_id=scheme_id,
        outcome=DecisionOutcome.CERTIFIED,
        grounds="",
        requirements=[],
        decided_by_id=decided_by.id,
        decided_at=decided_at,
    )
    session.add(decision)
    await session.flush()
    certificate = await issue_certificate(
        session, decision=decision, rules=rules or CertificationRules(),
        timezone="Europe/Oslo", now=decided_at,
    )  # fmt: skip
    await session.commit()
    return certificate
