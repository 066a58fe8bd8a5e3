"""The proctor review: the queue across sittings, flag decisions, clearing an attempt, cheating
proposed and confirmed by a second person (never the proposer), identity decisions that hold
grading, messages to candidates; every decision audited, every wrong role refused."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import models
from exam.models import AttemptStatus
from grading.models import ScriptStatus
from proctoring import messages
from proctoring.flags import raise_flag
from proctoring.models import (
    Flag,
    FlagDecision,
    FlagSource,
    FlagType,
    ReviewOutcome,
    Severity,
)
from proctoring.review import (
    cheating_decision_of,
    clear_attempt,
    confirm_cheating,
    decide_flag,
    decide_identity,
    identity_held,
    propose_cheating,
    reject_cheating,
)
from proctoring.review_claims import claim_review
from proctoring.review_queue import QueueEntry, review_queue
from proctoring.schemas import Policy, ReviewFilters, ReviewState
from tests.exam.factories import OPENS, Exam
from tests.grading.factories import hand_in, scripts_of, wire_events
from tests.proctoring.reviewing import (
    Flagged,
    change_policy,
    flagged_attempt,
    proctors,
    registration_of,
    scheme_of,
    second_sitting,
)
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Conflict, Forbidden, NotFound, VaktError

LATER = OPENS + timedelta(hours=1)
HOSTILE = ["", "   ", "grunn \ud800", "nul\x00byte", "x" * 4001]


async def _queue(
    session: AsyncSession, *, viewer: User, now: datetime, filters: ReviewFilters | None = None
) -> list[QueueEntry]:
    """The attempts on the queue's first page."""
    return (await review_queue(session, viewer=viewer, now=now, filters=filters)).entries


async def _actions(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


async def _confirmed(session: AsyncSession, flagged: Flagged, proctor: User) -> None:
    """Claim the attempt and confirm every flag of it."""
    await claim_review(session, attempt_id=flagged.attempt_id, proctor=proctor, now=LATER)
    for flag_id in flagged.flags:
        await decide_flag(
            session, flag_id=flag_id, decision=FlagDecision.CONFIRMED, reason="", proctor=proctor,
            now=LATER,
        )  # fmt: skip


@pytest.mark.asyncio
async def test_queue_orders_by_worst_open_flag_then_age_across_sittings(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    low = await flagged_attempt(
        session, exam.registration_id, exam.candidate,
        [(FlagType.WINDOW_UNFOCUSED, OPENS + timedelta(minutes=1))],
    )  # fmt: skip
    high = await flagged_attempt(
        session, await registration_of(session, exam.other), exam.other,
        [(FlagType.SPEECH, OPENS + timedelta(minutes=2)),
         (FlagType.MULTIPLE_FACES, OPENS + timedelta(minutes=9))],
    )  # fmt: skip
    sitting_id, registration_id, third = await second_sitting(session, exam)
    medium = await flagged_attempt(
        session, registration_id, third, [(FlagType.PASTE, OPENS + timedelta(minutes=3))]
    )
    proctor = users["proctor"]
    queue = await _queue(session, viewer=proctor, now=LATER)
    assert [e.attempt_id for e in queue] == [high.attempt_id, medium.attempt_id, low.attempt_id]
    assert queue[0].worst_open == Severity.HIGH and queue[0].open_flags == 2
    assert queue[0].oldest_open_at == OPENS + timedelta(minutes=2)
    assert {e.state for e in queue} == {ReviewState.UNREVIEWED}
    # Proctors see whom they watch, never answers or scores.
    fields = {f.name for f in dataclasses.fields(QueueEntry)}
    assert not {name for name in fields if "score" in name or "answer" in name}

    # Once the high flag is dismissed, the other's worst open flag is medium: oldest first.
    await claim_review(session, attempt_id=high.attempt_id, proctor=proctor, now=LATER)
    await decide_flag(
        session, flag_id=high.flags[1], decision=FlagDecision.DISMISSED,
        reason="To personer på plakaten bak", proctor=proctor, now=LATER,
    )  # fmt: skip
    queue = await _queue(session, viewer=proctor, now=LATER)
    assert [e.attempt_id for e in queue] == [high.attempt_id, medium.attempt_id, low.attempt_id]
    assert queue[0].state == ReviewState.CLAIMED and queue[0].claimed_by_id == proctor.id

    by_sitting = await _queue(
        session, viewer=proctor, now=LATER, filters=ReviewFilters(sitting_id=sitting_id)
    )
    assert [e.attempt_id for e in by_sitting] == [medium.attempt_id]
    by_scheme = await _queue(
        session, viewer=proctor, now=LATER,
        filters=ReviewFilters(scheme_id=await scheme_of(session, exam)),
    )  # fmt: skip
    assert len(by_scheme) == 3
    other_scheme = await _queue(
        session, viewer=proctor, now=LATER, filters=ReviewFilters(scheme_id=99999)
    )
    assert other_scheme == []
    by_type = await _queue(
        session, viewer=proctor, now=LATER,
        filters=ReviewFilters(flag_type=FlagType.WINDOW_UNFOCUSED),
    )  # fmt: skip
    assert [e.attempt_id for e in by_type] == [low.attempt_id]
    claimed = await _queue(
        session, viewer=proctor, now=LATER, filters=ReviewFilters(state=ReviewState.CLAIMED)
    )
    assert [e.attempt_id for e in claimed] == [high.attempt_id]
    # An expired claim counts as unreviewed again.
    stale = await _queue(
        session, viewer=proctor, now=LATER + timedelta(hours=1),
        filters=ReviewFilters(state=ReviewState.UNREVIEWED),
    )  # fmt: skip
    assert len(stale) == 3

    # Cleared: out of the default queue, found by its state.
    await decide_flag(
        session, flag_id=high.flags[0], decision=FlagDecision.DISMISSED,
        reason="Leste oppgaven høyt", proctor=proctor, now=LATER,
    )  # fmt: skip
    await clear_attempt(session, attempt_id=high.attempt_id, proctor=proctor, now=LATER)
    queue = await _queue(session, viewer=proctor, now=LATER)
    assert [e.attempt_id for e in queue] == [medium.attempt_id, low.attempt_id]
    cleared = await _queue(
        session, viewer=proctor, now=LATER, filters=ReviewFilters(state=ReviewState.CLEARED)
    )
    assert [(e.attempt_id, e.worst_open, e.open_flags) for e in cleared] == [
        (high.attempt_id, None, 0)
    ]
    # Admins see the queue (they confirm proposals); candidates and graders do not.
    assert await _queue(session, viewer=users["administrator"], now=LATER)
    for who in (exam.candidate, users["grader"], users["decision_maker"]):
        with pytest.raises(Forbidden):
            await _queue(session, viewer=who, now=LATER)


@pytest.mark.asyncio
async def test_flag_decisions_record_who_when_why(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate,
        [(FlagType.TAB_HIDDEN, OPENS), (FlagType.NO_FACE, OPENS + timedelta(minutes=5))],
    )  # fmt: skip
    proctor = users["proctor"]
    with pytest.raises(Conflict):  # not claimed
        await decide_flag(
            session, flag_id=flagged.flags[0], decision=FlagDecision.CONFIRMED, reason="",
            proctor=proctor, now=LATER,
        )  # fmt: skip
    await claim_review(session, attempt_id=flagged.attempt_id, proctor=proctor, now=LATER)
    for reason in HOSTILE:
        with pytest.raises(VaktError) as refused:
            await decide_flag(
                session, flag_id=flagged.flags[0], decision=FlagDecision.DISMISSED,
                reason=reason, proctor=proctor, now=LATER,
            )  # fmt: skip
        assert refused.value.field == "reason"
    for missing in (0, 2**31, 10**400, flagged.flags[-1] + 100):
        with pytest.raises(NotFound):
            await decide_flag(
                session, flag_id=missing, decision=FlagDecision.CONFIRMED, reason="",
                proctor=proctor, now=LATER,
            )  # fmt: skip
    for who in (exam.candidate, users["grader"], users["administrator"]):
        with pytest.raises(Forbidden):
            await decide_flag(
                session, flag_id=flagged.flags[0], decision=FlagDecision.CONFIRMED, reason="",
                proctor=who, now=LATER,
            )  # fmt: skip
    for reason in ("x" * 4001, "feil \ud800"):  # a confirmation's note is optional, not free
        with pytest.raises(VaktError):
            await decide_flag(
                session, flag_id=flagged.flags[0], decision=FlagDecision.CONFIRMED,
                reason=reason, proctor=proctor, now=LATER,
            )  # fmt: skip
    flag = await decide_flag(
        session, flag_id=flagged.flags[0], decision=FlagDecision.DISMISSED,
        reason="  Byttet til hjelpesiden for tilgjengelighet  ", proctor=proctor, now=LATER,
    )  # fmt: skip
    assert flag.decision == FlagDecision.DISMISSED and flag.decided_by_id == proctor.id
    assert flag.decided_at == LATER
    assert flag.decision_reason == "Byttet til hjelpesiden for tilgjengelighet"
    with pytest.raises(Conflict):  # decided once
        await decide_flag(
            session, flag_id=flagged.flags[0], decision=FlagDecision.CONFIRMED, reason="",
            proctor=proctor, now=LATER,
        )  # fmt: skip
    with pytest.raises(Conflict):  # the face flag is still open
        await clear_attempt(session, attempt_id=flagged.attempt_id, proctor=proctor, now=LATER)
    await decide_flag(
        session, flag_id=flagged.flags[1], decision=FlagDecision.CONFIRMED, reason="",
        proctor=proctor, now=LATER,
    )  # fmt: skip
    review = await clear_attempt(session, attempt_id=flagged.attempt_id, proctor=proctor, now=LATER)
    assert review.outcome == ReviewOutcome.CLEARED and review.cleared_by_id == proctor.id
    assert review.claimed_by_id is None
    assert (await _actions(session))[-3:] == [
        "proctoring.flag_decided",
        "proctoring.flag_decided",
        "proctoring.attempt_cleared",
    ]


@pytest.mark.asyncio
async def test_cheating_needs_four_eyes_and_ends_the_attempt(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate,
        [(FlagType.MULTIPLE_FACES, OPENS), (FlagType.SPEECH, OPENS + timedelta(minutes=1)),
         (FlagType.PASTE, OPENS + timedelta(minutes=2))],
    )  # fmt: skip
    _sitting, registration_id, third = await second_sitting(session, exam)
    elsewhere = await flagged_attempt(session, registration_id, third, [(FlagType.PASTE, OPENS)])
    proposer, (second,) = users["proctor"], await proctors(session, 1)
    await _confirmed(session, Flagged(flagged.attempt_id, 0, 0, flagged.flags[:2]), proposer)
    await decide_flag(
        session, flag_id=flagged.flags[2], decision=FlagDecision.DISMISSED, reason="Egen tekst",
        proctor=proposer, now=LATER,
    )  # fmt: skip
    propose = {"attempt_id": flagged.attempt_id, "proctor": proposer, "now": LATER}
    for grounds in HOSTILE:
        with pytest.raises(VaktError) as refused:
            await propose_cheating(session, **propose, grounds=grounds, evidence=[flagged.flags[0]])
        assert refused.value.field == "grounds"
    for evidence in (
        [],  # nothing
        [elsewhere.flags[0]],  # another sitting's flag
        [flagged.flags[0], elsewhere.flags[0]],
        [10**400],  # an id no row can have
        [2**31],
        [flagged.flags[2]],  # dismissed
        list(range(1, 200)),  # too many
    ):
        with pytest.raises(VaktError) as refused:
            await propose_cheating(session, **propose, grounds="Mobil", evidence=evidence)
        assert refused.value.field == "evidence"
    for who in (exam.candidate, users["grader"], users["administrator"]):
        with pytest.raises(Forbidden):
            await propose_cheating(
                session, attempt_id=flagged.attempt_id, proctor=who, now=LATER, grounds="x",
                evidence=[flagged.flags[0]],
            )  # fmt: skip
    review = await propose_cheating(
        session, **propose, grounds="En annen person dikterte svarene",
        evidence=[flagged.flags[1], flagged.flags[0], flagged.flags[0]],
    )  # fmt: skip
    assert review.outcome == ReviewOutcome.CHEATING_PROPOSED
    assert review.evidence == sorted(flagged.flags[:2]) and review.claimed_by_id is None
    proposed = await _queue(
        session, viewer=second, now=LATER, filters=ReviewFilters(state=ReviewState.FOUR_EYES)
    )
    assert [e.attempt_id for e in proposed] == [flagged.attempt_id]

    # Four eyes: the proposer can never confirm (even holding the claim again).
    await claim_review(session, attempt_id=flagged.attempt_id, proctor=proposer, now=LATER)
    with pytest.raises(Forbidden) as refused:
        await confirm_cheating(
            session, attempt_id=flagged.attempt_id, confirmer=proposer, now=LATER
        )
    assert "four eyes" in str(refused.value.message)
    with pytest.raises(Conflict):  # nothing else is decided while the proposal stands
        await clear_attempt(session, attempt_id=flagged.attempt_id, proctor=proposer, now=LATER)
    with pytest.raises(Conflict):  # the proposer is looking at it now
        await confirm_cheating(session, attempt_id=flagged.attempt_id, confirmer=second, now=LATER)
    for who in (exam.candidate, users["grader"], users["decision_maker"]):
        with pytest.raises(Forbidden):
            await confirm_cheating(session, attempt_id=flagged.attempt_id, confirmer=who, now=LATER)
    later = LATER + timedelta(hours=1)  # the proposer's claim has expired
    for grounds in HOSTILE:
        with pytest.raises(VaktError):
            await reject_cheating(
                session, attempt_id=flagged.attempt_id, confirmer=second, grounds=grounds,
                now=later,
            )  # fmt: skip
    rejected = await reject_cheating(
        session, attempt_id=flagged.attempt_id, confirmer=second,
        grounds="Stemmen er fra en radio", now=later,
    )  # fmt: skip
    assert rejected.outcome is None and rejected.rejected_by_id == second.id
    with pytest.raises(Conflict):  # nothing proposed any more
        await confirm_cheating(session, attempt_id=flagged.attempt_id, confirmer=second, now=later)

    # Proposed again, confirmed by an administrator: the attempt ends "Ikke bestått".
    await claim_review(session, attempt_id=flagged.attempt_id, proctor=proposer, now=later)
    await propose_cheating(
        session, attempt_id=flagged.attempt_id, proctor=proposer, now=later,
        grounds="Mobiltelefon i bruk", evidence=[flagged.flags[0]],
    )  # fmt: skip
    confirmed = await confirm_cheating(
        session, attempt_id=flagged.attempt_id, confirmer=users["administrator"], now=later
    )
    assert confirmed.outcome == ReviewOutcome.CHEATING_CONFIRMED
    assert confirmed.confirmed_by_id == users["administrator"].id
    attempt = await session.get(models.Attempt, flagged.attempt_id, populate_existing=True)
    assert attempt is not None and attempt.status == AttemptStatus.TERMINATED
    part = await session.get(models.AttemptPart, flagged.part_id, populate_existing=True)
    assert part is not None and part.submitted_by == models.SubmittedBy.TERMINATION
    assert part.passed is False
    with pytest.raises(Conflict):  # decided: the review is closed
        await claim_review(session, attempt_id=flagged.attempt_id, proctor=second, now=later)
    with pytest.raises(Conflict):
        await confirm_cheating(session, attempt_id=flagged.attempt_id, confirmer=second, now=later)

    # The candidate's My page may show the grounds; nobody else's.
    decision = await cheating_decision_of(
        session, registration_id=exam.registration_id, candidate=exam.candidate
    )
    assert decision is not None and decision.grounds == "Mobiltelefon i bruk"
    assert decision.decided_at == later
    with pytest.raises(NotFound):
        await cheating_decision_of(
            session, registration_id=exam.registration_id, candidate=exam.other
        )
    with pytest.raises(NotFound):
        await cheating_decision_of(session, registration_id=10**400, candidate=exam.candidate)
    assert (
        await cheating_decision_of(session, registration_id=registration_id, candidate=third)
        is None
    )
    actions = await _actions(session)
    for action in (
        "proctoring.cheating_proposed",
        "proctoring.cheating_rejected",
        "proctoring.cheating_confirmed",
        "attempt.terminate",
    ):
        assert action in actions
    final = await _queue(
        session, viewer=second, now=later,
        filters=ReviewFilters(state=ReviewState.CHEATING_CONFIRMED),
    )  # fmt: skip
    assert [e.attempt_id for e in final] == [flagged.attempt_id]


@pytest.mark.asyncio
async def test_without_four_eyes_the_proposal_is_the_decision(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    await change_policy(session, exam, cheating_four_eyes=False)
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate, [(FlagType.SECOND_SCREEN, OPENS)]
    )
    await _confirmed(session, flagged, users["proctor"])
    review = await propose_cheating(
        session, attempt_id=flagged.attempt_id, proctor=users["proctor"], now=LATER,
        grounds="Skjerm nummer to", evidence=flagged.flags,
    )  # fmt: skip
    assert review.outcome == ReviewOutcome.CHEATING_CONFIRMED
    assert review.confirmed_by_id == users["proctor"].id
    attempt = await session.get(models.Attempt, flagged.attempt_id, populate_existing=True)
    assert attempt is not None and attempt.status == AttemptStatus.TERMINATED
    assert attempt.ended_reason == "Skjerm nummer to"


@pytest.mark.asyncio
async def test_identity_not_confirmed_holds_the_registration(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    proctor = users["proctor"]
    assert not await identity_held(session, exam.registration_id)
    for grounds in HOSTILE[:4]:
        with pytest.raises(VaktError):
            await decide_identity(
                session, registration_id=exam.registration_id, confirmed=False, grounds=grounds,
                proctor=proctor, now=LATER,
            )  # fmt: skip
    for who in (exam.candidate, users["grader"], users["administrator"]):
        with pytest.raises(Forbidden):
            await decide_identity(
                session, registration_id=exam.registration_id, confirmed=True, grounds="",
                proctor=who, now=LATER,
            )  # fmt: skip
    for missing in (0, 10**400, exam.registration_id + 1000):
        with pytest.raises(NotFound):
            await decide_identity(
                session, registration_id=missing, confirmed=True, grounds="", proctor=proctor,
                now=LATER,
            )  # fmt: skip
    await decide_identity(
        session, registration_id=exam.registration_id, confirmed=False,
        grounds="Ansiktet stemmer ikke med profilbildet", proctor=proctor, now=LATER,
    )  # fmt: skip
    assert await identity_held(session, exam.registration_id)
    other = await registration_of(session, exam.other)
    assert not await identity_held(session, other)
    decision = await decide_identity(
        session, registration_id=exam.registration_id, confirmed=True,
        grounds="Legitimasjon vist på kamera", proctor=proctor, now=LATER,
    )  # fmt: skip
    assert decision.confirmed and not await identity_held(session, exam.registration_id)
    entries = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "proctoring.identity_decided")
            .order_by(AuditEntry.seq)
        )
    ).all()
    assert [e.after["confirmed"] for e in entries if e.after] == [False, True]
    assert entries[1].before == {"confirmed": False}


@pytest.mark.asyncio
async def test_messages_to_a_candidate(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    proctor = users["proctor"]
    send = {"registration_id": exam.registration_id, "now": LATER}
    for text in [*HOSTILE[:4], "x" * 1001]:
        with pytest.raises(VaktError) as refused:
            await messages.send_message(session, **send, text=text, proctor=proctor)
        assert refused.value.field == "text"
    for who in (exam.candidate, users["grader"], users["administrator"]):
        with pytest.raises(Forbidden):
            await messages.send_message(session, **send, text="Hei", proctor=who)
    with pytest.raises(NotFound):
        await messages.send_message(
            session, registration_id=10**400, now=LATER, text="Hei", proctor=proctor
        )
    first = await messages.send_message(
        session, **send, text="Snu kameraet mot deg, takk.", proctor=proctor
    )
    second = await messages.send_message(
        session, **send, text="<script>alert(1)</script>", proctor=proctor
    )
    unread = await messages.unread_messages(
        session, registration_id=exam.registration_id, candidate=exam.candidate
    )
    assert [m.text for m in unread] == ["Snu kameraet mot deg, takk.", "<script>alert(1)</script>"]
    with pytest.raises(NotFound):  # another candidate's messages are not theirs to know
        await messages.unread_messages(
            session, registration_id=exam.registration_id, candidate=exam.other
        )
    with pytest.raises(NotFound):
        await messages.mark_read(
            session, registration_id=exam.registration_id, through_id=second.id,
            candidate=exam.other, now=LATER,
        )  # fmt: skip
    read = await messages.mark_read(
        session, registration_id=exam.registration_id, through_id=first.id,
        candidate=exam.candidate, now=LATER,
    )  # fmt: skip
    assert read == 1
    unread = await messages.unread_messages(
        session, registration_id=exam.registration_id, candidate=exam.candidate
    )
    assert [m.id for m in unread] == [second.id]
    assert (
        await messages.mark_read(
            session,
            registration_id=exam.registration_id,
            through_id=10**400,
            candidate=exam.candidate,
            now=LATER,
        )
        == 1
    )
    actions = await _actions(session)
    assert actions.count("proctoring.message_sent") == 2
    assert actions.count("proctoring.messages_read") == 2


@pytest.mark.asyncio
async def test_check_in_flags_belong_to_the_attempts_review(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate, [(FlagType.PASTE, OPENS)]
    )
    check_in = Flag(
        registration_id=exam.registration_id, attempt_id=None, attempt_part_id=None,
        type=FlagType.IDENTITY_DOUBTFUL, severity=Severity.HIGH, source="identity",
        started_at=OPENS - timedelta(minutes=5), ended_at=OPENS - timedelta(minutes=5),
        evidence={}, note="",
    )  # fmt: skip
    session.add(check_in)
    await session.commit()
    (entry,) = await _queue(session, viewer=users["proctor"], now=LATER)
    assert entry.attempt_id == flagged.attempt_id
    assert entry.worst_open == Severity.HIGH and entry.open_flags == 2
    await claim_review(session, attempt_id=flagged.attempt_id, proctor=users["proctor"], now=LATER)
    flag = await decide_flag(
        session, flag_id=check_in.id, decision=FlagDecision.CONFIRMED, reason="",
        proctor=users["proctor"], now=LATER,
    )  # fmt: skip
    assert flag.decision == FlagDecision.CONFIRMED


@pytest.mark.asyncio
async def test_confirmed_cheating_stops_grading(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    wire_events(session)
    handed_in = await hand_in(session, exam, exam.candidate)
    assert await scripts_of(session, handed_in.knowledge_part_id)
    flag = await raise_flag(
        session, policy=Policy(), flag_type=FlagType.MULTIPLE_FACES, source=FlagSource.LIVE,
        registration_id=exam.registration_id, attempt_id=handed_in.attempt_id,
        attempt_part_id=handed_in.knowledge_part_id, started_at=OPENS + timedelta(minutes=20),
        ended_at=OPENS + timedelta(minutes=21),
    )  # fmt: skip
    await session.commit()
    flagged = Flagged(handed_in.attempt_id, exam.registration_id, 0, [flag.id])
    await _confirmed(session, flagged, users["proctor"])
    await propose_cheating(
        session, attempt_id=handed_in.attempt_id, proctor=users["proctor"], now=LATER,
        grounds="To personer skrev besvarelsen", evidence=[flag.id],
    )  # fmt: skip
    (second,) = await proctors(session, 1)
    await confirm_cheating(session, attempt_id=handed_in.attempt_id, confirmer=second, now=LATER)
    await session.commit()
    scripts = await scripts_of(session, handed_in.knowledge_part_id)
    assert scripts and {s.status for s in scripts} == {ScriptStatus.WITHDRAWN}
