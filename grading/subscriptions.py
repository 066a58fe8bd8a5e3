"""What grading does when something happens in an exam (``exam.events``); subscribed in
``web.app.create_app`` with the holds proctoring tells (``grading.holds``)."""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from exam.events import (
    AttemptEnded,
    ExamEvents,
    IdentityConfirmed,
    LateAnswersDelivered,
    PartHandedIn,
)
from grading.holds import NO_HOLDS, IdentityHolds
from grading.results import settle_part, settle_registration
from grading.scripts import create_scripts, withdraw_scripts


async def part_handed_in(
    session: AsyncSession, event: PartHandedIn, holds: IdentityHolds = NO_HOLDS
) -> None:
    """Its open answers go into the grading queue; a part without any has its result now
    (unless its registration is held)."""
    if not await create_scripts(session, event):
        await settle_part(session, event.attempt_part_id, now=event.submitted_at, holds=holds)


async def attempt_ended(session: AsyncSession, event: AttemptEnded) -> None:
    """An attempt ended for cheating is not graded."""
    await withdraw_scripts(session, event)


async def late_answers(
    session: AsyncSession, event: LateAnswersDelivered, holds: IdentityHolds = NO_HOLDS
) -> None:
    """Answers that arrived late may change a part's choice score: settle it again (it waits
    anyway while a script of it is still being graded, or while its registration is held)."""
    await settle_part(session, event.attempt_part_id, now=event.delivered_at, holds=holds)


async def identity_confirmed(session: AsyncSession, event: IdentityConfirmed) -> None:
    """The hold is lifted: the parts that waited for it have their results now."""
    await settle_registration(session, event.registration_id, now=event.confirmed_at)


def subscribe(events: ExamEvents, holds: IdentityHolds = NO_HOLDS) -> None:
    """Subscribe grading to the exam's events; ``holds``: the registrations whose parts wait."""
    events.subscribe(PartHandedIn, partial(part_handed_in, holds=holds))
    events.subscribe(AttemptEnded, attempt_ended)
    events.subscribe(LateAnswersDelivered, partial(late_answers, holds=holds))
    events.subscribe(IdentityConfirmed, identity_confirmed)
