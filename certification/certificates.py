"""Issuing certificates: a number nobody can guess the next of, valid from the decision's date in
the body's time zone for the scheme's period, and its status as anyone verifying it sees it
(valid, suspended, withdrawn, or expired once its last day has passed)."""

from __future__ import annotations

import calendar
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import notices
from certification.models import Certificate, CertificationDecision
from certification.schemas import CertificateStatus, CertificationRules
from itembank.models import Scheme
from vakt import audit
from vakt.notifications import notify

NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: no I, L, O or U, so a number read aloud or typed from paper survives."""
NUMBER_LENGTH = 10
"""Random characters in a number: 50 bits, so numbers cannot be enumerated by verification."""
EXPIRED = "expired"
"""The computed status of a certificate whose last valid day has passed."""


def add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months on (the 31st becomes the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def local_date(moment: datetime, timezone: str) -> date:
    """The date of ``moment`` in the body's time zone."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def validity(decided_on: date, rules: CertificationRules) -> tuple[date, date]:
    """The first and the last day a certificate decided on ``decided_on`` is valid."""
    return decided_on, date.fromordinal(
        add_months(decided_on, rules.validity_months).toordinal() - 1
    )


def shown_status(certificate: Certificate, today: date) -> str:
    """The status a verifier sees: suspended or withdrawn as stored, else valid or expired."""
    if certificate.status != CertificateStatus.VALID:
        return certificate.status.value
    return EXPIRED if today > certificate.valid_until else CertificateStatus.VALID.value


def _new_number(scheme_code: str) -> str:
    randomness = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))
    prefix = "".join(c for c in scheme_code.upper() if c.isascii() and c.isalnum())[:12] or "CERT"
    return f"{prefix}-{randomness[:5]}-{randomness[5:]}"


async def issue_certificate(
    session: AsyncSession,
    *,
    decision: CertificationDecision,
    rules: CertificationRules,
    timezone: str,
    now: datetime,
    renews: Certificate | None = None,
) -> Certificate:
    """Issue the certificate a decision to certify grants (audited as
    ``certification.certificate_issued``); a renewal names the certificate it continues."""
    scheme = await session.get(Scheme, decision.scheme_id)
    assert scheme is not None
    valid_from, valid_until = validity(local_date(decision.decided_at, timezone), rules)
    while True:
        number = _new_number(scheme.code)
        taken = await session.scalar(select(Certificate.id).where(Certificate.number == number))
        if taken is None:
            break
    certificate = Certificate(
        number=number,
        holder_id=decision.candidate_id,
        scheme_id=decision.scheme_id,
        decision_id=decision.id,
        valid_from=valid_from,
        valid_until=valid_until,
        status=CertificateStatus.VALID,
        issued_at=now,
        renews_id=renews.id if renews else None,
    )
    session.add(certificate)
    await session.flush()
    await audit.record(
        session,
        actor_id=decision.decided_by_id,
        action="certification.certificate_issued",
        entity_type="certificate",
        entity_id=certificate.id,
        after={
            "number": number,
            "decision_id": decision.id,
            "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat(),
            "renews": renews.id if renews else None,
        },
    )
    await notify(
        session,
        recipient_id=certificate.holder_id,
        kind=notices.CERTIFICATE_ISSUED,
        params={
            "number": number,
            "scheme": scheme.name,
            "valid_until": valid_until.isoformat(),
        },
        now=now,
    )
    return certificate
