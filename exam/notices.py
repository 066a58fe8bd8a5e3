"""What the candidate is told when something happens to their exam (``exam.events``): a message
in their inbox and by e-mail (``vakt.notifications``); subscribed in ``web.app.create_app``.

The messages name the sitting and the time only: the grounds of a decision of cheating and the
results are on My page, behind the candidate's sign-in, not in an e-mail."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.events import AttemptEnded, ExamEvents, ResultsReleased
from exam.models import AttemptStatus, Registration, Sitting
from vakt.i18n import _l
from vakt.notifications import Kind, notify

ENDED_FOR_CHEATING = Kind(
    key="exam.ended_for_cheating",
    subject=_l("Your exam was ended"),
    body=_l(
        "Your exam {sitting} was ended by the exam staff at {ended_at} because of cheating. "
        "The result is not passed. Sign in to Vakt and open My page to read the grounds."
    ),
    times=frozenset({"ended_at"}),
)


RESULTS_RELEASED = Kind(
    key="exam.results_released",
    subject=_l("Your exam results are ready"),
    body=_l(
        "The results of your exam {sitting} were released at {released_at}. "
        "Sign in to Vakt and open My page to see them."
    ),
    times=frozenset({"released_at"}),
)

KINDS = (ENDED_FOR_CHEATING, RESULTS_RELEASED)
"""The kinds of message the exam sends (``vakt.notifications.Kinds``)."""


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
        kind=ENDED_FOR_CHEATING,
        params={"sitting": sitting, "ended_at": event.ended_at},
        now=event.ended_at,
    )


async def results_released(session: AsyncSession, event: ResultsReleased) -> None:
    """The results may be seen: the candidate is told where."""
    candidate_id, sitting = await _candidate_and_sitting(session, event.registration_id)
    await notify(
        session,
        recipient_id=candidate_id,
        kind=RESULTS_RELEASED,
        params={"sitting": sitting, "released_at": event.released_at},
        now=event.released_at,
    )


def subscribe(events: ExamEvents) -> None:
    """Tell candidates of their exams' endings for cheating and released results."""
    events.subscribe(AttemptEnded, attempt_ended)
    events.subscribe(ResultsReleased, results_released)
