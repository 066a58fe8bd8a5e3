"""Pausing a part's clock for an incident: the time left is restored exactly, nothing is saved
or handed in meanwhile, the deadline task leaves the part alone, and only proctors and staff
may pause."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam import attempts, handin, models, pauses, saves
from exam.jobs import submit_overdue_once
from exam.models import AttemptStatus, PartPause
from exam.timing import SAVE_GRACE, FixedClock
from itembank.models import ExamForm
from tests.exam.factories import CHECKED_IN, OPENS, Exam
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import create_sessionmaker
from vakt.errors import Conflict, Forbidden, NotFound, VaktError


async def _started(session: AsyncSession, exam: Exam, clock: FixedClock) -> tuple[int, int, int]:
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=exam.registration_id,
        candidate=exam.candidate, now=clock.now(),
    )  # fmt: skip
    part = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate,
        now=clock.now(),
    )  # fmt: skip
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    version = next(r.item_version_id for r in form.items if r.part_index == 0)
    await session.commit()
    return attempt.id, part.id, version


async def _part(session: AsyncSession, part_id: int) -> models.AttemptPart:
    part = await session.get(models.AttemptPart, part_id, populate_existing=True)
    assert part is not None
    return part


@pytest.mark.asyncio
async def test_resume_restores_the_exact_time_left(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    clock = FixedClock(OPENS)
    _attempt, part_id, _version = await _started(session, exam, clock)
    clock.advance(timedelta(minutes=11, seconds=7, microseconds=123_457))
    before = (await _part(session, part_id)).deadline - clock.now()
    pause = await pauses.pause_part(
        session, attempt_part_id=part_id, registration_id=exam.registration_id,
        actor=users["proctor"],
        grounds="Kameraet viste en annen person", now=clock.now(),
    )  # fmt: skip
    await session.commit()
    clock.advance(timedelta(minutes=7, seconds=3, microseconds=999_001))
    part = await _part(session, part_id)
    assert part.paused_at == pause.paused_at
    assert pauses.time_left(part, clock.now()) == before  # the clock stands still
    await pauses.resume_part(
        session,
        attempt_part_id=part_id,
        registration_id=exam.registration_id,
        actor=users["administrator"],
        now=clock.now(),
    )
    await session.commit()
    part = await _part(session, part_id)
    assert part.paused_at is None
    assert part.deadline - clock.now() == before  # to the microsecond, from the database
    assert pauses.time_left(part, clock.now()) == before
    record = (await pauses.pauses_of(session, part_id))[0]
    assert record.grounds == "Kameraet viste en annen person"
    assert record.paused_by_id == users["proctor"].id
    assert record.resumed_by_id == users["administrator"].id
    assert record.deadline_after == part.deadline
    assert record.deadline_after - record.deadline_before == timedelta(
        minutes=7, seconds=3, microseconds=999_001
    )
    actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions[-2:] == ["attempt.part_paused", "attempt.part_resumed"]


@pytest.mark.asyncio
async def test_saves_and_hand_in_are_refused_while_paused(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    clock = FixedClock(OPENS)
    _attempt, part_id, version = await _started(session, exam, clock)
    save = {
        "attempt_part_id": part_id, "candidate": exam.candidate, "item_version_id": version,
        "question_id": "RESPONSE",
    }  # fmt: skip
    assert (
        await saves.save_answer(session, **save, sequence=1, value="A", now=clock.now())
    ).applied
    await pauses.pause_part(
        session, attempt_part_id=part_id, registration_id=exam.registration_id,
        actor=users["proctor"], grounds="Brannalarm",
        now=clock.now(),
    )  # fmt: skip
    await session.commit()
    with pytest.raises(Conflict) as refused:
        await saves.save_answer(session, **save, sequence=2, value="B", now=clock.now())
    assert refused.value.message == pauses.PAUSED
    with pytest.raises(Conflict) as refused:
        await handin.submit_part(
            session, attempt_part_id=part_id, candidate=exam.candidate, now=clock.now()
        )
    assert refused.value.message == pauses.PAUSED
    clock.advance(timedelta(minutes=45))  # past the original deadline: still paused, not late
    with pytest.raises(Conflict) as refused:
        await saves.save_answer(session, **save, sequence=3, value="C", now=clock.now())
    assert refused.value.message == pauses.PAUSED
    await pauses.resume_part(
        session,
        attempt_part_id=part_id,
        registration_id=exam.registration_id,
        actor=users["proctor"],
        now=clock.now(),
    )
    assert (
        await saves.save_answer(session, **save, sequence=4, value="C", now=clock.now())
    ).applied
    part = await handin.submit_part(
        session, attempt_part_id=part_id, candidate=exam.candidate, now=clock.now()
    )
    assert part.submitted_by == models.SubmittedBy.CANDIDATE
    current = await session.get(models.Answer, (part_id, version, "RESPONSE"))
    assert current is not None and current.value == "C"


@pytest.mark.asyncio
async def test_the_deadline_task_skips_a_paused_part(
    session: AsyncSession, exam: Exam, users: dict[str, User], engine: AsyncEngine
) -> None:
    clock = FixedClock(OPENS)
    _attempt, part_id, _version = await _started(session, exam, clock)
    deadline = (await _part(session, part_id)).deadline
    clock.set(deadline - timedelta(minutes=1))
    await pauses.pause_part(
        session, attempt_part_id=part_id, registration_id=exam.registration_id,
        actor=users["proctor"], grounds="Nettverksfeil",
        now=clock.now(),
    )  # fmt: skip
    await session.commit()
    clock.set(deadline + SAVE_GRACE + timedelta(hours=1))
    assert await handin.overdue_part_ids(session, now=clock.now()) == []
    assert not await handin.submit_overdue_part(session, attempt_part_id=part_id, now=clock.now())
    assert await submit_overdue_once(create_sessionmaker(engine), clock) == 0
    assert (await _part(session, part_id)).submitted_at is None
    await pauses.resume_part(
        session,
        attempt_part_id=part_id,
        registration_id=exam.registration_id,
        actor=users["proctor"],
        now=clock.now(),
    )
    await session.commit()
    new_deadline = (await _part(session, part_id)).deadline
    assert new_deadline - clock.now() == timedelta(minutes=1)
    clock.set(new_deadline + SAVE_GRACE)
    assert await submit_overdue_once(create_sessionmaker(engine), clock) == 0
    clock.advance(timedelta(microseconds=1))
    assert await submit_overdue_once(create_sessionmaker(engine), clock) == 1
    part = await _part(session, part_id)
    assert part.submitted_by == models.SubmittedBy.DEADLINE
    assert part.submitted_at == new_deadline


@pytest.mark.asyncio
async def test_only_proctors_and_staff_pause_and_bad_input_is_refused(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    clock = FixedClock(OPENS)
    _attempt, part_id, _version = await _started(session, exam, clock)
    for who in (exam.candidate, users["grader"], users["decision_maker"]):
        with pytest.raises(Forbidden):
            await pauses.pause_part(
                session,
                attempt_part_id=part_id,
                registration_id=exam.registration_id,
                actor=who,
                grounds="x",
                now=clock.now(),
            )
        with pytest.raises(Forbidden):
            await pauses.resume_part(
                session,
                attempt_part_id=part_id,
                registration_id=exam.registration_id,
                actor=who,
                now=clock.now(),
            )
    proctor = users["proctor"]
    for grounds in ("", "   ", "feil \ud800", "nul\x00", "x" * 2001):
        with pytest.raises(VaktError) as refused:
            await pauses.pause_part(
                session,
                attempt_part_id=part_id,
                registration_id=exam.registration_id,
                actor=proctor,
                grounds=grounds,
                now=clock.now(),
            )
        assert refused.value.field == "grounds"
    for missing in (0, -1, 10**400, 2**31):
        with pytest.raises(NotFound):
            await pauses.pause_part(
                session, attempt_part_id=missing, registration_id=exam.registration_id,
                actor=proctor, grounds="x", now=clock.now(),
            )  # fmt: skip
    with pytest.raises(Conflict):  # not paused
        await pauses.resume_part(
            session,
            attempt_part_id=part_id,
            registration_id=exam.registration_id,
            actor=proctor,
            now=clock.now(),
        )
    await pauses.pause_part(
        session,
        attempt_part_id=part_id,
        registration_id=exam.registration_id,
        actor=proctor,
        grounds="x",
        now=clock.now(),
    )
    with pytest.raises(Conflict):  # paused already
        await pauses.pause_part(
            session,
            attempt_part_id=part_id,
            registration_id=exam.registration_id,
            actor=proctor,
            grounds="y",
            now=clock.now(),
        )
    await pauses.resume_part(
        session,
        attempt_part_id=part_id,
        registration_id=exam.registration_id,
        actor=proctor,
        now=clock.now(),
    )
    deadline = (await _part(session, part_id)).deadline
    with pytest.raises(Conflict):  # the time is up: nothing left to keep
        await pauses.pause_part(
            session,
            attempt_part_id=part_id,
            registration_id=exam.registration_id,
            actor=proctor,
            grounds="x",
            now=deadline,
        )
    assert len((await session.scalars(select(PartPause))).all()) == 1


@pytest.mark.asyncio
async def test_ending_the_attempt_for_cheating_ends_its_pause_and_the_page_is_told(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    clock = FixedClock(OPENS)
    signal = pauses.clock_signal
    assert await signal(session, exam.registration_id) == pauses.ClockSignal(False, False)
    attempt_id, part_id, _version = await _started(session, exam, clock)
    assert await signal(session, exam.registration_id) == pauses.ClockSignal(False, False)
    await pauses.pause_part(
        session,
        attempt_part_id=part_id,
        registration_id=exam.registration_id,
        actor=users["proctor"],
        grounds="Mobil",
        now=clock.now(),
    )
    # What the exam page's messages poll tells it at once (exam.js stops its countdown).
    assert await signal(session, exam.registration_id) == pauses.ClockSignal(True, False)
    clock.advance(timedelta(minutes=2))
    attempt = await handin.terminate_for_cheating(
        session, attempt_id=attempt_id, actor=users["proctor"], reason="Mobil", now=clock.now()
    )
    assert attempt.status == AttemptStatus.TERMINATED
    part = await _part(session, part_id)
    assert part.paused_at is None and part.submitted_by == models.SubmittedBy.TERMINATION
    (record,) = await pauses.pauses_of(session, part_id)
    assert record.resumed_at == clock.now()
    assert await signal(session, exam.registration_id) == pauses.ClockSignal(False, True)
    with pytest.raises(Conflict):
        await pauses.pause_part(
            session, attempt_part_id=part_id, registration_id=exam.registration_id,
            actor=users["proctor"], grounds="x",
            now=clock.now(),
        )  # fmt: skip


@pytest.mark.asyncio
async def test_a_part_is_paused_only_as_its_own_registrations_and_sittings(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    """Whoever calls, naming another candidate's registration (or another sitting) with this
    part is "not found", and the clock runs on unaudited."""
    clock = FixedClock(OPENS)
    _attempt, part_id, _version = await _started(session, exam, clock)
    other = await session.scalar(
        select(models.Registration.id).where(models.Registration.candidate_id == exam.other.id)
    )
    assert other is not None
    proctor = users["proctor"]
    for registration_id, sitting_id in (
        (other, None), (other, exam.sitting_id), (exam.registration_id, exam.sitting_id + 1),
        (exam.registration_id, 2**31), (2**31, None),
    ):  # fmt: skip
        with pytest.raises(NotFound):
            await pauses.pause_part(
                session, attempt_part_id=part_id, registration_id=registration_id,
                sitting_id=sitting_id, actor=proctor, grounds="x", now=clock.now(),
            )  # fmt: skip
        with pytest.raises(NotFound):
            await pauses.resume_part(
                session, attempt_part_id=part_id, registration_id=registration_id,
                sitting_id=sitting_id, actor=proctor, now=clock.now(),
            )  # fmt: skip
    assert (await _part(session, part_id)).paused_at is None
    clock_changes = ["attempt.part_paused", "attempt.part_resumed"]
    audited = select(AuditEntry).where(AuditEntry.action.in_(clock_changes))
    assert await session.scalar(audited) is None
    await pauses.pause_part(
        session, attempt_part_id=part_id, registration_id=exam.registration_id,
        sitting_id=exam.sitting_id, actor=proctor, grounds="x", now=clock.now(),
    )  # fmt: skip
    assert (await _part(session, part_id)).paused_at == clock.now()
