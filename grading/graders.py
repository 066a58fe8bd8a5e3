"""Graders: their qualifications per scheme (granted by the staff), and the conflicts of interest
they declare themselves. Every change is audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.roles import require
from grading.access import GRADERS, GRADING_ADMINISTRATORS, REFUSED
from grading.independence import normalised_employer
from grading.models import ConflictOfInterest, GraderQualification
from itembank.schemes import get_scheme
from vakt import audit
from vakt.accounts import Role, User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l
from vakt.text import storable

MAX_TAG = 80
"""As long as an item's tags may be."""


async def qualify(
    session: AsyncSession,
    *,
    grader_id: int,
    scheme_id: int,
    actor: User,
    now: datetime,
    tag: str = "",
    is_lead: bool = False,
) -> GraderQualification:
    """Qualify a grader for a scheme (or only its items with ``tag``), perhaps as a lead grader;
    qualifying again changes whether they lead."""
    require(actor, GRADING_ADMINISTRATORS, REFUSED)
    await get_scheme(session, scheme_id)
    grader = await session.get(User, grader_id)
    if grader is None or not grader.has_any(Role.GRADER):
        raise VaktError(_l("Only a user with the grader role can be qualified."), field="grader_id")
    tag = storable(tag, "tag").strip()
    if len(tag) > MAX_TAG:
        raise VaktError(
            _l("A tag may have at most {count} characters."), field="tag", count=MAX_TAG
        )
    row = await session.scalar(
        select(GraderQualification).where(
            GraderQualification.grader_id == grader_id,
            GraderQualification.scheme_id == scheme_id,
            GraderQualification.tag == tag,
        )
    )
    if row is None:
        row = GraderQualification(
            grader_id=grader_id, scheme_id=scheme_id, tag=tag, granted_at=now,
            granted_by_id=actor.id,
        )  # fmt: skip
        session.add(row)
    row.is_lead = is_lead
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="grading.grader_qualified",
        entity_type="user",
        entity_id=grader_id,
        after={"scheme_id": scheme_id, "tag": tag, "lead": is_lead},
    )
    return row


async def withdraw_qualification(
    session: AsyncSession, *, qualification_id: int, actor: User
) -> GraderQualification:
    """Withdraw a grader's qualification (their submitted marks stand); returns what was
    withdrawn."""
    require(actor, GRADING_ADMINISTRATORS, REFUSED)
    row = await session.get(GraderQualification, qualification_id)
    if row is None:
        raise NotFound(_l("No such qualification."))
    await session.delete(row)
    await audit.record(
        session,
        actor_id=actor.id,
        action="grading.qualification_withdrawn",
        entity_type="user",
        entity_id=row.grader_id,
        before={"scheme_id": row.scheme_id, "tag": row.tag, "lead": row.is_lead},
    )
    return row


async def qualifications_of(session: AsyncSession, grader_id: int) -> list[GraderQualification]:
    """A grader's qualifications."""
    return list(
        await session.scalars(
            select(GraderQualification)
            .where(GraderQualification.grader_id == grader_id)
            .order_by(GraderQualification.scheme_id, GraderQualification.tag)
        )
    )


async def leads_scheme(session: AsyncSession, grader_id: int, scheme_id: int) -> bool:
    """True when the grader is a lead grader of the scheme."""
    return (
        await session.scalar(
            select(GraderQualification.id).where(
                GraderQualification.grader_id == grader_id,
                GraderQualification.scheme_id == scheme_id,
                GraderQualification.is_lead.is_(True),
            )
        )
    ) is not None


async def declare_conflict(
    session: AsyncSession,
    *,
    grader: User,
    now: datetime,
    candidate_username: str = "",
    employer: str = "",
    note: str = "",
) -> ConflictOfInterest:
    """A grader declares a conflict of interest: with a named candidate (by username or e-mail
    address) or with everyone at an employer. Their scripts are never given to the grader."""
    require(grader, GRADERS, REFUSED)
    return await record_conflict(
        session, grader=grader, now=now, candidate_username=candidate_username,
        employer=employer, note=note,
    )  # fmt: skip


async def record_conflict(
    session: AsyncSession,
    *,
    grader: User,
    now: datetime,
    candidate_username: str = "",
    employer: str = "",
    note: str = "",
) -> ConflictOfInterest:
    """Store a declared conflict of interest of ``grader`` (whose role the caller checked:
    certification keeps a decision maker's declarations here too)."""
    candidate_id = None
    who = storable(candidate_username, "candidate_username").strip()
    storable(employer, "employer")
    storable(note, "note")
    if who:
        candidate = await session.scalar(
            select(User).where((User.username == who.lower()) | (User.email == who))
        )
        if candidate is None or not candidate.has_any(Role.CANDIDATE):
            raise VaktError(_l("There is no candidate {who}."), field="candidate_username", who=who)
        candidate_id = candidate.id
    employer = " ".join(employer.split())
    if candidate_id is None and not employer:
        raise VaktError(
            _l("Name the candidate or the employer the conflict is with."),
            field="candidate_username",
        )
    if len(employer) > 200:
        raise VaktError(_l("The employer's name is too long."), field="employer")
    duplicate = await session.scalar(
        select(ConflictOfInterest.id).where(
            ConflictOfInterest.grader_id == grader.id,
            ConflictOfInterest.candidate_id == candidate_id
            if candidate_id is not None
            else ConflictOfInterest.candidate_id.is_(None),
            ConflictOfInterest.employer == employer,
        )
    )
    if duplicate is not None:
        raise Conflict(_l("You have declared this conflict already."))
    row = ConflictOfInterest(
        grader_id=grader.id, candidate_id=candidate_id, employer=employer,
        note=note.strip()[:2000], declared_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor_id=grader.id,
        action="grading.conflict_declared",
        entity_type="conflict_of_interest",
        entity_id=row.id,
        after={
            "candidate_id": candidate_id,
            "employer": normalised_employer(employer) if employer else "",
        },
    )
    return row


async def conflicts_of(session: AsyncSession, grader: User) -> list[ConflictOfInterest]:
    """The grader's own declarations, oldest first."""
    return list(
        await session.scalars(
            select(ConflictOfInterest)
            .where(ConflictOfInterest.grader_id == grader.id)
            .order_by(ConflictOfInterest.id)
        )
    )
