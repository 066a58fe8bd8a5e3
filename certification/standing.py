"""A certificate's standing as the body's staff change it: suspended or withdrawn with written
grounds, a suspension lifted; every change audited and seen at once by verification (the
status is read from the certificate's row on every request). And the staff's list of a
scheme's certificates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import notices
from certification.access import CERTIFICATION_STAFF, STAFF_ONLY
from certification.certificates import shown_status
from certification.models import Certificate
from certification.schemas import CertificateStatus
from exam.roles import require
from itembank.models import Scheme
from itembank.schemes import get_scheme
from vakt import audit
from vakt.accounts import User
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from vakt.notifications import notify

GROUNDS_MIN_LENGTH = 10
GROUNDS_MAX_LENGTH = 4000
STAFF_PAGE_SIZE = 200
NO_SUCH_ACTION = _l("A certificate can be suspended, withdrawn or reinstated, nothing else.")


@dataclass(frozen=True)
class StaffCertificate:
    """A certificate as the body's staff see it."""

    certificate: Certificate
    holder: User
    scheme: Scheme
    status: str


@dataclass(frozen=True)
class SchemeCertificates:
    """A scheme's certificates, searched."""

    scheme: Scheme
    query: str
    rows: list[StaffCertificate]
    more: bool


def _grounds(text: str) -> str:
    cleaned = text.strip()
    if len(cleaned) < GROUNDS_MIN_LENGTH:
        raise VaktError(
            _l("Write the grounds (at least {length} characters)."),
            field="grounds",
            status_code=422,
            length=GROUNDS_MIN_LENGTH,
        )
    if len(cleaned) > GROUNDS_MAX_LENGTH:
        raise VaktError(
            _l("The grounds may be at most {length} characters."),
            field="grounds",
            status_code=422,
            length=GROUNDS_MAX_LENGTH,
        )
    return cleaned


async def staff_certificate(
    session: AsyncSession, certificate_id: int, today: date, actor: User
) -> StaffCertificate:
    """One certificate with its holder and scheme, for staff."""
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    certificate = await session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound(_l("There is no such certificate."))
    holder = await session.get(User, certificate.holder_id)
    scheme = await session.get(Scheme, certificate.scheme_id)
    assert holder is not None and scheme is not None
    return StaffCertificate(certificate, holder, scheme, shown_status(certificate, today))


async def _change(
    session: AsyncSession,
    *,
    certificate_id: int,
    actor: User,
    now: datetime,
    to: CertificateStatus,
    allowed_from: frozenset[CertificateStatus],
    grounds: str,
    action: str,
) -> Certificate:
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    certificate = await session.get(Certificate, certificate_id, with_for_update=True)
    if certificate is None:
        raise NotFound(_l("There is no such certificate."))
    written = _grounds(grounds)
    if certificate.status not in allowed_from:
        raise VaktError(
            _l("The certificate's present status does not allow this change."),
            status_code=409,
        )
    before = {"status": certificate.status.value, "grounds": certificate.status_grounds}
    certificate.status = to
    certificate.status_grounds = written
    certificate.status_changed_at = now
    certificate.status_changed_by_id = actor.id
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action=action,
        entity_type="certificate",
        entity_id=certificate.id,
        before=before,
        after={"status": to.value, "grounds": written},
    )
    scheme = await session.get(Scheme, certificate.scheme_id)
    assert scheme is not None
    # The grounds stay behind the holder's sign-in (My page), not in an e-mail.
    await notify(
        session,
        recipient_id=certificate.holder_id,
        kind=notices.CERTIFICATE_STATUS[to],
        params={"number": certificate.number, "scheme": scheme.name, "changed_at": now},
        now=now,
    )
    return certificate


async def suspend(
    session: AsyncSession, *, certificate_id: int, grounds: str, actor: User, now: datetime
) -> Certificate:
    """Suspend a valid certificate with written grounds
    (``certification.certificate_suspended``)."""
    return await _change(
        session,
        certificate_id=certificate_id,
        actor=actor,
        now=now,
        to=CertificateStatus.SUSPENDED,
        allowed_from=frozenset({CertificateStatus.VALID}),
        grounds=grounds,
        action="certification.certificate_suspended",
    )


async def withdraw(
    session: AsyncSession, *, certificate_id: int, grounds: str, actor: User, now: datetime
) -> Certificate:
    """Withdraw a valid or suspended certificate for good, with written grounds
    (``certification.certificate_withdrawn``)."""
    return await _change(
        session,
        certificate_id=certificate_id,
        actor=actor,
        now=now,
        to=CertificateStatus.WITHDRAWN,
        allowed_from=frozenset({CertificateStatus.VALID, CertificateStatus.SUSPENDED}),
        grounds=grounds,
        action="certification.certificate_withdrawn",
    )


async def reinstate(
    session: AsyncSession, *, certificate_id: int, grounds: str, actor: User, now: datetime
) -> Certificate:
    """Lift a suspension, with written grounds (``certification.certificate_reinstated``); a
    withdrawal is final."""
    return await _change(
        session,
        certificate_id=certificate_id,
        actor=actor,
        now=now,
        to=CertificateStatus.VALID,
        allowed_from=frozenset({CertificateStatus.SUSPENDED}),
        grounds=grounds,
        action="certification.certificate_reinstated",
    )


async def scheme_certificates(
    session: AsyncSession, *, scheme_id: int, query: str, today: date, actor: User
) -> SchemeCertificates:
    """The scheme's certificates (every status), newest first, whose holder's name, username
    or number contains ``query``."""
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    scheme = await get_scheme(session, scheme_id)
    text = " ".join(query.split())[:100]
    statement = (
        select(Certificate, User)
        .join(User, User.id == Certificate.holder_id)
        .where(Certificate.scheme_id == scheme_id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        .limit(STAFF_PAGE_SIZE + 1)
    )
    if text:
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(
            or_(
                func.lower(User.full_name).like(pattern, escape="\\"),
                func.lower(User.username).like(pattern, escape="\\"),
                func.lower(Certificate.number).like(pattern, escape="\\"),
            )
        )
    rows = (await session.execute(statement)).all()
    shown = [
        StaffCertificate(c, holder, scheme, shown_status(c, today))
        for c, holder in rows[:STAFF_PAGE_SIZE]
    ]
    return SchemeCertificates(scheme, text, shown, len(rows) > STAFF_PAGE_SIZE)
