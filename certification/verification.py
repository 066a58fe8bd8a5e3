"""What anyone may see without signing in: one certificate by its number (what the QR code on
the PDF opens) and a scheme's public register of valid certificates.

Both answer with ``PublicCertificate`` and nothing else: the holder's name, the scheme, the
validity dates and the status. No e-mail, username, birth date, employer or any id of the
person ever leaves this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.certificates import shown_status
from certification.models import Certificate
from certification.policy import rules_for_scheme
from certification.schemas import CertificateStatus
from itembank.models import Scheme
from vakt.accounts import User
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l

NUMBER_MAX_LENGTH = 40
"""Longer than any number issued: refused before the database is asked."""
QUERY_MAX_LENGTH = 100
REGISTER_PAGE_SIZE = 50
"""The register shows at most this many rows: it is searched, not browsed whole."""
UNKNOWN_NUMBER = _l("No certificate has the number {number}. Check the number and try again.")


@dataclass(frozen=True)
class PublicCertificate:
    """A certificate as the public sees it."""

    number: str
    holder_name: str
    scheme_name: str
    valid_from: date
    valid_until: date
    status: str
    """valid, suspended, withdrawn or expired (``certificates.shown_status``)."""


@dataclass(frozen=True)
class PublicRegister:
    """A scheme's public register, searched."""

    scheme_code: str
    scheme_name: str
    query: str
    certificates: list[PublicCertificate]
    more: bool
    """True when more certificates match than are shown."""


def normalise_number(number: str) -> str:
    """A number as typed (spaces, lower case) as issued; a 400 for one no certificate can
    have."""
    cleaned = "".join(number.split()).upper()
    if len(cleaned) > NUMBER_MAX_LENGTH:
        raise VaktError(
            _l("A certificate number is at most {length} characters."),
            field="number",
            length=NUMBER_MAX_LENGTH,
        )
    if not all(c.isascii() and (c.isalnum() or c == "-") for c in cleaned):
        raise VaktError(
            _l("A certificate number has only the letters A to Z, digits and hyphens."),
            field="number",
        )
    return cleaned


def _public(
    certificate: Certificate, holder: User, scheme: Scheme, today: date
) -> PublicCertificate:
    return PublicCertificate(
        number=certificate.number,
        holder_name=holder.full_name,
        scheme_name=scheme.name,
        valid_from=certificate.valid_from,
        valid_until=certificate.valid_until,
        status=shown_status(certificate, today),
    )


async def verify(session: AsyncSession, number: str, today: date) -> PublicCertificate:
    """The certificate with this number as the public sees it; NotFound (saying the number)
    when none has it."""
    cleaned = normalise_number(number)
    row = (
        await session.execute(
            select(Certificate, User, Scheme)
            .join(User, User.id == Certificate.holder_id)
            .join(Scheme, Scheme.id == Certificate.scheme_id)
            .where(Certificate.number == cleaned)
        )
    ).first()
    if row is None:
        raise NotFound(UNKNOWN_NUMBER, number=cleaned)
    return _public(row[0], row[1], row[2], today)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def public_register(
    session: AsyncSession, scheme_code: str, query: str, today: date
) -> PublicRegister:
    """The scheme's valid certificates whose holder's name or number contains ``query`` (all
    of them, up to a page, for an empty query). NotFound for an unknown scheme and for a
    scheme whose register is not public."""
    text = " ".join(query.split())
    if len(text) > QUERY_MAX_LENGTH:
        raise VaktError(
            _l("Search for at most {length} characters."), field="q", length=QUERY_MAX_LENGTH
        )
    scheme = await session.scalar(select(Scheme).where(Scheme.code == scheme_code[:40]))
    if scheme is None:
        raise NotFound(_l("There is no certification scheme with this code."))
    if not (await rules_for_scheme(session, scheme.id)).register_public:
        raise NotFound(
            _l(
                "The register of this scheme is not public. A certificate can still be "
                "verified by its number."
            )
        )
    statement = (
        select(Certificate, User)
        .join(User, User.id == Certificate.holder_id)
        .where(
            Certificate.scheme_id == scheme.id,
            Certificate.status == CertificateStatus.VALID,
            Certificate.valid_from <= today,
            Certificate.valid_until >= today,
        )
        .order_by(User.full_name, Certificate.number)
        .limit(REGISTER_PAGE_SIZE + 1)
    )
    if text:
        pattern = _like_pattern(text.lower())
        statement = statement.where(
            or_(
                func.lower(User.full_name).like(pattern, escape="\\"),
                func.lower(Certificate.number).like(pattern, escape="\\"),
            )
        )
    rows = (await session.execute(statement)).all()
    shown = [_public(c, holder, scheme, today) for c, holder in rows[:REGISTER_PAGE_SIZE]]
    return PublicRegister(scheme.code, scheme.name, text, shown, len(rows) > REGISTER_PAGE_SIZE)
