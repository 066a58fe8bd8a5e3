"""What proctoring does when something happens in an exam (``exam.events``); subscribed in
``web.app.create_app``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.events import ExamEvents, LateAnswersDelivered
from exam.models import Registration
from proctoring import flags
from proctoring.models import Flag, FlagSource, FlagType
from proctoring.service import policy_for_registration


async def flag_late_answers(session: AsyncSession, event: LateAnswersDelivered) -> None:
    """Answers arrived after the deadline because the connection was lost: the proctors see the
    network loss, from the candidate's last contact to the late answers' arrival (one flag per
    part, stretched as more late answers come)."""
    registration = await session.get(Registration, event.registration_id)
    assert registration is not None
    policy = await policy_for_registration(session, registration)
    if not policy.enabled:
        return
    existing = await session.scalar(
        select(Flag)
        .where(
            Flag.attempt_part_id == event.attempt_part_id,
            Flag.type == FlagType.NETWORK_LOSS,
            Flag.source == FlagSource.DELIVERY,
        )
        .order_by(Flag.id.desc())
        .limit(1)
    )
    if existing is not None:
        existing.ended_at = max(existing.ended_at or event.delivered_at, event.delivered_at)
        existing.evidence = {
            **existing.evidence,
            "late_answers": int(existing.evidence.get("late_answers", 0)) + event.answers,
        }
        return
    await flags.raise_flag(
        session,
        policy=policy,
        flag_type=FlagType.NETWORK_LOSS,
        source=FlagSource.DELIVERY,
        registration_id=event.registration_id,
        attempt_id=event.attempt_id,
        attempt_part_id=event.attempt_part_id,
        started_at=min(event.last_contact_at, event.deadline),
        ended_at=event.delivered_at,
        evidence={"deadline": event.deadline.isoformat(), "late_answers": event.answers},
    )


def subscribe(events: ExamEvents) -> None:
    """Subscribe proctoring to the exam's events."""
    events.subscribe(LateAnswersDelivered, flag_late_answers)
