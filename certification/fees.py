"""Registration fees as the body's staff record them: set one on a page, or import a CSV from
invoicing (registration id, status, invoice reference). An import is checked whole first: any
line in error refuses the file, each error named with its line, and nothing is stored."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.access import CERTIFICATION_STAFF, STAFF_ONLY
from certification.models import RegistrationFee
from certification.schemas import FeeStatus
from exam.models import Registration, Sitting
from exam.roles import require
from itembank.models import Scheme
from vakt import audit
from vakt.accounts import User
from vakt.errors import NotFound, VaktError
from vakt.i18n import Message, _l
from vakt.text import unstorable_text

MAX_REFERENCE = 80
MAX_IMPORT_BYTES = 1_000_000
MAX_IMPORT_LINES = 10_000
HEADER = ("registration_id", "status", "invoice_reference")


@dataclass(frozen=True)
class FeeRow:
    """A registration with its fee as recorded (None: nothing recorded yet)."""

    registration: Registration
    candidate: User
    sitting: Sitting
    scheme: Scheme
    fee: RegistrationFee | None


async def fee_rows(session: AsyncSession, *, sitting_id: int | None = None) -> list[FeeRow]:
    """Registrations with their fees, newest sitting first (of one sitting when given)."""
    query = (
        select(Registration, User, Sitting, Scheme, RegistrationFee)
        .join(User, User.id == Registration.candidate_id)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .join(Scheme, Scheme.id == Sitting.scheme_id)
        .outerjoin(RegistrationFee, RegistrationFee.registration_id == Registration.id)
        .order_by(Sitting.opens_at.desc(), Sitting.id, User.full_name, Registration.id)
    )
    if sitting_id is not None:
        query = query.where(Sitting.id == sitting_id)
    return [FeeRow(*row) for row in (await session.execute(query)).all()]


async def sittings(session: AsyncSession) -> list[Sitting]:
    """The sittings the fee page can show, newest first."""
    return list(
        await session.scalars(select(Sitting).order_by(Sitting.opens_at.desc(), Sitting.id))
    )


def parse_status(value: str, field: str = "status") -> FeeStatus:
    """A fee status from a form or a file, or a 400 at the field."""
    try:
        return FeeStatus(value.strip().lower())
    except ValueError:
        raise VaktError(_l("Choose due, paid or waived."), field=field) from None


def _reference(value: str) -> str:
    reference = value.strip()
    if unstorable_text(reference) or len(reference) > MAX_REFERENCE:
        raise VaktError(
            _l("An invoice reference is at most {count} characters of text."),
            field="invoice_reference",
            count=MAX_REFERENCE,
        )
    return reference


async def _store(
    session: AsyncSession,
    registration_id: int,
    status: FeeStatus,
    reference: str,
    actor: User,
    now: datetime,
) -> RegistrationFee:
    fee = await session.get(RegistrationFee, registration_id)
    before = None
    if fee is None:
        fee = RegistrationFee(registration_id=registration_id)
        session.add(fee)
    else:
        before = {"status": fee.status.value, "invoice_reference": fee.invoice_reference}
    fee.status, fee.invoice_reference = status, reference
    fee.updated_at, fee.updated_by_id = now, actor.id
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="certification.fee_set",
        entity_type="registration",
        entity_id=registration_id,
        before=before,
        after={"status": status.value, "invoice_reference": reference},
    )
    return fee


async def set_fee(
    session: AsyncSession,
    *,
    registration_id: int,
    status: str,
    invoice_reference: str,
    actor: User,
    now: datetime,
) -> RegistrationFee:
    """Record a registration's fee (audited as ``certification.fee_set``)."""
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    if await session.get(Registration, registration_id) is None:
        raise NotFound(_l("No such registration."))
    parsed = parse_status(status)
    reference = _reference(invoice_reference)
    if parsed == FeeStatus.PAID and not reference:
        raise VaktError(_l("Give the invoice reference of a paid fee."), field="invoice_reference")
    return await _store(session, registration_id, parsed, reference, actor, now)


async def import_fees(session: AsyncSession, *, content: bytes, actor: User, now: datetime) -> int:
    """Import fees from a CSV file (header ``registration_id,status,invoice_reference``);
    returns how many were stored. Any error refuses the whole file, each named by line."""
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    if len(content) > MAX_IMPORT_BYTES:
        raise VaktError(_l("The file is too large."), field="file", status_code=413)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise VaktError(_l("The file is not UTF-8 text."), field="file") from None
    if unstorable_text(text):
        raise VaktError(_l("The file is not UTF-8 text."), field="file")
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or [cell.strip().lower() for cell in lines[0]] != list(HEADER):
        raise VaktError(
            _l("The first line must be: {header}"), field="file", header=",".join(HEADER)
        )
    if len(lines) > MAX_IMPORT_LINES + 1:
        raise VaktError(
            _l("A file has at most {count} lines."), field="file", count=MAX_IMPORT_LINES
        )
    errors: list[Message] = []
    parsed: dict[int, tuple[FeeStatus, str]] = {}
    for number, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(HEADER):
            errors.append(Message(_l("Line {line}: three values are needed."), {"line": number}))
            continue
        raw_id, raw_status, raw_reference = cells
        try:
            registration_id = int(raw_id.strip())
            if not 0 < registration_id < 2**31:
                raise ValueError
        except ValueError:
            errors.append(Message(_l("Line {line}: no such registration."), {"line": number}))
            continue
        try:
            status = parse_status(raw_status)
        except VaktError:
            errors.append(
                Message(
                    _l("Line {line}: the status must be due, paid or waived."), {"line": number}
                )
            )
            continue
        try:
            reference = _reference(raw_reference)
        except VaktError:
            errors.append(
                Message(
                    _l("Line {line}: the invoice reference is at most {count} characters."),
                    {"line": number, "count": MAX_REFERENCE},
                )
            )
            continue
        if status == FeeStatus.PAID and not reference:
            errors.append(
                Message(
                    _l("Line {line}: a paid fee needs its invoice reference."), {"line": number}
                )
            )
            continue
        if registration_id in parsed:
            errors.append(
                Message(_l("Line {line}: the registration is in the file twice."), {"line": number})
            )
            continue
        parsed[registration_id] = (status, reference)
    known = set(
        await session.scalars(select(Registration.id).where(Registration.id.in_(list(parsed))))
    )
    for number, cells in enumerate(lines[1:], start=2):
        if len(cells) == len(HEADER) and cells[0].strip().isdigit():
            registration_id = int(cells[0].strip())
            if registration_id in parsed and registration_id not in known:
                errors.append(Message(_l("Line {line}: no such registration."), {"line": number}))
    if errors:
        errors.sort(key=lambda m: int(m.params["line"]))
        raise VaktError(
            _l("Nothing was imported. Correct these lines:"), field="file", details=list(errors)
        )
    if not parsed:
        raise VaktError(_l("The file has no fees."), field="file")
    for registration_id, (status, reference) in parsed.items():
        await _store(session, registration_id, status, reference, actor, now)
    return len(parsed)
