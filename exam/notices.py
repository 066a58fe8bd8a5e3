"""What the candidate is told when something happens to their exam (``exam.events``): a message
in their inbox and by e-mail (``vakt.notifications``); subscribed in ``web.app.create_app``.

The messages name the sitting and the time only: the grounds of a decision of cheating and the
results are on My page, behind the candidate's sign-in, not in an e-mail."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.events import AttemptEnded, ExamEvents, ResultsReleased
from exam.models import AttemptStatus, Registration, Sitting
from vakt.notifications import notify


async def _candidate_and_sitting(session: AsyncSession, registration_id: int) -> tuple[int, str]:
    row = (
        await session.execute(
            select(Registration.candidate_id, Sitting.name)
            .join(Sitting, Sitting.id == Registration.sitting_id)
            .where(Registration.id == registration_id)
        )
    ).one()
    return int(row.candidate_id), str(row.name)


async def attempt_ended(session: AsyncSession, event: AttemptEnded) -> None:
    """An attempt ended for cheating: the candidate is told to read the grounds on My page."""
    if event.status != AttemptStatus.TERMINATED:
        return
    candidate_id, sitting = await _candidate_and_sitting(session, event.registration_id)
    await notify(
        session,
        recipient_id=candidate_id,
        kind="exam.ended_for_cheating",
        params={"sitting": sitting, "ended_at": event.ended_at},
        now=event.ended_at,
    )


async def results_released(session: AsyncSession, event: ResultsReleased) -> None:
    """The results may be seen: the candidate is told where."""
    candidate_id, sitting = await _candidate_and_sitting(session, event.registration_id)
    await notify(
        session,
        recipient_id=candidate_id,
        kind="exam.results_released",
        params={"sitting": sitting, "released_at": event.released_at},
        now=event.released_at,
    )


def subscribe(events: ExamEvents) -> None:
    """Tell candidates of their exams' endings for cheating and released results."""
    events.subscribe(AttemptEnded, attempt_ended)
    events.subscribe(ResultsReleased, results_released)
