"""Independence of the decision, role by role: a decision maker who graded, reconciled,
proctored, reviewed the proctoring of, or administered the attempt, or declared a conflict with
the candidate, is refused with the reason named; an uninvolved one decides."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from certification import decisions
from certification.independence import REFUSALS, Involvement
from certification.schemas import DecisionOutcome
from exam.models import Accommodation, Application, Attempt, AttemptPart, DecisionStatus, PartPause
from grading.models import ConflictOfInterest, Marking, Reconciliation, Script
from proctoring.involvement import ProctoringInvolvement, note_involvement
from proctoring.models import Flag, FlagDecision, FlagSource, FlagType, IdentityDecision, Severity
from tests.certification.factories import DECIDED_AT, Ready, ToldReviews, ready_for_decision
from tests.exam.factories import OPENS
from vakt.accounts import Role, User, UserRole, create_user
from vakt.errors import Forbidden

pytestmark = pytest.mark.asyncio

Setup = Callable[[AsyncSession, Ready, User], Awaitable[None]]


async def _scripts(session: AsyncSession, ready: Ready) -> list[int]:
    return list(
        await session.scalars(select(Script.id).where(Script.registration_id == ready.passed))
    )


async def graded(session: AsyncSession, ready: Ready, who: User) -> None:
    scripts = await _scripts(session, ready)
    marking = await session.scalar(select(Marking.id).where(Marking.script_id.in_(scripts)))
    await session.execute(update(Marking).where(Marking.id == marking).values(grader_id=who.id))


async def reconciled(session: AsyncSession, ready: Ready, who: User) -> None:
    script = (await _scripts(session, ready))[0]
    session.add(
        Reconciliation(
            script_id=script, lead_id=who.id, final_points=9, grounds="Midt imellom.",
            decided_at=OPENS,
        )
    )  # fmt: skip


async def proctored(session: AsyncSession, ready: Ready, who: User) -> None:
    await note_involvement(session, registration_id=ready.passed, proctor=who, now=OPENS)


async def paused(session: AsyncSession, ready: Ready, who: User) -> None:
    part_id = await session.scalar(
        select(AttemptPart.id).join(Attempt).where(Attempt.registration_id == ready.passed)
    )
    assert part_id is not None
    session.add(
        PartPause(
            attempt_part_id=part_id, paused_at=OPENS, paused_by_id=who.id, grounds="Brann.",
            deadline_before=OPENS,
        )
    )  # fmt: skip


async def reviewed_flag(session: AsyncSession, ready: Ready, who: User) -> None:
    session.add(
        Flag(
            registration_id=ready.passed, type=next(iter(FlagType)), severity=next(iter(Severity)),
            source=next(iter(FlagSource)), started_at=OPENS, decision=next(iter(FlagDecision)),
            decided_by_id=who.id, decided_at=OPENS,
        )
    )  # fmt: skip


async def reviewed_identity(session: AsyncSession, ready: Ready, who: User) -> None:
    session.add(
        IdentityDecision(
            registration_id=ready.passed, confirmed=True, decided_by_id=who.id, decided_at=OPENS
        )
    )


async def decided_application(session: AsyncSession, ready: Ready, who: User) -> None:
    await session.execute(
        update(Application)
        .where(Application.candidate_id == ready.built.candidates[0].id)
        .values(decided_by_id=who.id)
    )


async def decided_accommodation(session: AsyncSession, ready: Ready, who: User) -> None:
    session.add(
        Accommodation(
            registration_id=ready.passed, extra_time_percent=25, reason="Dysleksi.",
            status=DecisionStatus.APPROVED, requested_at=OPENS, decided_by_id=who.id,
            decided_at=OPENS,
        )
    )  # fmt: skip


async def declared_conflict(session: AsyncSession, ready: Ready, who: User) -> None:
    session.add(ConflictOfInterest(grader_id=who.id, candidate_id=ready.built.candidates[0].id))


async def declared_employer(session: AsyncSession, ready: Ready, who: User) -> None:
    candidate = ready.built.candidates[0]
    candidate.employer = "Nordlys AS"
    session.add(ConflictOfInterest(grader_id=who.id, employer="  nordlys as "))


CASES: dict[str, tuple[Setup, Involvement]] = {
    "grader": (graded, Involvement.GRADED),
    "lead grader": (reconciled, Involvement.RECONCILED),
    "proctor": (proctored, Involvement.PROCTORED),
    "proctor who paused": (paused, Involvement.PROCTORED),
    "reviewer of a flag": (reviewed_flag, Involvement.REVIEWED),
    "reviewer of the identity": (reviewed_identity, Involvement.REVIEWED),
    "administrator of the application": (decided_application, Involvement.ADMINISTERED),
    "administrator of an accommodation": (decided_accommodation, Involvement.ADMINISTERED),
    "declared conflict": (declared_conflict, Involvement.CONFLICT),
    "declared conflict by employer": (declared_employer, Involvement.CONFLICT),
}


async def _try(session: AsyncSession, ready: Ready, who: User) -> None:
    await decisions.decide(
        session, registration_id=ready.passed, outcome=DecisionOutcome.CERTIFIED, grounds="",
        decider=who, now=DECIDED_AT, reviews=ToldReviews(),
        participants=ProctoringInvolvement(), timezone="Europe/Oslo",
    )  # fmt: skip


@pytest.mark.parametrize("role", list(CASES))
async def test_a_decision_maker_who_took_part_is_refused(
    session: AsyncSession, users: dict[str, User], role: str
) -> None:
    ready = await ready_for_decision(session, users)
    setup, reason = CASES[role]
    involved = await create_user(
        session, username="involvert", full_name="Involvert Beslutter", password="x" * 12,
        roles={Role.DECISION_MAKER, Role.GRADER, Role.PROCTOR},
    )  # fmt: skip
    await setup(session, ready, involved)
    await session.flush()
    with pytest.raises(Forbidden) as refused:
        await _try(session, ready, involved)
    assert refused.value.message == REFUSALS[reason]
    decision = await decisions.decide(
        session, registration_id=ready.passed, outcome=DecisionOutcome.CERTIFIED, grounds="",
        decider=users["decision_maker"], now=DECIDED_AT, reviews=ToldReviews(),
        participants=ProctoringInvolvement(), timezone="Europe/Oslo",
    )  # fmt: skip
    assert decision.decided_by_id == users["decision_maker"].id


async def test_the_administrator_who_registered_the_candidate_is_refused(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    admin = users["administrator"]
    # The administrator who scheduled the sitting, decided the application and registered the
    # candidate (``build_sitting``) is given the decision maker's role later.
    session.add(admin)
    admin.role_rows.append(UserRole(role=Role.DECISION_MAKER.value))
    await session.flush()
    with pytest.raises(Forbidden) as refused:
        await _try(session, ready, admin)
    assert refused.value.message == REFUSALS[Involvement.ADMINISTERED]


async def test_the_candidate_cannot_decide_on_themselves(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    candidate = ready.built.candidates[0]
    candidate.role_rows.append(UserRole(role=Role.DECISION_MAKER.value))
    await session.flush()
    with pytest.raises(Forbidden) as refused:
        await _try(session, ready, candidate)
    assert refused.value.message == REFUSALS[Involvement.CONFLICT]
