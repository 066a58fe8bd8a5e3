"""Recertification: inside a window around a certificate's expiry (from the scheme's
``recertification_months_before`` before its last day to ``recertification_months_after``
after it, both ends included) the holder applies with evidence; staff renew the certificate
(the renewal continues the series through ``renews``) or require a recertification exam,
with a note the holder sees (registering them for a sitting is done on the sitting's page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.access import CERTIFICATION_STAFF, STAFF_ONLY
from certification.certificates import add_months, issue_certificate
from certification.models import Certificate, CertificationDecision, RecertificationApplication
from certification.policy import rules_for_scheme
from certification.schemas import (
    CertificateStatus,
    CertificationRules,
    DecisionOutcome,
    RecertificationStatus,
)
from exam.roles import CANDIDATES, require
from itembank.models import Scheme
from vakt import audit
from vakt.accounts import User
from vakt.errors import NotFound, VaktError
from vakt.i18n import LazyText, Moment, _l

TEXT_MIN_LENGTH = 10
TEXT_MAX_LENGTH = 4000
NO_SUCH_ANSWER = _l("An application is answered by renewing or by requiring an exam.")


@dataclass(frozen=True)
class ApplicationRow:
    """An application with its certificate, holder and scheme, for staff."""

    application: RecertificationApplication
    certificate: Certificate
    holder: User
    scheme: Scheme


def window(valid_until: date, rules: CertificationRules) -> tuple[date, date]:
    """The first and last day a holder may apply to renew a certificate valid until
    ``valid_until``."""
    return (
        add_months(valid_until, -rules.recertification_months_before),
        add_months(valid_until, rules.recertification_months_after),
    )


def is_open(valid_until: date, rules: CertificationRules, today: date) -> bool:
    """True when ``today`` is inside the recertification window."""
    opens, closes = window(valid_until, rules)
    return opens <= today <= closes


def _text(text: str, field: str, missing: LazyText) -> str:
    written = text.strip()
    if len(written) < TEXT_MIN_LENGTH:
        raise VaktError(missing, field=field, status_code=422, length=TEXT_MIN_LENGTH)
    if len(written) > TEXT_MAX_LENGTH:
        raise VaktError(
            _l("Write at most {length} characters."),
            field=field,
            status_code=422,
            length=TEXT_MAX_LENGTH,
        )
    return written


async def apply(
    session: AsyncSession,
    *,
    holder: User,
    certificate_id: int,
    evidence: str,
    today: date,
    now: datetime,
) -> RecertificationApplication:
    """The holder applies to renew their own certificate inside its window
    (``certification.recertification_applied``)."""
    require(holder, CANDIDATES, _l("Only candidates apply for recertification."))
    certificate = await session.get(Certificate, certificate_id)
    if certificate is None or certificate.holder_id != holder.id:
        raise NotFound(_l("There is no such certificate among yours."))
    written = _text(
        evidence, "evidence", _l("Describe your evidence (at least {length} characters).")
    )
    if certificate.status != CertificateStatus.VALID:
        raise VaktError(
            _l("A suspended or withdrawn certificate cannot be renewed."), status_code=409
        )
    opens, closes = window(
        certificate.valid_until, await rules_for_scheme(session, certificate.scheme_id)
    )
    if not opens <= today <= closes:
        raise VaktError(
            _l("Recertification is open from {opens} to {closes}."),
            status_code=409,
            opens=Moment(datetime.combine(opens, datetime.min.time()), "date"),
            closes=Moment(datetime.combine(closes, datetime.min.time()), "date"),
        )
    earlier = await session.scalar(
        select(RecertificationApplication.id).where(
            RecertificationApplication.certificate_id == certificate.id
        )
    )
    if earlier is not None:
        raise VaktError(
            _l("You have already applied for recertification of this certificate."),
            status_code=409,
        )
    application = RecertificationApplication(
        certificate_id=certificate.id,
        holder_id=holder.id,
        evidence=written,
        applied_at=now,
        status=RecertificationStatus.PENDING,
    )
    session.add(application)
    await session.flush()
    await audit.record(
        session,
        actor_id=holder.id,
        action="certification.recertification_applied",
        entity_type="recertification",
        entity_id=application.id,
        after={"certificate_id": certificate.id, "evidence": written},
    )
    return application


async def applications(session: AsyncSession, *, actor: User) -> list[ApplicationRow]:
    """Every application, pending first, newest first."""
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    rows = (
        await session.execute(
            select(RecertificationApplication, Certificate, User, Scheme)
            .join(Certificate, Certificate.id == RecertificationApplication.certificate_id)
            .join(User, User.id == RecertificationApplication.holder_id)
            .join(Scheme, Scheme.id == Certificate.scheme_id)
            .order_by(
                RecertificationApplication.status != RecertificationStatus.PENDING,
                RecertificationApplication.applied_at.desc(),
            )
        )
    ).all()
    return [ApplicationRow(*row) for row in rows]


async def _pending(session: AsyncSession, application_id: int) -> RecertificationApplication:
    application = await session.get(
        RecertificationApplication, application_id, with_for_update=True
    )
    if application is None:
        raise NotFound(_l("There is no such application."))
    if application.status != RecertificationStatus.PENDING:
        raise VaktError(_l("This application has been answered already."), status_code=409)
    return application


async def _next_round(session: AsyncSession, registration_id: int) -> int:
    newest = await session.scalar(
        select(func.max(CertificationDecision.decision_round)).where(
            CertificationDecision.registration_id == registration_id
        )
    )
    return int(newest or 0) + 1


async def renew(
    session: AsyncSession,
    *,
    application_id: int,
    note: str,
    actor: User,
    now: datetime,
    timezone: str,
) -> Certificate:
    """Approve the application: a decision to certify by ``actor`` and a renewed certificate
    that continues the series (``certification.recertification_renewed``)."""
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    application = await _pending(session, application_id)
    written = _text(note, "note", _l("Write the grounds (at least {length} characters)."))
    old = await session.get(Certificate, application.certificate_id)
    previous = await session.get(CertificationDecision, old.decision_id) if old else None
    assert old is not None and previous is not None
    decision = CertificationDecision(
        registration_id=previous.registration_id,
        candidate_id=old.holder_id,
        scheme_id=old.scheme_id,
        outcome=DecisionOutcome.CERTIFIED,
        grounds=written,
        requirements=[
            {"key": "recertification", "met": True, "detail": f"application {application.id}"}
        ],
        decided_by_id=actor.id,
        decided_at=now,
        # The renewal is the registration's next decision: it stands from now on.
        decision_round=await _next_round(session, previous.registration_id),
        replaces_id=previous.id,
    )
    session.add(decision)
    await session.flush()
    renewal = await issue_certificate(
        session,
        decision=decision,
        rules=await rules_for_scheme(session, old.scheme_id),
        timezone=timezone,
        now=now,
        renews=old,
    )
    application.status, application.staff_note = RecertificationStatus.RENEWED, written
    application.decided_at, application.decided_by_id = now, actor.id
    application.renewal_id = renewal.id
    await audit.record(
        session,
        actor_id=actor.id,
        action="certification.recertification_renewed",
        entity_type="recertification",
        entity_id=application.id,
        after={"renewal_id": renewal.id, "note": written},
    )
    return renewal


async def require_exam(
    session: AsyncSession, *, application_id: int, note: str, actor: User, now: datetime
) -> RecertificationApplication:
    """Answer the application with a recertification exam to take, the note saying which
    (``certification.recertification_exam_required``)."""
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    application = await _pending(session, application_id)
    written = _text(note, "note", _l("Write the grounds (at least {length} characters)."))
    application.status, application.staff_note = RecertificationStatus.EXAM_REQUIRED, written
    application.decided_at, application.decided_by_id = now, actor.id
    await audit.record(
        session,
        actor_id=actor.id,
        action="certification.recertification_exam_required",
        entity_type="recertification",
        entity_id=application.id,
        after={"note": written},
    )
    return application
