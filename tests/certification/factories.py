"""Certificates made directly, as a decision to certify makes them (the decision service is
tested on its own)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from certification.certificates import issue_certificate
from certification.models import Certificate, CertificationDecision
from certification.schemas import CertificationRules, DecisionOutcome
from exam.models import Registration, Sitting
from vakt.accounts import User


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
