"""Saving answers: idempotent by sequence number, every save kept, refused once the time is up,
except answers typed in time that a lost connection delayed.

A save is most of a sitting's requests: its statements are built once and read what they need in
one round trip (docs/architecture.md, "Under load").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import timing
from exam.events import LateAnswersDelivered, publish
from exam.handin import reissue_receipt
from exam.lookups import own_attempt
from exam.models import (
    AnswerSave,
    AttemptPart,
    AttemptStatus,
    LateSaveRefusal,
)
from exam.pauses import PAUSED
from exam.save_statements import (
    KEEP_SAVE,
    NEWEST_SEQUENCE,
    SaveTarget,
    apply_save,
    check_sequence,
    save_target,
)
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaveResult:
    """What a save did: whether it became the newest answer, and the newest sequence number."""

    applied: bool
    sequence: int
    delivered_late: bool = False
    """The answer was typed before the deadline and arrived after it (see ``save_answer``)."""


class LateSaveRefused(Conflict):
    """A late answer refused; the refused save itself is kept in the history."""

    keeps_writes = True


async def save_answer(
    session: AsyncSession,
    *,
    attempt_part_id: int,
    candidate: User,
    item_version_id: int,
    question_id: str,
    sequence: int,
    value: Any,
    now: datetime,
    device: str | None = None,
    changed_at: datetime | None = None,
    late_window: timedelta = timedelta(0),
) -> SaveResult:
    """Save one answer. Idempotent: a repeated or older sequence number never overwrites a newer
    answer. Every save is kept. Refused once the part is handed in before its time, from another
    browser than the one the attempt is tied to (``device``: its token), and after the deadline
    (plus a small grace for requests in flight) unless it was typed in time.

    An answer that arrives after the deadline counts when the exam page says it was changed
    (``changed_at``, on the server-synced clock) before the deadline and it arrives within
    ``late_window`` of the deadline and of the candidate's last contact: a connection lost in
    the last minutes must not cost what was typed. It is recorded as delivered late with both
    times, the part's receipt is issued again over the final answers, and subscribers of
    the exam's events hear of it (proctoring flags the network loss).
    """
    target = await save_target(session, attempt_part_id, candidate, item_version_id)
    target.check_device(device)
    if target.attempt_status == AttemptStatus.TERMINATED or (
        target.submitted_at is not None and target.submitted_at < target.deadline
    ):
        raise Conflict(_l("This part has been handed in; answers can no longer change."))
    if target.paused_at is not None:
        raise Conflict(PAUSED)
    check_sequence(sequence, now)
    _check_question(target.document, question_id, value)
    if target.submitted_at is not None or not timing.accepts_saves(target.deadline, now):
        return await _save_late(
            session,
            target,
            attempt_part_id=attempt_part_id,
            item_version_id=item_version_id,
            question_id=question_id,
            sequence=sequence,
            value=value,
            now=now,
            changed_at=changed_at,
            late_window=late_window,
        )
    if now > target.deadline:
        # Accepted within the grace for requests in flight; answer_save keeps the time too.
        logger.info(
            "save in the grace period: part %s, %.1f s after the deadline",
            attempt_part_id,
            (now - target.deadline).total_seconds(),
        )
    applied = await apply_save(
        session, attempt_part_id, item_version_id, question_id, sequence, value, now
    )
    # Keep the save in the history, in the same statement checking that the part is still open:
    # on SQLite the reads above took no lock and a hand-in may have committed since (the upsert
    # now holds the write lock, so nothing can change any more); on PostgreSQL the row lock
    # already rules that out and the check costs nothing. When it refuses, the caller's rollback
    # undoes the upsert too.
    kept = await session.execute(
        KEEP_SAVE,
        {
            "part_id": attempt_part_id,
            "item_version_id": item_version_id,
            "question_id": question_id,
            "sequence": sequence,
            "value": value,
            "now": now,
            "applied": applied,
            "changed_at": changed_at,
        },
    )
    if not kept.rowcount:  # type: ignore[attr-defined]
        # Paused or handed in since the part was read (SQLite reads take no lock).
        if await session.scalar(
            select(AttemptPart.paused_at).where(AttemptPart.id == attempt_part_id)
        ):
            raise Conflict(PAUSED)
        raise Conflict(_l("This part has been handed in; answers can no longer change."))
    if applied:
        return SaveResult(applied=True, sequence=sequence)
    return SaveResult(
        applied=False,
        sequence=await _newest_sequence(
            session, attempt_part_id, item_version_id, question_id, sequence
        ),
    )


async def _newest_sequence(
    session: AsyncSession,
    attempt_part_id: int,
    item_version_id: int,
    question_id: str,
    sequence: int,
) -> int:
    newest = await session.scalar(
        NEWEST_SEQUENCE,
        {
            "part_id": attempt_part_id,
            "item_version_id": item_version_id,
            "question_id": question_id,
        },
    )
    return int(newest if newest is not None else sequence)


async def _save_late(
    session: AsyncSession,
    target: SaveTarget,
    *,
    attempt_part_id: int,
    item_version_id: int,
    question_id: str,
    sequence: int,
    value: Any,
    now: datetime,
    changed_at: datetime | None,
    late_window: timedelta,
) -> SaveResult:
    """An answer that arrived after the deadline (see ``save_answer``): kept whatever happens,
    applied only when typed in time and delivered within the window."""
    seconds_late = (now - target.deadline).total_seconds()
    refusal: LateSaveRefusal | None = None
    last_contact = target.started_at
    if changed_at is None or not target.started_at <= changed_at <= target.deadline:
        refusal = LateSaveRefusal.TYPED_AFTER_DEADLINE
    else:
        last_contact = await _last_contact(session, attempt_part_id, target)
        if now > min(target.deadline, last_contact) + late_window:
            refusal = LateSaveRefusal.BEYOND_WINDOW
    history = {
        "attempt_part_id": attempt_part_id,
        "item_version_id": item_version_id,
        "question_id": question_id,
        "sequence": sequence,
        "value": value,
        "received_at": now,
        "changed_at": changed_at,
        "delivered_late": True,
    }
    if refusal is not None:
        # The reason is kept with the save (answer_save.refusal).
        logger.warning(
            "late save refused: part %s, %.1f s after the deadline", attempt_part_id, seconds_late
        )
        await session.execute(insert(AnswerSave).values(**history, applied=False, refusal=refusal))
        if refusal is LateSaveRefusal.TYPED_AFTER_DEADLINE:
            raise LateSaveRefused(_l("The time for this part is up; the answer was not saved."))
        raise LateSaveRefused(
            _l(
                "This answer was typed before the time was up, but it reached the server more "
                "than {minutes} minutes after the connection was lost, so it does not count. "
                "It is kept on record."
            ),
            minutes=round(late_window.total_seconds() / 60),
        )
    applied = await apply_save(
        session, attempt_part_id, item_version_id, question_id, sequence, value, now
    )
    await session.execute(insert(AnswerSave).values(**history, applied=applied))
    logger.info(
        "late save accepted: part %s, %.1f s after the deadline", attempt_part_id, seconds_late
    )
    if not applied:
        return SaveResult(
            applied=False,
            sequence=await _newest_sequence(
                session, attempt_part_id, item_version_id, question_id, sequence
            ),
            delivered_late=True,
        )
    await audit.record(
        session,
        actor_id=target.candidate_id,
        action="attempt.late_answer",
        entity_type="attempt_part",
        entity_id=attempt_part_id,
        after={
            "item_version_id": item_version_id,
            "question_id": question_id,
            "sequence": sequence,
            "changed_at": changed_at.isoformat() if changed_at else None,
            "received_at": now.isoformat(),
            "last_contact_at": last_contact.isoformat(),
        },
    )
    # Read again now that the upsert holds the write lock: the deadline task may have handed
    # the part in while this save was on its way (on PostgreSQL the row lock rules that out).
    attempt_part = await session.get(AttemptPart, attempt_part_id, populate_existing=True)
    assert attempt_part is not None
    if attempt_part.submitted_at is not None:
        await reissue_receipt(session, attempt_part, now=now, actor_id=target.candidate_id)
    await publish(
        session,
        LateAnswersDelivered(
            registration_id=target.registration_id,
            attempt_id=target.attempt_id,
            attempt_part_id=attempt_part_id,
            deadline=target.deadline,
            last_contact_at=last_contact,
            delivered_at=now,
            answers=1,
        ),
    )
    return SaveResult(applied=True, sequence=sequence, delivered_late=True)


async def _last_contact(
    session: AsyncSession, attempt_part_id: int, target: SaveTarget
) -> datetime:
    """The candidate's last contact with the server during the part before its deadline: the
    part's start, the exam page's clock requests, the saves that arrived in time."""
    last_save = await session.scalar(
        select(func.max(AnswerSave.received_at)).where(
            AnswerSave.attempt_part_id == attempt_part_id,
            AnswerSave.refusal.is_(None),
            AnswerSave.received_at <= target.deadline + timing.SAVE_GRACE,
        )
    )
    moments = [target.started_at, last_save, target.last_contact_at]
    return max(moment for moment in moments if moment is not None)


async def record_contact(
    session: AsyncSession, *, attempt_part_id: int, candidate: User, now: datetime
) -> AttemptPart:
    """Note that the candidate's exam page reached the server during a part (its clock requests,
    about once a minute); answers lost in a network failure may come only so long after it."""
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None:
        raise NotFound(_l("No such part."))
    await own_attempt(session, attempt_part.attempt_id, candidate)
    if (
        attempt_part.submitted_at is None
        and now <= attempt_part.deadline
        and (
            attempt_part.last_contact_at is None
            or now - attempt_part.last_contact_at >= CONTACT_RESOLUTION
        )
    ):
        attempt_part.last_contact_at = now
    return attempt_part


CONTACT_RESOLUTION = timedelta(seconds=20)
"""A contact is written at most this often per part (the page asks the clock every minute)."""


MAX_TEXT_ANSWER = 100_000
"""The longest written answer accepted, in characters."""


def _check_question(document: dict[str, Any] | None, question_id: str, value: Any) -> None:
    """Refuse a question that is not on the part (``document`` None) or an impossible answer."""
    questions = {q["id"]: q for q in document["questions"]} if document else {}
    if question_id not in questions:
        raise NotFound(_l("That question is not part of this exam part."))
    question = questions[question_id]
    choice_ids = {choice["id"] for choice in question.get("choices", [])}
    kind = question["type"]
    valid = (
        (
            kind == "single_choice"
            and (value is None or (isinstance(value, str) and value in choice_ids))
        )
        or (
            kind == "multiple_response"
            and isinstance(value, list)
            and all(isinstance(v, str) and v in choice_ids for v in value)
            and len(set(value)) == len(value)
        )
        or (kind == "essay" and isinstance(value, str) and len(value) <= MAX_TEXT_ANSWER)
    )
    if not valid:
        raise VaktError(_l("That is not a possible answer to this question."), field="value")
