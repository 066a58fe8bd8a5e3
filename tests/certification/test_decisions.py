"""The certification decision: each requirement blocks certifying on its own, refusing needs
grounds, one decision stands, the certificate is issued and the results released with it, and a
result that is not passed can be released by the decision maker before any decision."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from certification import decisions, policy
from certification.independence import NO_PARTICIPANTS
from certification.models import Appeal, Certificate, CertificationDecision, RegistrationFee
from certification.requirements import case_of
from certification.schemas import AppealStatus, CertificationRules, DecisionOutcome, FeeStatus
from exam.models import (
    Application,
    ApplicationStatus,
    Attempt,
    AttemptPart,
    AttemptStatus,
    Declaration,
)
from exam.reviews import ReviewSummary
from tests.certification.factories import (
    DECIDED_AT,
    Ready,
    ToldReviews,
    ready_for_decision,
)
from vakt.accounts import Role, User, create_user
from vakt.audit import AuditEntry
from vakt.db import create_sessionmaker
from vakt.errors import Conflict, Forbidden, NotFound, VaktError

pytestmark = pytest.mark.asyncio


async def _decide(
    session: AsyncSession,
    registration_id: int,
    decider: User,
    outcome: DecisionOutcome = DecisionOutcome.CERTIFIED,
    grounds: str = "",
    reviews: ToldReviews | None = None,
) -> CertificationDecision:
    return await decisions.decide(
        session, registration_id=registration_id, outcome=outcome, grounds=grounds,
        decider=decider, now=DECIDED_AT, reviews=reviews or ToldReviews(),
        participants=NO_PARTICIPANTS, timezone="Europe/Oslo",
    )  # fmt: skip


async def _attempt(session: AsyncSession, registration_id: int) -> Attempt:
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == registration_id)
    )
    assert attempt is not None
    return attempt


async def test_certifying_issues_the_certificate_and_releases_the_results(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    decision = await _decide(session, ready.passed, users["decision_maker"])
    await session.commit()
    assert decision.outcome == DecisionOutcome.CERTIFIED
    assert {r["key"] for r in decision.requirements} == {
        "application", "part:mc", "part:kunnskap", "proctoring", "declarations", "fee", "window",
        "appeal",
    }  # fmt: skip
    certificate = await session.scalar(
        select(Certificate).where(Certificate.decision_id == decision.id)
    )
    assert certificate is not None and certificate.holder_id == ready.built.candidates[0].id
    assert (await _attempt(session, ready.passed)).results_released_at == DECIDED_AT
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "certification.decided")
    )
    assert entry is not None and entry.after is not None
    assert entry.after["outcome"] == "certified"
    assert entry.after["requirements"] == decision.requirements
    assert ready.passed not in {row.registration.id for row in await decisions.queue(session)}


async def _break_application(session: AsyncSession, ready: Ready, users: dict[str, User]) -> None:
    application = await session.scalar(
        select(Application).where(Application.candidate_id == ready.built.candidates[0].id)
    )
    assert application is not None
    application.status = ApplicationStatus.REJECTED


async def _break_part(session: AsyncSession, ready: Ready, users: dict[str, User]) -> None:
    attempt = await _attempt(session, ready.passed)
    part = await session.scalar(
        select(AttemptPart).where(
            AttemptPart.attempt_id == attempt.id, AttemptPart.part_key == "kunnskap"
        )
    )
    assert part is not None
    part.passed = False


async def _break_declarations(session: AsyncSession, ready: Ready, users: dict[str, User]) -> None:
    await session.execute(delete(Declaration).where(Declaration.registration_id == ready.passed))


async def _break_fee(session: AsyncSession, ready: Ready, users: dict[str, User]) -> None:
    fee = await session.get(RegistrationFee, ready.passed)
    assert fee is not None
    fee.status = FeeStatus.DUE


async def _break_window(session: AsyncSession, ready: Ready, users: dict[str, User]) -> None:
    await policy.set_rules(
        session, scheme_id=ready.built.scheme_id, rules=CertificationRules(completion_months=1),
        actor=users["administrator"], now=DECIDED_AT,
    )  # fmt: skip
    attempt = await _attempt(session, ready.passed)
    part = await session.scalar(
        select(AttemptPart).where(
            AttemptPart.attempt_id == attempt.id, AttemptPart.part_key == "kunnskap"
        )
    )
    assert part is not None and part.submitted_at is not None
    part.submitted_at += timedelta(days=40)


async def _open_appeal(session: AsyncSession, ready: Ready, users: dict[str, User]) -> None:
    # As if the released result had been appealed against and the appeal were being handled.
    session.add(
        Appeal(
            year=DECIDED_AT.year, sequence=1, number=f"K-{DECIDED_AT.year}-0001",
            candidate_id=ready.built.candidates[0].id, registration_id=ready.passed,
            grounds="The essay was marked wrongly.", filed_at=DECIDED_AT,
            status=AppealStatus.IN_REVIEW,
        )
    )  # fmt: skip


BREAKS = {
    "application": _break_application,
    "part:kunnskap": _break_part,
    "declarations": _break_declarations,
    "fee": _break_fee,
    "window": _break_window,
    "appeal": _open_appeal,
}


@pytest.mark.parametrize("key", list(BREAKS))
async def test_each_requirement_blocks_certifying_on_its_own(
    session: AsyncSession, users: dict[str, User], key: str
) -> None:
    ready = await ready_for_decision(session, users)
    await BREAKS[key](session, ready, users)
    await session.flush()
    with pytest.raises(VaktError) as refused:
        await _decide(session, ready.passed, users["decision_maker"])
    assert refused.value.status_code == 409 and refused.value.field == "outcome"
    assert len(refused.value.details) >= 1
    case = await case_of(session, ready.passed, ToldReviews())
    assert [r.key for r in case.requirements if not r.met] == [key]
    assert await session.scalar(select(func.count()).select_from(CertificationDecision)) == 0


@pytest.mark.parametrize(
    "summary",
    [
        ReviewSummary(cleared=False, open_flags=1, identity_confirmed=True),
        ReviewSummary(cheating_confirmed=True, grounds="Notes", identity_confirmed=True),
        ReviewSummary(cheating_proposed=True, grounds="Notes", identity_confirmed=True),
        ReviewSummary(cleared=True, identity_confirmed=None),
        ReviewSummary(cleared=True, identity_confirmed=False),
    ],
    ids=["open-flag", "cheating", "cheating-proposed", "identity-undecided", "identity-refused"],
)
async def test_proctoring_blocks_certifying_on_its_own(
    session: AsyncSession, users: dict[str, User], summary: ReviewSummary
) -> None:
    ready = await ready_for_decision(session, users)
    reviews = ToldReviews(summary)
    with pytest.raises(VaktError) as refused:
        await _decide(session, ready.passed, users["decision_maker"], reviews=reviews)
    assert refused.value.status_code == 409
    case = await case_of(session, ready.passed, reviews)
    assert [r.key for r in case.requirements if not r.met] == ["proctoring"]


async def test_no_fee_needed_when_the_scheme_says_so(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    await _break_fee(session, ready, users)
    await policy.set_rules(
        session, scheme_id=ready.built.scheme_id, rules=CertificationRules(fee_required=False),
        actor=users["administrator"], now=DECIDED_AT,
    )  # fmt: skip
    decision = await _decide(session, ready.passed, users["decision_maker"])
    assert decision.outcome == DecisionOutcome.CERTIFIED


async def test_refusing_needs_grounds_and_releases_the_results(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    refused = DecisionOutcome.REFUSED
    for blank in ("", "   \n"):
        with pytest.raises(VaktError) as error:
            await _decide(session, ready.failed, users["decision_maker"], refused, blank)
        assert error.value.field == "grounds"
    decision = await _decide(
        session, ready.failed, users["decision_maker"], refused, "Flervalg ikke bestått."
    )
    assert decision.grounds == "Flervalg ikke bestått."
    assert await session.scalar(select(func.count()).select_from(Certificate)) == 0
    assert (await _attempt(session, ready.failed)).results_released_at == DECIDED_AT
    with pytest.raises(Conflict):
        await _decide(session, ready.failed, users["decision_maker"], refused, "Igjen.")


async def test_only_a_decision_maker_decides_and_releases(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    for role in ("administrator", "proctor", "grader", "candidate"):
        with pytest.raises(Forbidden):
            await _decide(session, ready.passed, users[role])
        with pytest.raises(Forbidden):
            await decisions.release_not_passed(
                session, registration_id=ready.failed, decider=users[role], now=DECIDED_AT,
                reviews=ToldReviews(), participants=NO_PARTICIPANTS,
            )  # fmt: skip


async def test_a_not_passed_result_is_released_before_the_decision_a_passed_one_is_not(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    args = {"decider": users["decision_maker"], "now": DECIDED_AT, "reviews": ToldReviews(),
            "participants": NO_PARTICIPANTS}  # fmt: skip
    attempt = await decisions.release_not_passed(session, registration_id=ready.failed, **args)
    assert attempt.results_released_at == DECIDED_AT
    with pytest.raises(Conflict):
        await decisions.release_not_passed(session, registration_id=ready.passed, **args)
    assert (await _attempt(session, ready.passed)).results_released_at is None
    assert ready.failed in {row.registration.id for row in await decisions.queue(session)}


async def test_unknown_or_incomplete_registrations_are_not_found(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    with pytest.raises(NotFound):
        await _decide(session, 2**31 - 1, users["decision_maker"])
    attempt = await _attempt(session, ready.passed)
    attempt.status = AttemptStatus.IN_PROGRESS
    part = await session.scalar(select(AttemptPart).where(AttemptPart.attempt_id == attempt.id))
    assert part is not None
    with pytest.raises(NotFound):
        await _decide(session, ready.passed, users["decision_maker"])
    attempt.status = AttemptStatus.FINISHED
    part.passed = None
    with pytest.raises(NotFound):
        await _decide(session, ready.passed, users["decision_maker"])
    assert ready.passed not in {row.registration.id for row in await decisions.queue(session)}


async def test_the_queue_is_oldest_first_and_filters(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    rows = await decisions.queue(session)
    assert [row.registration.id for row in rows] == ready.registration_ids
    ended = [row.attempt.ended_at for row in rows]
    assert ended == sorted(ended)  # type: ignore[type-var]
    assert len(await decisions.queue(session, scheme_id=ready.built.scheme_id)) == 6
    assert await decisions.queue(session, scheme_id=ready.built.scheme_id + 1) == []
    assert await decisions.queue(session, sitting_id=ready.built.sitting_id + 1) == []


async def test_two_decision_makers_at_once_make_one_decision(
    engine: AsyncEngine, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    second = await create_user(
        session, username="beslutter2", full_name="Andre Beslutter", password="x" * 12,
        roles={Role.DECISION_MAKER},
    )  # fmt: skip
    await session.commit()
    makers = create_sessionmaker(engine)

    async def decide_as(decider_id: int) -> str:
        async with makers() as own:
            decider = await own.get(User, decider_id)
            assert decider is not None
            try:
                await _decide(own, ready.passed, decider)
                await own.commit()
            except Conflict:
                await own.rollback()
                return "conflict"
            return "decided"

    outcomes = await asyncio.gather(decide_as(users["decision_maker"].id), decide_as(second.id))
    assert sorted(outcomes) == ["conflict", "decided"]
    count = await session.scalar(
        select(func.count())
        .select_from(CertificationDecision)
        .where(CertificationDecision.registration_id == ready.passed)
    )
    assert count == 1
    assert await session.scalar(select(func.count()).select_from(Certificate)) == 1


async def test_a_terminated_attempt_can_only_be_refused(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    attempt = await _attempt(session, ready.passed)
    attempt.status = AttemptStatus.TERMINATED
    attempt.ended_reason = "Juks."
    await session.flush()
    assert ready.passed in {row.registration.id for row in await decisions.queue(session)}
    case = await case_of(session, ready.passed, ToldReviews())
    assert [r.key for r in case.requirements if not r.met] == ["attempt"]
    with pytest.raises(VaktError) as refused:
        await _decide(session, ready.passed, users["decision_maker"])
    assert refused.value.status_code == 409
    decision = await _decide(
        session, ready.passed, users["decision_maker"], DecisionOutcome.REFUSED, "Juks."
    )
    assert decision.outcome == DecisionOutcome.REFUSED
