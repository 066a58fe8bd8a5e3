"""Grading hears of the exam's events: an answer that arrives late (typed before the deadline,
the connection lost) settles its part again, with its new points."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, handin, saves
from itembank.models import ExamForm, ItemVersion
from itembank.schemas import ItemDocument
from tests.exam.factories import CHECKED_IN, OPENS, Exam, build_exam
from tests.grading.factories import part, wire_events
from vakt.accounts import User


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    wire_events(session)
    return await build_exam(session, users)


@pytest.mark.asyncio
async def test_a_late_answer_settles_its_part_again(session: AsyncSession, exam: Exam) -> None:
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=exam.registration_id,
        candidate=exam.candidate, now=OPENS,
    )  # fmt: skip
    choice = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=OPENS
    )
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    single = []
    for row in form.items:
        version = await session.get(ItemVersion, row.item_version_id)
        assert version is not None
        if row.part_index == 0 and ItemDocument.model_validate(version.document).type == (
            "single_choice"
        ):
            single.append(version.id)
    deadline = OPENS + timedelta(minutes=30)
    await saves.record_contact(
        session, attempt_part_id=choice.id, candidate=exam.candidate,
        now=deadline - timedelta(minutes=1),
    )  # fmt: skip
    await session.commit()
    # The connection drops; the deadline hands the part in unanswered: 0 of 4 points.
    assert await handin.submit_overdue_parts(session, now=deadline + timedelta(seconds=10)) == 1
    await session.commit()
    before = await part(session, choice.id)
    assert (before.score, before.max_score, before.passed) == (0.0, 4.0, False)

    # Back online: the right answers typed a minute before the deadline arrive.
    for sequence, version_id in enumerate(single, start=1):
        result = await saves.save_answer(
            session, attempt_part_id=choice.id, candidate=exam.candidate,
            item_version_id=version_id, question_id="RESPONSE", sequence=sequence, value="A",
            now=deadline + timedelta(minutes=2), changed_at=deadline - timedelta(minutes=1),
            late_window=timedelta(minutes=15),
        )  # fmt: skip
        assert result.delivered_late
    await session.commit()
    after = await part(session, choice.id)
    assert (after.score, after.max_score, after.passed) == (2.0, 4.0, False)
