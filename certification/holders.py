"""The holder's side: their own certificates (never another's), and the duty to report
changes to the body, which the body's staff read and mark handled."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import pdf, recertification
from certification.access import CERTIFICATION_STAFF, STAFF_ONLY
from certification.certificates import shown_status
from certification.models import Certificate, ChangeReport, RecertificationApplication
from certification.policy import rules_for_scheme
from certification.schemas import CertificateStatus
from exam.roles import CANDIDATES, require
from itembank.models import Scheme
from vakt import audit
from vakt.accounts import User
from vakt.errors import NotFound, VaktError
from vakt.i18n import DEFAULT_LANGUAGE, _l
from vakt.signing_key import SigningKey

REPORT_MIN_LENGTH = 10
REPORT_MAX_LENGTH = 4000
NOT_YOURS = _l("There is no such certificate among yours.")


@dataclass(frozen=True)
class HeldCertificate:
    """One of the holder's certificates."""

    certificate: Certificate
    scheme: Scheme
    status: str
    window: tuple[date, date]
    """When the holder may apply for recertification (``recertification.window``)."""
    may_apply: bool
    """True inside the window for a certificate neither suspended nor withdrawn and not
    applied for before (one application per certificate)."""
    application: RecertificationApplication | None
    """The latest application to renew it, if any."""


@dataclass(frozen=True)
class ReportRow:
    """A change report with who made it, for staff."""

    report: ChangeReport
    holder: User
    handled_by: User | None


async def certificates_of(
    session: AsyncSession, holder: User, today: date
) -> list[HeldCertificate]:
    """The holder's certificates, newest first, each with its status as verification shows it."""
    rows = (
        await session.execute(
            select(Certificate, Scheme)
            .join(Scheme, Scheme.id == Certificate.scheme_id)
            .where(Certificate.holder_id == holder.id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    ).all()
    latest: dict[int, RecertificationApplication] = {}
    for earlier in await session.scalars(
        select(RecertificationApplication)
        .where(RecertificationApplication.holder_id == holder.id)
        .order_by(RecertificationApplication.applied_at, RecertificationApplication.id)
    ):
        latest[earlier.certificate_id] = earlier
    held = []
    for certificate, scheme in rows:
        rules = await rules_for_scheme(session, scheme.id)
        application = latest.get(certificate.id)
        held.append(
            HeldCertificate(
                certificate,
                scheme,
                shown_status(certificate, today),
                window=recertification.window(certificate.valid_until, rules),
                may_apply=certificate.status == CertificateStatus.VALID
                and recertification.is_open(certificate.valid_until, rules, today)
                and application is None,
                application=application,
            )
        )
    return held


async def own_certificate(session: AsyncSession, holder: User, certificate_id: int) -> Certificate:
    """The holder's own certificate; NotFound for anyone else's (its existence stays hidden)."""
    certificate = await session.get(Certificate, certificate_id)
    if certificate is None or certificate.holder_id != holder.id:
        raise NotFound(NOT_YOURS)
    return certificate


async def report_change(
    session: AsyncSession, *, holder: User, text: str, now: datetime
) -> ChangeReport:
    """Record the holder's report of a change (``certification.change_reported``)."""
    require(holder, CANDIDATES, _l("Only candidates report changes to their certification."))
    written = text.strip()
    if len(written) < REPORT_MIN_LENGTH:
        raise VaktError(
            _l("Describe the change (at least {length} characters)."),
            field="text",
            status_code=422,
            length=REPORT_MIN_LENGTH,
        )
    if len(written) > REPORT_MAX_LENGTH:
        raise VaktError(
            _l("The report may be at most {length} characters."),
            field="text",
            status_code=422,
            length=REPORT_MAX_LENGTH,
        )
    report = ChangeReport(holder_id=holder.id, text=written, reported_at=now)
    session.add(report)
    await session.flush()
    await audit.record(
        session,
        actor_id=holder.id,
        action="certification.change_reported",
        entity_type="change_report",
        entity_id=report.id,
        after={"text": written},
    )
    return report


async def change_reports(session: AsyncSession, *, actor: User) -> list[ReportRow]:
    """Every change report, those not yet handled first, newest first."""
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    reports = (
        await session.scalars(
            select(ChangeReport).order_by(
                ChangeReport.handled_at.is_not(None),
                ChangeReport.reported_at.desc(),
                ChangeReport.id.desc(),
            )
        )
    ).all()
    people = {report.holder_id for report in reports} | {
        report.handled_by_id for report in reports if report.handled_by_id
    }
    users = {
        user.id: user
        for user in (await session.scalars(select(User).where(User.id.in_(people)))).all()
    }
    return [
        ReportRow(r, users[r.holder_id], users.get(r.handled_by_id) if r.handled_by_id else None)
        for r in reports
    ]


async def mark_handled(
    session: AsyncSession, *, report_id: int, actor: User, now: datetime
) -> ChangeReport:
    """Mark a change report handled (``certification.change_handled``); once is enough."""
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    report = await session.get(ChangeReport, report_id, with_for_update=True)
    if report is None:
        raise NotFound(_l("There is no such report."))
    if report.handled_at is None:
        report.handled_at, report.handled_by_id = now, actor.id
        await session.flush()
        await audit.record(
            session,
            actor_id=actor.id,
            action="certification.change_handled",
            entity_type="change_report",
            entity_id=report.id,
            after={"handled": True},
        )
    return report


async def certificate_pdf(
    session: AsyncSession,
    *,
    holder: User,
    certificate_id: int,
    body_name: str,
    public_url: str,
    signing_key: SigningKey | None = None,
) -> tuple[str, bytes]:
    """The holder's own certificate as a PDF in their language, and its file name; signed in
    the body's name with ``signing_key`` when there is one, as at the certificate's issue."""
    certificate = await own_certificate(session, holder, certificate_id)
    scheme = await session.get(Scheme, certificate.scheme_id)
    assert scheme is not None
    document = pdf.CertificateDocument(
        number=certificate.number,
        holder_name=holder.full_name,
        scheme_name=scheme.name,
        valid_from=certificate.valid_from,
        valid_until=certificate.valid_until,
        body_name=body_name,
        verification_url=pdf.verification_url(public_url, certificate.number),
        language=holder.language or DEFAULT_LANGUAGE,
    )
    content = pdf.render(document)
    if signing_key is not None:
        # In a thread: signing is CPU work, and pyHanko's synchronous API runs its own loop.
        content = await asyncio.to_thread(
            pdf.sign, content, signing_key, signer_name=body_name, at=certificate.issued_at
        )
    return f"certificate-{certificate.number}.pdf", content
