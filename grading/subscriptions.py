"""What grading does when something happens in an exam (``exam.events``); subscribed in
``web.app.create_app``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from exam.events import AttemptEnded, ExamEvents, LateAnswersDelivered, PartHandedIn
from grading.results import settle_part
from grading.scripts import create_scripts, withdraw_scripts


async def part_handed_in(session: AsyncSession, event: PartHandedIn) -> None:
    """Its open answers go into the grading queue; a part without any has its result now."""
    if not await create_scripts(session, event):
        await settle_part(session, event.attempt_part_id, now=event.submitted_at)


async def attempt_ended(session: AsyncSession, event: AttemptEnded) -> None:
    """An attempt ended for cheating is not graded."""
    await withdraw_scripts(session, event)


async def late_answers(session: AsyncSession, event: LateAnswersDelivered) -> None:
    """Answers that arrived late may change a part's choice score: settle it again (it waits
    anyway while a script of it is still being graded)."""
    await settle_part(session, event.attempt_part_id, now=event.delivered_at)


def subscribe(events: ExamEvents) -> None:
    """Subscribe grading to the exam's events."""
    events.subscribe(PartHandedIn, part_handed_in)
    events.subscribe(AttemptEnded, attempt_ended)
    events.subscribe(LateAnswersDelivered, late_answers)
