"""Reconciliation: a lead grader of the scheme sees both marks of a script whose totals were too
far apart and sets the final mark, with grounds. Never one of the script's own graders (nor,
in a blind re-grading, anyone who saw the part in an earlier round), and
never while the script's registration is held (``grading.holds``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Registration
from grading.graders import leads_scheme
from grading.holds import NO_HOLDS, IdentityHolds
from grading.independence import Examiners, conflicted_candidates
from grading.marking import finalize, number_of, whole_if_whole
from grading.models import Marking, Reconciliation, Script, ScriptStatus
from grading.regrading import has_seen_part
from grading.scripts import script_by_code
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, Forbidden, NotFound, VaktError
from vakt.i18n import _l
from vakt.text import storable


@dataclass(frozen=True)
class ToReconcile:
    """A script in reconciliation and the markings a lead grader weighs."""

    script: Script
    markings: list[Marking]


async def may_reconcile(
    session: AsyncSession, script: Script, lead: User, examiners: Examiners
) -> None:
    """Refuse anyone but an independent lead grader of the script's scheme."""
    if not await leads_scheme(session, lead.id, script.scheme_id):
        raise Forbidden(_l("Only a lead grader of this scheme reconciles marks."))
    graders = set(
        await session.scalars(select(Marking.grader_id).where(Marking.script_id == script.id))
    )
    registration = await session.get(Registration, script.registration_id)
    assert registration is not None
    if (
        lead.id in graders
        or (
            script.grading_round > 1
            and await has_seen_part(session, lead.id, script.attempt_part_id)
        )
        or registration.candidate_id in await conflicted_candidates(session, lead.id)
        or lead.id in await examiners.examiners_of(session, script.registration_id)
    ):
        # Reported as missing: whose script it is stays unknown.
        raise NotFound(_l("No such script."))


HELD = _l("This script is held from grading for now and cannot be reconciled yet.")
"""Why a held script is not reconciled (the grader is not told why: grading is blind)."""


async def to_reconcile(
    session: AsyncSession,
    *,
    code: str,
    lead: User,
    examiners: Examiners,
    holds: IdentityHolds = NO_HOLDS,
) -> ToReconcile:
    """A script in reconciliation with both markings, for a lead grader; a held one is
    refused."""
    script = await script_by_code(session, code)
    if script.status != ScriptStatus.RECONCILIATION:
        raise NotFound(_l("No such script."))
    await may_reconcile(session, script, lead, examiners)
    if await holds.held(session, script.registration_id):
        raise Conflict(HELD)
    markings = list(
        await session.scalars(
            select(Marking).where(Marking.script_id == script.id).order_by(Marking.slot)
        )
    )
    return ToReconcile(script, markings)


async def reconcile(
    session: AsyncSession,
    *,
    code: str,
    lead: User,
    final_points: object,
    grounds: str,
    now: datetime,
    examiners: Examiners,
    holds: IdentityHolds = NO_HOLDS,
) -> Reconciliation:
    """Set a script's final mark (within its points) with written grounds (audited); refused
    while the script's registration is held."""
    case = await to_reconcile(session, code=code, lead=lead, examiners=examiners, holds=holds)
    script = case.script
    points = number_of(final_points)
    if points is None:
        raise VaktError(_l("The final mark must be a number."), field="final_points")
    if not 0 <= points <= script.max_points:
        raise VaktError(
            _l("The final mark must be from 0 to {most}."), field="final_points",
            most=whole_if_whole(script.max_points),
        )  # fmt: skip
    if not storable(grounds, "grounds").strip():
        raise VaktError(_l("Give the grounds for the final mark."), field="grounds")
    if await session.scalar(select(Reconciliation.id).where(Reconciliation.script_id == script.id)):
        raise Conflict(_l("This script has been reconciled already."))
    row = Reconciliation(
        script_id=script.id, lead_id=lead.id, final_points=points, grounds=grounds.strip(),
        decided_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor_id=lead.id,
        action="grading.reconciled",
        entity_type="grading_script",
        entity_id=script.id,
        after={
            "totals": [m.total for m in case.markings],
            "final": points,
            "grounds": grounds.strip(),
        },
    )
    await finalize(session, script, points, now=now, how="reconciliation", holds=holds)
    return row


async def waiting_for(
    session: AsyncSession, lead: User, examiners: Examiners, holds: IdentityHolds = NO_HOLDS
) -> list[Script]:
    """The scripts in reconciliation this lead grader may take, oldest first (none of a held
    registration)."""
    held = await holds.held_registrations(session)
    scripts = [
        script
        for script in await session.scalars(
            select(Script).where(Script.status == ScriptStatus.RECONCILIATION).order_by(Script.id)
        )
        if script.registration_id not in held
    ]
    allowed = []
    for script in scripts:
        try:
            await may_reconcile(session, script, lead, examiners)
        except (Forbidden, NotFound):
            continue
        allowed.append(script)
    return allowed
