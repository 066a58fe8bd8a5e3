"""Independence of the certification decision, enforced: nobody decides on a registration they
graded or reconciled, proctored or reviewed the proctoring of, administered (decided the
application or an accommodation, scheduled the sitting, registered the candidate, let them
change computer, paused their clock), or declared a conflict of interest with the candidate.

Who took part in proctoring is proctoring's knowledge; it tells certification through
``Participants`` (filled by ``proctoring.involvement.ProctoringInvolvement``, wired in
``web.app.create_app``). A declared conflict is the one conflict table
(``grading.models.ConflictOfInterest``), kept for any person: a named candidate or an employer.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.access import DECIDERS, DECIDERS_ONLY
from exam.models import (
    Accommodation,
    Application,
    Attempt,
    AttemptPart,
    PartPause,
    Registration,
    ResumePermission,
    Sitting,
)
from exam.roles import require
from grading.graders import conflicts_of, record_conflict
from grading.independence import conflicted_candidates
from grading.models import ConflictOfInterest, Marking, Reconciliation, Script
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Forbidden
from vakt.i18n import LazyText, _l


class Involvement(enum.StrEnum):
    """How someone took part in a registration, which bars them from deciding on it."""

    GRADED = "graded"
    RECONCILED = "reconciled"
    PROCTORED = "proctored"
    REVIEWED = "reviewed"
    ADMINISTERED = "administered"
    CONFLICT = "conflict"


REFUSALS: dict[Involvement, LazyText] = {
    Involvement.GRADED: _l("You graded this candidate's answers, so you cannot decide."),
    Involvement.RECONCILED: _l(
        "You reconciled marks on this candidate's answers, so you cannot decide."
    ),
    Involvement.PROCTORED: _l("You proctored this candidate's exam, so you cannot decide."),
    Involvement.REVIEWED: _l(
        "You reviewed the proctoring of this candidate's exam, so you cannot decide."
    ),
    Involvement.ADMINISTERED: _l(
        "You administered this candidate's exam (application, accommodation, sitting or "
        "registration), so you cannot decide."
    ),
    Involvement.CONFLICT: _l(
        "You declared a conflict of interest with this candidate, so you cannot decide."
    ),
}


class Participants(Protocol):
    """Who took part in a registration's proctoring."""

    async def participants_of(self, session: AsyncSession, registration_id: int) -> dict[int, str]:
        """User ids and how they took part: "proctored" or "reviewed"."""
        ...


class NoParticipants:
    """Participants where nothing is proctored (certification on its own, in tests)."""

    async def participants_of(self, session: AsyncSession, registration_id: int) -> dict[int, str]:
        """Nobody took part."""
        return {}


NO_PARTICIPANTS = NoParticipants()


def _add(found: dict[Involvement, set[int]], kind: Involvement, ids: Iterable[int | None]) -> None:
    found.setdefault(kind, set()).update(i for i in ids if i is not None)


async def involvement(
    session: AsyncSession,
    registrations: list[Registration],
    participants: Participants,
) -> dict[Involvement, set[int]]:
    """Everyone who took part in these registrations (one candidate's, in one scheme), by how."""
    ids = [r.id for r in registrations]
    found: dict[Involvement, set[int]] = {}
    scripts = select(Script.id).where(Script.registration_id.in_(ids))
    _add(
        found,
        Involvement.GRADED,
        await session.scalars(select(Marking.grader_id).where(Marking.script_id.in_(scripts))),
    )
    _add(
        found,
        Involvement.RECONCILED,
        await session.scalars(
            select(Reconciliation.lead_id).where(Reconciliation.script_id.in_(scripts))
        ),
    )
    for registration_id in ids:
        for user_id, how in (await participants.participants_of(session, registration_id)).items():
            kind = Involvement.REVIEWED if how == "reviewed" else Involvement.PROCTORED
            _add(found, kind, [user_id])
    parts = select(AttemptPart.id).join(Attempt).where(Attempt.registration_id.in_(ids))
    for pause in await session.scalars(
        select(PartPause).where(PartPause.attempt_part_id.in_(parts))
    ):
        _add(found, Involvement.PROCTORED, [pause.paused_by_id, pause.resumed_by_id])
    candidate_id = registrations[0].candidate_id
    sitting_ids = [r.sitting_id for r in registrations]
    administered: list[int | None] = []
    administered += await session.scalars(
        select(Application.decided_by_id)
        .join(Sitting, Sitting.scheme_id == Application.scheme_id)
        .where(Application.candidate_id == candidate_id, Sitting.id.in_(sitting_ids))
    )
    administered += await session.scalars(
        select(Accommodation.decided_by_id).where(Accommodation.registration_id.in_(ids))
    )
    administered += await session.scalars(
        select(Sitting.created_by_id).where(Sitting.id.in_(sitting_ids))
    )
    administered += await session.scalars(
        select(ResumePermission.granted_by_id)
        .join(Attempt, Attempt.id == ResumePermission.attempt_id)
        .where(Attempt.registration_id.in_(ids))
    )
    administered += await session.scalars(
        select(AuditEntry.actor_id).where(
            AuditEntry.action == "registration.create",
            AuditEntry.entity_type == "registration",
            AuditEntry.entity_id.in_([str(i) for i in ids]),
        )
    )
    _add(found, Involvement.ADMINISTERED, administered)
    return found


async def reason_barring(
    session: AsyncSession,
    decider: User,
    registrations: list[Registration],
    participants: Participants,
) -> Involvement | None:
    """Why ``decider`` may not decide on these registrations; None when independent."""
    candidate_id = registrations[0].candidate_id
    if decider.id == candidate_id or candidate_id in await conflicted_candidates(
        session, decider.id
    ):
        return Involvement.CONFLICT
    found = await involvement(session, registrations, participants)
    for kind in Involvement:
        if decider.id in found.get(kind, set()):
            return kind
    return None


async def require_independent(
    session: AsyncSession,
    decider: User,
    registrations: list[Registration],
    participants: Participants,
) -> None:
    """Refuse (403, naming the reason) a decider who took part or declared a conflict."""
    reason = await reason_barring(session, decider, registrations, participants)
    if reason is not None:
        raise Forbidden(REFUSALS[reason])


async def declare_conflict(
    session: AsyncSession,
    *,
    decider: User,
    now: datetime,
    candidate_username: str = "",
    employer: str = "",
    note: str = "",
) -> ConflictOfInterest:
    """A decision maker declares a conflict of interest with a named candidate or everyone at an
    employer (kept with the graders' declarations); they are then refused deciding on them."""
    require(decider, DECIDERS, DECIDERS_ONLY)
    return await record_conflict(
        session, grader=decider, now=now, candidate_username=candidate_username,
        employer=employer, note=note,
    )  # fmt: skip


async def conflicts_declared(session: AsyncSession, decider: User) -> list[ConflictOfInterest]:
    """The decision maker's own declarations, oldest first."""
    return await conflicts_of(session, decider)
