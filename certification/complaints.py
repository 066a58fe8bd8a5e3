"""Complaints about the body's conduct: any signed-in person files one, it is numbered per year
("C-2026-0001") and tracked; the body's staff answer it in writing and the complainant is
notified. A complainant sees their own complaints only (another's is a 404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import notices
from certification.access import CERTIFICATION_STAFF, STAFF_ONLY
from certification.certificates import local_date
from certification.models import Complaint
from certification.numbering import numbered
from certification.schemas import ComplaintStatus
from exam.roles import require
from vakt import audit, notifications
from vakt.accounts import User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l
from vakt.text import storable

MIN_LENGTH = 10
MAX_LENGTH = 8000
NOT_YOURS = _l("There is no such complaint among yours.")


def _text(value: str, field: str, *, minimum: int) -> str:
    written = storable(value, field).strip()
    if len(written) < minimum:
        raise VaktError(
            _l("Write at least {length} characters."),
            field=field, status_code=422, length=minimum,
        )  # fmt: skip
    if len(written) > MAX_LENGTH:
        raise VaktError(
            _l("Write at most {length} characters."),
            field=field, status_code=422, length=MAX_LENGTH,
        )  # fmt: skip
    return written


async def file_complaint(
    session: AsyncSession, *, complainant: User, text: str, now: datetime, timezone: str
) -> Complaint:
    """Register a complaint (numbered, audited; the complainant notified)."""
    complaint = Complaint(
        complainant_id=complainant.id,
        text=_text(text, "text", minimum=MIN_LENGTH),
        filed_at=now,
        status=ComplaintStatus.RECEIVED,
        answer="",
    )
    await numbered(session, complaint, "C", local_date(now, timezone).year)
    await audit.record(
        session, actor_id=complainant.id, action="certification.complaint_filed",
        entity_type="complaint", entity_id=complaint.id, after={"number": complaint.number},
    )  # fmt: skip
    await notifications.notify(
        session, recipient_id=complainant.id, kind=notices.COMPLAINT_RECEIVED,
        params={"number": complaint.number, "filed_at": now}, now=now,
    )  # fmt: skip
    return complaint


async def complaints_of(session: AsyncSession, complainant: User) -> list[Complaint]:
    """The person's own complaints, newest first."""
    rows = await session.scalars(
        select(Complaint)
        .where(Complaint.complainant_id == complainant.id)
        .order_by(Complaint.id.desc())
    )
    return list(rows)


async def own_complaint(session: AsyncSession, complainant: User, complaint_id: int) -> Complaint:
    """The person's own complaint; NotFound for anyone else's."""
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None or complaint.complainant_id != complainant.id:
        raise NotFound(NOT_YOURS)
    return complaint


@dataclass(frozen=True)
class ComplaintRow:
    """A complaint with who made it, for the staff."""

    complaint: Complaint
    complainant: User


async def complaints_for_staff(session: AsyncSession, staff: User) -> list[ComplaintRow]:
    """Every complaint, unanswered first, then newest first."""
    require(staff, CERTIFICATION_STAFF, STAFF_ONLY)
    rows = await session.execute(
        select(Complaint, User)
        .join(User, User.id == Complaint.complainant_id)
        .order_by(Complaint.answered_at.is_not(None), Complaint.id.desc())
    )
    return [ComplaintRow(c, u) for c, u in rows.all()]


async def answer_complaint(
    session: AsyncSession, *, staff: User, complaint_id: int, answer: str, now: datetime
) -> Complaint:
    """Answer the complaint in writing (once); the complainant is notified."""
    require(staff, CERTIFICATION_STAFF, STAFF_ONLY)
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(_l("There is no such complaint."))
    if complaint.status == ComplaintStatus.ANSWERED:
        raise Conflict(_l("This complaint has been answered already."))
    complaint.answer = _text(answer, "answer", minimum=1)
    complaint.status = ComplaintStatus.ANSWERED
    complaint.answered_at, complaint.answered_by_id = now, staff.id
    await audit.record(
        session, actor_id=staff.id, action="certification.complaint_answered",
        entity_type="complaint", entity_id=complaint.id, after={"answer": complaint.answer},
    )  # fmt: skip
    await notifications.notify(
        session, recipient_id=complaint.complainant_id,
        kind=notices.COMPLAINT_ANSWERED, params={"number": complaint.number}, now=now,
    )  # fmt: skip
    return complaint
