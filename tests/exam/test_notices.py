"""The candidate is told, in their inbox and by e-mail, when their exam is ended for cheating and
when its results are released (``exam.notices``, wired to the exam's events)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, handin, results
from exam.events import ExamEvents, with_events
from exam.notices import subscribe
from exam.reviews import NO_REVIEWS
from tests.exam.factories import CHECKED_IN, OPENS, Exam
from vakt.accounts import User
from vakt.notifications import Notification, render
from web.app import notification_kinds

KINDS = notification_kinds()


@pytest.mark.asyncio
async def test_ending_for_cheating_and_releasing_results_tell_the_candidate(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    events = ExamEvents()
    subscribe(events)
    session.info.update(with_events(events))
    started = OPENS + timedelta(minutes=1)
    attempt = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=started,
    )
    await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=started
    )
    ended = started + timedelta(minutes=20)
    await handin.terminate_for_cheating(
        session, attempt_id=attempt.id, actor=users["proctor"], reason="Telefon i bruk", now=ended
    )
    released = ended + timedelta(days=2)
    await results.release_results(
        session,
        attempt_id=attempt.id,
        actor=users["decision_maker"],
        now=released,
        reviews=NO_REVIEWS,
    )
    await session.commit()

    rows = list(await session.scalars(select(Notification).order_by(Notification.id)))
    assert [(row.recipient_id, row.kind) for row in rows] == [
        (exam.candidate.id, "exam.ended_for_cheating"),
        (exam.candidate.id, "exam.results_released"),
    ]
    # The grounds stay on My page, behind the sign-in: not in the message.
    assert "Telefon" not in str(rows[0].params)
    assert rows[0].params["ended_at"] == ended.isoformat()
    text = render(rows[0], KINDS, "en", "Europe/Oslo")
    assert text.subject == "Your exam was ended"
    assert "My page" in text.body and "because of cheating" in text.body
    assert (
        render(rows[1], KINDS, "nb", "Europe/Oslo").subject == "Eksamensresultatene dine er klare"
    )


@pytest.mark.asyncio
async def test_a_part_handed_in_at_the_deadline_sends_no_message(
    session: AsyncSession, exam: Exam
) -> None:
    events = ExamEvents()
    subscribe(events)
    session.info.update(with_events(events))
    started = OPENS + timedelta(minutes=1)
    attempt = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=started,
    )
    await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=started
    )
    assert await handin.submit_overdue_parts(session, now=started + timedelta(days=1)) >= 1
    await session.commit()
    assert await session.scalar(select(Notification.id)) is None
