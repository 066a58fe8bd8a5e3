"""Answers typed before a part's deadline that reach the server after it, because the connection
was lost: they count within the window, are recorded as late with both times, re-issue the
receipt and raise a network-loss flag; anything else is refused and kept in the history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, handin, saves
from exam.events import ExamEvents, LateAnswersDelivered, with_events
from exam.models import Answer, AnswerSave, AttemptPart, SubmittedBy
from exam.timing import FixedClock
from itembank.models import ExamForm
from proctoring.models import Flag, FlagType
from proctoring.schemas import Policy
from proctoring.subscriptions import subscribe
from tests.exam.factories import CHECKED_IN, OPENS, Exam, build_exam
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Conflict

WINDOW = timedelta(minutes=15)


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    return await build_exam(session, users, proctoring=Policy())


@pytest.fixture
def events(session: AsyncSession) -> ExamEvents:
    """The exam's events with proctoring subscribed, wired to the session as the application
    wires them to its own."""
    wired = ExamEvents()
    subscribe(wired)
    session.info.update(with_events(wired))
    return wired


async def _first_part(session: AsyncSession, exam: Exam, now: datetime) -> tuple[int, int]:
    """Start the attempt and its first part; the part's id and a single-choice item version."""
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=exam.registration_id,
        candidate=exam.candidate, now=now,
    )  # fmt: skip
    part = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=now
    )
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    version_id = next(r.item_version_id for r in form.items if r.part_index == 0)
    await session.commit()
    return part.id, version_id


async def _save(
    session: AsyncSession,
    exam: Exam,
    part_id: int,
    version_id: int,
    *,
    value: str,
    sequence: int,
    now: datetime,
    changed_at: datetime | None,
) -> saves.SaveResult:
    return await saves.save_answer(
        session, attempt_part_id=part_id, candidate=exam.candidate, item_version_id=version_id,
        question_id="RESPONSE", sequence=sequence, value=value, now=now, changed_at=changed_at,
        late_window=WINDOW,
    )  # fmt: skip


@pytest.mark.asyncio
async def test_an_answer_typed_in_time_counts_after_the_hand_in(
    session: AsyncSession, exam: Exam, events: ExamEvents
) -> None:
    clock = FixedClock(OPENS)
    part_id, version_id = await _first_part(session, exam, clock.now())
    deadline = OPENS + timedelta(minutes=30)
    clock.set(deadline - timedelta(minutes=2))
    await _save(session, exam, part_id, version_id, value="A", sequence=1, now=clock.now(),
                changed_at=clock.now())  # fmt: skip
    await session.commit()
    # The connection drops; the candidate changes the answer 30 s before the deadline. The
    # deadline task hands the part in with what it has.
    clock.set(deadline + timedelta(seconds=10))
    assert await handin.submit_overdue_parts(session, now=clock.now()) == 1
    await session.commit()
    part = await session.get(AttemptPart, part_id)
    assert part is not None and part.submitted_by == SubmittedBy.DEADLINE.value
    first_receipt = part.receipt_digest

    clock.set(deadline + timedelta(seconds=40))  # the connection is back
    typed_at = deadline - timedelta(seconds=30)
    result = await _save(session, exam, part_id, version_id, value="B", sequence=2,
                         now=clock.now(), changed_at=typed_at)  # fmt: skip
    await session.commit()
    assert result.applied and result.delivered_late

    answer = await session.get(Answer, (part_id, version_id, "RESPONSE"))
    assert answer is not None and answer.value == "B"
    kept = (
        await session.scalars(
            select(AnswerSave).where(AnswerSave.attempt_part_id == part_id).order_by(AnswerSave.id)
        )
    ).all()
    late = kept[-1]
    assert late.delivered_late and late.applied and late.refusal is None
    assert late.changed_at == typed_at and late.received_at == clock.now()

    await session.refresh(part)
    assert part.receipt_digest != first_receipt
    assert part.receipt_reissued_at == clock.now()
    assert await handin.verify_receipt(session, part_id)  # the new receipt covers "B"
    actions = set(await session.scalars(select(AuditEntry.action)))
    assert {"attempt.late_answer", "attempt.receipt_reissued"} <= actions

    flag = await session.scalar(select(Flag).where(Flag.type == FlagType.NETWORK_LOSS.value))
    assert flag is not None and flag.attempt_part_id == part_id
    assert flag.started_at == deadline - timedelta(minutes=2)  # the last contact
    assert flag.ended_at == clock.now()


@pytest.mark.asyncio
async def test_what_was_typed_after_the_deadline_or_arrives_too_late_is_refused_and_kept(
    session: AsyncSession, exam: Exam, events: ExamEvents
) -> None:
    clock = FixedClock(OPENS)
    part_id, version_id = await _first_part(session, exam, clock.now())
    deadline = OPENS + timedelta(minutes=30)
    clock.set(deadline + timedelta(minutes=1))

    with pytest.raises(Conflict) as after:
        await _save(session, exam, part_id, version_id, value="A", sequence=5, now=clock.now(),
                    changed_at=deadline + timedelta(seconds=1))  # fmt: skip
    assert after.value.keeps_writes
    with pytest.raises(Conflict):  # no stamp: nothing says it was typed in time
        await _save(session, exam, part_id, version_id, value="A", sequence=6, now=clock.now(),
                    changed_at=None)  # fmt: skip
    with pytest.raises(Conflict):  # a stamp before the part even started is no stamp
        await _save(session, exam, part_id, version_id, value="A", sequence=7, now=clock.now(),
                    changed_at=OPENS - timedelta(hours=1))  # fmt: skip

    # The last contact was the part's start, 31 minutes ago: the window counts from there.
    with pytest.raises(Conflict) as beyond:
        await _save(session, exam, part_id, version_id, value="A", sequence=8, now=clock.now(),
                    changed_at=deadline - timedelta(seconds=5))  # fmt: skip
    assert "15 minutes" in str(beyond.value.params) or beyond.value.params["minutes"] == 15
    await session.commit()

    refusals = (
        await session.scalars(
            select(AnswerSave.refusal).where(AnswerSave.attempt_part_id == part_id)
        )
    ).all()
    assert refusals == [
        "typed_after_deadline",
        "typed_after_deadline",
        "typed_after_deadline",
        "beyond_window",
    ]
    assert await session.get(Answer, (part_id, version_id, "RESPONSE")) is None
    assert await session.scalar(select(Flag.id).where(Flag.type == "network_loss")) is None


@pytest.mark.asyncio
async def test_the_window_counts_from_the_deadline_and_from_the_last_contact(
    session: AsyncSession, exam: Exam, events: ExamEvents
) -> None:
    clock = FixedClock(OPENS)
    part_id, version_id = await _first_part(session, exam, clock.now())
    deadline = OPENS + timedelta(minutes=30)
    # The exam page's clock request a minute before the deadline is the last contact.
    await saves.record_contact(
        session, attempt_part_id=part_id, candidate=exam.candidate,
        now=deadline - timedelta(minutes=1),
    )  # fmt: skip
    await session.commit()
    typed = deadline - timedelta(seconds=20)
    clock.set(deadline - timedelta(minutes=1) + WINDOW)  # just inside
    inside = await _save(session, exam, part_id, version_id, value="A", sequence=1,
                         now=clock.now(), changed_at=typed)  # fmt: skip
    assert inside.applied
    clock.advance(timedelta(seconds=1))  # just outside
    with pytest.raises(Conflict):
        await _save(session, exam, part_id, version_id, value="B", sequence=2, now=clock.now(),
                    changed_at=typed)  # fmt: skip


@pytest.mark.asyncio
async def test_a_part_handed_in_early_takes_no_late_answers(
    session: AsyncSession, exam: Exam, events: ExamEvents
) -> None:
    clock = FixedClock(OPENS)
    part_id, version_id = await _first_part(session, exam, clock.now())
    clock.advance(timedelta(minutes=5))
    await handin.submit_part(
        session, attempt_part_id=part_id, candidate=exam.candidate, now=clock.now()
    )
    await session.commit()
    clock.advance(timedelta(minutes=26))
    with pytest.raises(Conflict) as refused:
        await _save(session, exam, part_id, version_id, value="A", sequence=1, now=clock.now(),
                    changed_at=OPENS + timedelta(minutes=4))  # fmt: skip
    assert not refused.value.keeps_writes
    assert "handed in" in str(refused.value.message)


@pytest.mark.asyncio
async def test_late_answers_before_the_deadline_task_are_in_its_receipt(
    session: AsyncSession, exam: Exam, events: ExamEvents
) -> None:
    """A late answer that arrives before the deadline task ran is simply there when it runs."""
    clock = FixedClock(OPENS)
    part_id, version_id = await _first_part(session, exam, clock.now())
    deadline = OPENS + timedelta(minutes=30)
    await saves.record_contact(
        session, attempt_part_id=part_id, candidate=exam.candidate,
        now=deadline - timedelta(seconds=30),
    )  # fmt: skip
    clock.set(deadline + timedelta(seconds=8))
    received: list[LateAnswersDelivered] = []

    async def listen(_session: AsyncSession, event: LateAnswersDelivered) -> None:
        received.append(event)

    events.subscribe(LateAnswersDelivered, listen)
    await _save(session, exam, part_id, version_id, value="C", sequence=1, now=clock.now(),
                changed_at=deadline - timedelta(seconds=3))  # fmt: skip
    assert await handin.submit_overdue_parts(session, now=clock.now()) == 1
    part = await session.get(AttemptPart, part_id)
    assert part is not None and part.receipt_reissued_at is None
    assert await handin.verify_receipt(session, part_id)
    assert [event.attempt_part_id for event in received] == [part_id]
