"""Exam delivery rules: eligibility, accommodations, fixed forms, deadlines, idempotent saves,
receipts, scoring and termination, with a clock that is moved instead of waited for."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam import accommodations, attempts, handin, models, registrations, saves
from exam.models import AnswerSave, AttemptStatus
from exam.timing import FixedClock
from itembank.models import ExamForm, ItemVersion
from tests.exam.factories import CHECKED_IN, OPENS, Exam
from vakt.accounts import Role, User, create_user
from vakt.db import create_sessionmaker
from vakt.errors import Conflict, Forbidden, NotFound, VaktError
from vakt.i18n import Moment


@pytest.mark.asyncio
async def test_registration_needs_an_approved_application(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    newcomer = await create_user(
        session, username="ny", full_name="Ny Kandidat", password="x" * 12, roles={Role.CANDIDATE}
    )
    with pytest.raises(Conflict):
        await registrations.register(
            session, sitting_id=exam.sitting_id, candidate=newcomer, actor=exam.admin
        )
    with pytest.raises(Conflict):
        await registrations.register(
            session, sitting_id=exam.sitting_id, candidate=exam.candidate, actor=exam.admin
        )


@pytest.mark.asyncio
async def test_accommodation_deadline_and_extra_time(session: AsyncSession, exam: Exam) -> None:
    too_late = OPENS - timedelta(days=6, hours=23)
    with pytest.raises(Conflict) as refused:
        await accommodations.request_accommodation(
            session, registration_id=exam.registration_id, candidate=exam.candidate,
            extra_time_percent=25, reason="Dysleksi", now=too_late,
        )  # fmt: skip
    assert refused.value.params["deadline"] == Moment(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    with pytest.raises(NotFound):  # not the other candidate's registration
        await accommodations.request_accommodation(
            session, registration_id=exam.registration_id, candidate=exam.other,
            extra_time_percent=25, reason="x", now=OPENS - timedelta(days=10),
        )  # fmt: skip
    request = await accommodations.request_accommodation(
        session, registration_id=exam.registration_id, candidate=exam.candidate,
        extra_time_percent=25, reason="Dysleksi (dokumentert)", now=OPENS - timedelta(days=8),
    )  # fmt: skip
    with pytest.raises(Forbidden):
        await accommodations.decide_accommodation(
            session,
            accommodation_id=request.id,
            approve=True,
            actor=exam.candidate,
            now=OPENS - timedelta(days=8),
        )
    await accommodations.decide_accommodation(
        session,
        accommodation_id=request.id,
        approve=True,
        actor=exam.admin,
        now=OPENS - timedelta(days=7, hours=12),
    )
    clock = FixedClock(OPENS + timedelta(minutes=5))
    attempt = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=clock.now(),
    )
    part = await attempts.start_part(
        session,
        checkin=CHECKED_IN,
        attempt_id=attempt.id,
        candidate=exam.candidate,
        now=clock.now(),
    )
    assert part.deadline == clock.now() + timedelta(minutes=37, seconds=30)


@pytest.mark.asyncio
async def test_form_is_fixed_and_differs_between_candidates(
    session: AsyncSession, exam: Exam
) -> None:
    now = OPENS + timedelta(minutes=1)
    with pytest.raises(Conflict):
        await attempts.start_attempt(
            session,
            checkin=CHECKED_IN,
            registration_id=exam.registration_id,
            candidate=exam.candidate,
            now=OPENS - timedelta(minutes=1),
        )
    first = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=now,
    )
    again = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=now,
    )
    assert again.id == first.id and again.form_id == first.form_id
    other_registration = (
        await session.execute(
            select(models.Registration.id).where(models.Registration.candidate_id == exam.other.id)
        )
    ).scalar_one()
    other = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=other_registration,
        candidate=exam.other,
        now=now,
    )
    forms = [await session.get(ExamForm, a.form_id) for a in (first, other)]
    pins = [[(r.part_index, r.position, r.item_version_id) for r in f.items] for f in forms if f]
    assert pins[0] != pins[1]


async def _started(
    session: AsyncSession, exam: Exam, clock: FixedClock
) -> tuple[int, int, list[int]]:
    attempt = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=clock.now(),
    )
    part = await attempts.start_part(
        session,
        checkin=CHECKED_IN,
        attempt_id=attempt.id,
        candidate=exam.candidate,
        now=clock.now(),
    )
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    return attempt.id, part.id, [r.item_version_id for r in form.items if r.part_index == 0]


@pytest.mark.asyncio
async def test_saves_are_idempotent_and_never_go_backwards(
    session: AsyncSession, exam: Exam
) -> None:
    clock = FixedClock(OPENS)
    _attempt_id, part_id, versions = await _started(session, exam, clock)
    save = {
        "attempt_part_id": part_id,
        "candidate": exam.candidate,
        "item_version_id": versions[0],
        "question_id": "RESPONSE",
    }
    assert (
        await saves.save_answer(session, **save, sequence=2, value="B", now=clock.now())
    ).applied
    assert not (
        await saves.save_answer(session, **save, sequence=1, value="A", now=clock.now())
    ).applied  # late arrival
    repeat = await saves.save_answer(session, **save, sequence=2, value="B", now=clock.now())
    assert not repeat.applied and repeat.sequence == 2
    assert (
        await saves.save_answer(session, **save, sequence=3, value="C", now=clock.now())
    ).applied
    current = await session.get(models.Answer, (part_id, versions[0], "RESPONSE"))
    assert current is not None and current.value == "C" and current.sequence == 3
    history = (await session.scalars(select(AnswerSave.value).order_by(AnswerSave.id))).all()
    assert history == ["B", "A", "B", "C"]  # every save is kept for appeals


@pytest.mark.asyncio
async def test_saves_are_refused_after_the_deadline_and_for_others(
    session: AsyncSession, exam: Exam, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="exam.saves")
    clock = FixedClock(OPENS)
    _attempt_id, part_id, versions = await _started(session, exam, clock)
    save = {
        "attempt_part_id": part_id,
        "item_version_id": versions[0],
        "question_id": "RESPONSE",
        "value": "A",
    }
    with pytest.raises(NotFound):
        await saves.save_answer(session, **save, candidate=exam.other, sequence=1, now=clock.now())
    with pytest.raises(NotFound):
        await saves.save_answer(
            session,
            **{**save, "question_id": "NOPE"},
            candidate=exam.candidate,
            sequence=1,
            now=clock.now(),
        )
    essay_version = await session.scalar(
        select(ItemVersion.id).where(ItemVersion.item_type == "essay")
    )
    with pytest.raises(NotFound):  # an item that is not in this part
        await saves.save_answer(
            session,
            **{**save, "item_version_id": essay_version},
            candidate=exam.candidate,
            sequence=1,
            now=clock.now(),
        )
    clock.advance(timedelta(minutes=30, seconds=4))  # in flight when time ran out: accepted
    assert (
        await saves.save_answer(
            session, **save, candidate=exam.candidate, sequence=1, now=clock.now()
        )
    ).applied
    clock.advance(timedelta(seconds=2))
    with pytest.raises(Conflict):
        await saves.save_answer(
            session, **save, candidate=exam.candidate, sequence=2, now=clock.now()
        )
    logged = [record.getMessage() for record in caplog.records]
    assert f"save in the grace period: part {part_id}, 4.0 s after the deadline" in logged
    assert f"late save refused: part {part_id}, 6.0 s after the deadline" in logged


@pytest.mark.asyncio
async def test_hand_in_scores_gives_a_receipt_and_locks_the_part(
    session: AsyncSession, exam: Exam
) -> None:
    clock = FixedClock(OPENS)
    attempt_id, part_id, versions = await _started(session, exam, clock)
    for version_id in versions:
        version = await session.get(ItemVersion, version_id)
        assert version is not None
        question = version.document["questions"][0]
        value = question["correct"]  # the test knows the key; a candidate never does
        await saves.save_answer(
            session, attempt_part_id=part_id, candidate=exam.candidate, item_version_id=version_id,
            question_id="RESPONSE", sequence=1, value=value, now=clock.now(),
        )  # fmt: skip
    clock.advance(timedelta(minutes=12))
    part = await handin.submit_part(
        session, attempt_part_id=part_id, candidate=exam.candidate, now=clock.now()
    )
    assert (
        part.auto_score == part.auto_max_score == 4.0
    )  # two single choice (1 each) and one multiple response (2)
    assert part.receipt_digest and len(part.receipt_digest) == 64
    assert await handin.verify_receipt(session, part_id)
    with pytest.raises(Conflict):
        await saves.save_answer(
            session, attempt_part_id=part_id, candidate=exam.candidate, item_version_id=versions[0],
            question_id="RESPONSE", sequence=9, value="A", now=clock.now(),
        )  # fmt: skip
    # The break runs before the next part; it does not eat into that part's time.
    with pytest.raises(Conflict):
        await attempts.start_part(
            session,
            checkin=CHECKED_IN,
            attempt_id=attempt_id,
            candidate=exam.candidate,
            now=clock.now(),
        )
    clock.advance(timedelta(minutes=10))
    second = await attempts.start_part(
        session,
        checkin=CHECKED_IN,
        attempt_id=attempt_id,
        candidate=exam.candidate,
        now=clock.now(),
    )
    assert second.deadline - second.started_at == timedelta(minutes=60)
    answer = await session.get(models.Answer, (part_id, versions[0], "RESPONSE"))
    assert answer is not None
    answer.value = "tampered"
    await session.flush()
    assert not await handin.verify_receipt(session, part_id)


@pytest.mark.asyncio
async def test_deadline_hands_in_what_was_saved(session: AsyncSession, exam: Exam) -> None:
    clock = FixedClock(OPENS)
    _attempt_id, part_id, versions = await _started(session, exam, clock)
    await saves.save_answer(
        session, attempt_part_id=part_id, candidate=exam.candidate, item_version_id=versions[0],
        question_id="RESPONSE", sequence=1, value="A", now=clock.now(),
    )  # fmt: skip
    clock.advance(timedelta(minutes=29))
    assert await handin.submit_overdue_parts(session, now=clock.now()) == 0
    clock.advance(timedelta(minutes=2))
    assert await handin.submit_overdue_parts(session, now=clock.now()) == 1
    part = await session.get(models.AttemptPart, part_id)
    assert part is not None and part.submitted_by == "deadline"
    assert part.submitted_at == part.deadline and part.receipt_digest


@pytest.mark.asyncio
async def test_cheating_ends_the_attempt_at_once(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    clock = FixedClock(OPENS)
    attempt_id, part_id, _versions = await _started(session, exam, clock)
    with pytest.raises(Forbidden):
        await handin.terminate_for_cheating(
            session, attempt_id=attempt_id, actor=users["grader"], reason="x", now=clock.now()
        )
    attempt = await handin.terminate_for_cheating(
        session,
        attempt_id=attempt_id,
        actor=users["proctor"],
        reason="Telefon i bruk",
        now=clock.now(),
    )
    assert attempt.status == AttemptStatus.TERMINATED
    part = await session.get(models.AttemptPart, part_id)
    assert part is not None and part.submitted_by == "termination"
    with pytest.raises(Conflict):
        await attempts.start_part(
            session,
            checkin=CHECKED_IN,
            attempt_id=attempt_id,
            candidate=exam.candidate,
            now=clock.now(),
        )
    saves = await session.scalar(select(func.count()).select_from(AnswerSave))
    assert saves == 0


@pytest.mark.asyncio
async def test_two_tabs_saving_at_once_keep_the_newest(
    session: AsyncSession, exam: Exam, engine: AsyncEngine
) -> None:
    clock = FixedClock(OPENS)
    _attempt_id, part_id, versions = await _started(session, exam, clock)
    await session.commit()
    sessionmaker = create_sessionmaker(engine)

    async def tab(sequence: int, value: str) -> None:
        async with sessionmaker() as tab_session:
            await saves.save_answer(
                tab_session, attempt_part_id=part_id, candidate=exam.candidate, item_version_id=versions[0],
                question_id="RESPONSE", sequence=sequence, value=value, now=clock.now(),
            )  # fmt: skip
            await tab_session.commit()

    values = {4: "A", 6: "C", 5: "B", 1: "A", 8: "B", 3: "C", 7: "A", 2: "B"}
    await asyncio.gather(*(tab(sequence, value) for sequence, value in values.items()))
    session.expunge_all()
    current = await session.get(models.Answer, (part_id, versions[0], "RESPONSE"))
    assert current is not None and (current.sequence, current.value) == (8, "B")
    assert await session.scalar(select(func.count()).select_from(AnswerSave)) == 8


@pytest.mark.asyncio
@pytest.mark.parametrize("value", ["Z", 3, ["A"], {"a": 1}])
async def test_impossible_answers_are_refused(
    session: AsyncSession, exam: Exam, value: object
) -> None:
    clock = FixedClock(OPENS)
    _attempt_id, part_id, versions = await _started(session, exam, clock)
    types = {
        v: await session.scalar(select(ItemVersion.item_type).where(ItemVersion.id == v))
        for v in versions
    }
    single = next(v for v, item_type in types.items() if item_type == "single_choice")
    with pytest.raises(VaktError) as refused:
        await saves.save_answer(
            session, attempt_part_id=part_id, candidate=exam.candidate, item_version_id=single,
            question_id="RESPONSE", sequence=1, value=value, now=clock.now(),
        )  # fmt: skip
    assert refused.value.field == "value"


@pytest.mark.asyncio
async def test_saves_racing_a_hand_in_never_change_what_the_receipt_covers(
    session: AsyncSession, exam: Exam, engine: AsyncEngine
) -> None:
    clock = FixedClock(OPENS)
    _attempt_id, part_id, versions = await _started(session, exam, clock)
    await session.commit()
    sessionmaker = create_sessionmaker(engine)

    async def save(sequence: int) -> None:
        async with sessionmaker() as tab:
            await saves.save_answer(
                tab, attempt_part_id=part_id, candidate=exam.candidate, item_version_id=versions[0],
                question_id="RESPONSE", sequence=sequence, value="ABC"[sequence % 3], now=clock.now(),
            )  # fmt: skip
            await tab.commit()

    async def hand_in() -> None:
        async with sessionmaker() as tab:
            await handin.submit_part(
                tab, attempt_part_id=part_id, candidate=exam.candidate, now=clock.now()
            )
            await tab.commit()

    outcomes = await asyncio.gather(*(save(n) for n in range(1, 6)), hand_in(), *(save(n) for n in range(6, 11)),
                                    return_exceptions=True)  # fmt: skip
    assert all(outcome is None or isinstance(outcome, Conflict) for outcome in outcomes), outcomes
    session.expunge_all()
    assert await handin.verify_receipt(session, part_id)
