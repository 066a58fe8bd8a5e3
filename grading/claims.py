"""Claiming scripts: a grader takes the oldest script they may grade that still needs a grader.

Safe under concurrency: one conditional UPDATE raises the script's ``taken_marks`` only while it
is below what the script needs, so however many graders claim at once, no script gets more
graders than it needs. On PostgreSQL the script is picked with ``FOR UPDATE SKIP LOCKED``, so
concurrent claims take different scripts instead of queueing on one; SQLite writes one
transaction at a time, which serves the same end. The unique (script, slot) and (script, grader)
constraints on markings stand behind both. The pick reads the partial index of waiting scripts
(``ix_grading_script_waiting``): walking the primary key instead, every claim would step past all
the scripts already graded, which made a claim slower the further grading had come.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Registration
from exam.roles import require
from grading.access import GRADERS, REFUSED
from grading.graders import qualifications_of
from grading.holds import NO_HOLDS, IdentityHolds
from grading.independence import Examiners, conflicted_candidates
from grading.models import Marking, MarkingStatus, Script, ScriptStatus
from grading.policy import rules_for_scheme
from grading.regrading import unseen_if_regraded
from itembank.models import ItemVersionTag
from vakt import audit
from vakt.accounts import User
from vakt.errors import Forbidden
from vakt.i18n import _l


async def claimable(
    session: AsyncSession, grader: User, examiners: Examiners, holds: IdentityHolds = NO_HOLDS
) -> list[ColumnElement[bool]]:
    """The conditions of a script this grader may be given: qualified for its scheme (or item
    tag), no conflict with its candidate, not their proctor, not marked by them already (nor,
    for a blind re-grading, any script of its part in an earlier round), and its registration
    not held (the candidate's identity not confirmed)."""
    qualifications = await qualifications_of(session, grader.id)
    if not qualifications:
        raise Forbidden(_l("You are not qualified to grade any scheme yet. Ask the exam staff."))
    whole_schemes = {q.scheme_id for q in qualifications if not q.tag}
    by_tag = [(q.scheme_id, q.tag) for q in qualifications if q.tag]
    qualified: list[ColumnElement[bool]] = (
        [Script.scheme_id.in_(whole_schemes)] if whole_schemes else []
    )
    for scheme_id, tag in by_tag:
        qualified.append(
            and_(
                Script.scheme_id == scheme_id,
                exists().where(
                    ItemVersionTag.version_id == Script.item_version_id, ItemVersionTag.tag == tag
                ),
            )
        )
    conditions: list[ColumnElement[bool]] = [
        or_(*qualified),
        Script.status == ScriptStatus.WAITING,
        Script.taken_marks < Script.required_marks,
        ~exists().where(Marking.script_id == Script.id, Marking.grader_id == grader.id),
        unseen_if_regraded(grader.id),
    ]
    examined = await examiners.registrations_examined_by(session, grader.id)
    if examined:
        conditions.append(Script.registration_id.not_in(examined))
    held = await holds.held_registrations(session)
    if held:
        conditions.append(Script.registration_id.not_in(held))
    conflicted = await conflicted_candidates(session, grader.id)
    if conflicted:
        conditions.append(
            Script.registration_id.not_in(
                select(Registration.id).where(Registration.candidate_id.in_(conflicted))
            )
        )
    return conditions


async def claim_next(
    session: AsyncSession,
    *,
    grader: User,
    now: datetime,
    examiners: Examiners,
    holds: IdentityHolds = NO_HOLDS,
) -> Marking | None:
    """Give the grader the oldest script they may grade that still needs a grader; None when
    there is none. The claim lasts the scheme's ``claim_minutes``."""
    require(grader, GRADERS, REFUSED)
    conditions = await claimable(session, grader, examiners, holds)
    pick = (
        select(Script.id)
        .where(*conditions)
        .order_by(Script.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    taken = await session.execute(
        update(Script)
        .where(Script.id == pick, Script.taken_marks < Script.required_marks)
        .values(taken_marks=Script.taken_marks + 1)
        .returning(Script.id, Script.scheme_id, Script.required_marks, Script.taken_marks)
        .execution_options(synchronize_session=False)
    )
    row = taken.first()
    if row is None:
        return None
    script_id, scheme_id, required, taken_now = row
    if taken_now == 1:
        # ``taken_marks`` counts the script's markings (a claim adds one, an expiry removes
        # one, in the same transaction): the first claim has every slot free, which spares
        # half the claims a statement. The (script, slot) constraint stands behind this.
        slot = 1
    else:
        used = set(
            await session.scalars(select(Marking.slot).where(Marking.script_id == script_id))
        )
        slot = next(n for n in range(1, required + 1) if n not in used)
    minutes = (await rules_for_scheme(session, scheme_id)).claim_minutes
    marking = Marking(
        script_id=script_id,
        slot=slot,
        grader_id=grader.id,
        status=MarkingStatus.CLAIMED,
        claimed_at=now,
        expires_at=now + timedelta(minutes=minutes),
        marks=[],
    )
    session.add(marking)
    await session.flush()
    await audit.record(
        session,
        actor_id=grader.id,
        action="grading.script_claimed",
        entity_type="grading_script",
        entity_id=script_id,
        after={"slot": slot, "expires_at": marking.expires_at.isoformat()},
    )
    return marking


async def claim_script(
    session: AsyncSession,
    *,
    grader: User,
    now: datetime,
    examiners: Examiners,
    holds: IdentityHolds = NO_HOLDS,
) -> tuple[Marking, Script] | None:
    """``claim_next``, answering with the claim and its script (what a grader is sent to, by
    its code); None when nothing is waiting for them."""
    marking = await claim_next(session, grader=grader, now=now, examiners=examiners, holds=holds)
    if marking is None:
        return None
    script = await session.get(Script, marking.script_id)
    assert script is not None
    return marking, script


async def open_claims(session: AsyncSession, grader: User) -> list[tuple[Marking, Script]]:
    """The grader's claimed scripts not yet submitted, oldest first."""
    rows = await session.execute(
        select(Marking, Script)
        .join(Script, Script.id == Marking.script_id)
        .where(Marking.grader_id == grader.id, Marking.submitted_at.is_(None))
        .order_by(Marking.claimed_at)
    )
    return [(marking, script) for marking, script in rows]


async def queue_size(
    session: AsyncSession, grader: User, examiners: Examiners, holds: IdentityHolds = NO_HOLDS
) -> int:
    """How many scripts the grader could claim now (none before they are qualified: their page
    says so instead of refusing them)."""
    if not await qualifications_of(session, grader.id):
        return 0
    conditions = await claimable(session, grader, examiners, holds)
    count = await session.scalar(select(func.count()).select_from(Script).where(*conditions))
    return int(count or 0)
