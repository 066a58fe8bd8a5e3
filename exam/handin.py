"""Handing in a part (by the candidate, at the deadline, or on termination): the answers are
fixed, choice questions scored, and the receipt digest issued.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from exam import timing
from exam.events import AttemptEnded, PartHandedIn, publish
from exam.lookups import definition_of, own_attempt, parts_of, registered_part_indexes
from exam.models import (
    Answer,
    Attempt,
    AttemptPart,
    AttemptStatus,
    Registration,
    SubmittedBy,
)
from exam.pauses import PAUSED, end_pause_on_termination
from exam.roles import CHEATING_DECIDERS, require
from itembank.models import ExamForm, ItemVersion
from itembank.schemas import ItemDocument, MultipleResponseQuestion, SingleChoiceQuestion
from itembank.scoring import score_multiple_response, score_single_choice
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l

logger = logging.getLogger(__name__)


async def submit_part(
    session: AsyncSession,
    *,
    attempt_part_id: int,
    candidate: User,
    now: datetime,
    how: SubmittedBy = SubmittedBy.CANDIDATE,
) -> AttemptPart:
    """Hand in a part: fix its answers, score choice questions, and issue the receipt digest."""
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None:
        raise NotFound(_l("No such part."))
    attempt, _ = await own_attempt(session, attempt_part.attempt_id, candidate)
    if attempt_part.submitted_at is not None:
        return attempt_part
    if attempt_part.paused_at is not None:
        raise Conflict(PAUSED)
    closed = await _close_part(
        session, attempt, attempt_part, now=now, how=how, actor_id=candidate.id
    )
    if not closed and attempt_part.paused_at is not None:
        raise Conflict(PAUSED)
    return attempt_part


async def _close_part(
    session: AsyncSession,
    attempt: Attempt,
    attempt_part: AttemptPart,
    *,
    now: datetime,
    how: SubmittedBy,
    actor_id: int | None,
) -> bool:
    """Hand in a part; False when someone else (another worker, the other tab) was first."""
    submitted_at = min(now, attempt_part.deadline) if how is SubmittedBy.DEADLINE else now
    # Claim the part in one conditional UPDATE: of two concurrent hand-ins exactly one wins,
    # and no save can slip in after the answers below are read.
    # A paused part's clock stands still: only ending the attempt for cheating hands it in.
    still_open = [AttemptPart.id == attempt_part.id, AttemptPart.submitted_at.is_(None)]
    if how is not SubmittedBy.TERMINATION:
        still_open.append(AttemptPart.paused_at.is_(None))
    claimed = await session.execute(
        update(AttemptPart)
        .where(*still_open)
        .values(submitted_at=submitted_at, submitted_by=how)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        await session.refresh(attempt_part)
        return False
    set_committed_value(attempt_part, "submitted_at", submitted_at)
    set_committed_value(attempt_part, "submitted_by", how)
    answers = await _seal(session, attempt, attempt_part)
    definition = await definition_of(session, attempt)
    registration = await session.get(Registration, attempt.registration_id)
    assert registration is not None
    finished = (
        attempt_part.part_index == registered_part_indexes(definition, registration)[-1]
        and attempt.status == AttemptStatus.IN_PROGRESS
    )
    if finished:
        attempt.status, attempt.ended_at = AttemptStatus.FINISHED, attempt_part.submitted_at
    await audit.record(
        session,
        actor_id=actor_id,
        action="attempt.part_submit",
        entity_type="attempt_part",
        entity_id=attempt_part.id,
        after={
            "submitted_by": how.value,
            "receipt": attempt_part.receipt_digest,
            "answers": len(answers),
        },
    )
    await publish(
        session,
        PartHandedIn(
            registration_id=registration.id,
            attempt_id=attempt.id,
            attempt_part_id=attempt_part.id,
            part_key=attempt_part.part_key,
            kind=definition.parts[attempt_part.part_index].kind.value,
            submitted_by=how.value,
            submitted_at=submitted_at,
        ),
    )
    if finished:
        await publish(
            session,
            AttemptEnded(
                registration_id=registration.id,
                attempt_id=attempt.id,
                status=AttemptStatus.FINISHED,
                ended_at=submitted_at,
                reason="",
            ),
        )
    return True


async def _seal(session: AsyncSession, attempt: Attempt, attempt_part: AttemptPart) -> list[Answer]:
    """Fix the part's receipt digest and its choice questions' score over its answers now."""
    answers = list(
        (
            await session.scalars(
                select(Answer)
                .where(Answer.attempt_part_id == attempt_part.id)
                .order_by(Answer.item_version_id, Answer.question_id)
            )
        ).all()
    )
    attempt_part.receipt_digest = receipt_digest(attempt_part, answers)
    attempt_part.auto_score, attempt_part.auto_max_score = await _auto_score(
        session, attempt, attempt_part, answers
    )
    return answers


async def reissue_receipt(
    session: AsyncSession, attempt_part: AttemptPart, *, now: datetime, actor_id: int
) -> None:
    """Issue the receipt (and the choice questions' score) again over the part's final answers,
    after answers typed before the deadline arrived once it had been handed in."""
    attempt = await session.get(Attempt, attempt_part.attempt_id)
    assert attempt is not None
    before = attempt_part.receipt_digest
    await _seal(session, attempt, attempt_part)
    attempt_part.receipt_reissued_at = now
    await audit.record(
        session,
        actor_id=actor_id,
        action="attempt.receipt_reissued",
        entity_type="attempt_part",
        entity_id=attempt_part.id,
        before={"receipt": before},
        after={"receipt": attempt_part.receipt_digest, "why": "late answers"},
    )


def receipt_digest(attempt_part: AttemptPart, answers: Any) -> str:
    """SHA-256 over the part's identity and its final answers, in a canonical form; staff can
    recompute it later to show the answers were not changed."""
    canonical = json.dumps(
        {
            "attempt_part": attempt_part.id,
            "part": attempt_part.part_key,
            "answers": [
                {
                    "item_version": a.item_version_id,
                    "question": a.question_id,
                    "sequence": a.sequence,
                    "value": a.value,
                }
                for a in sorted(answers, key=lambda a: (a.item_version_id, a.question_id))
            ],
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    # "surrogatepass": text is checked at the door, but a digest must never be what fails.
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


async def verify_receipt(session: AsyncSession, attempt_part_id: int) -> bool:
    """True when the stored answers still give the digest the candidate received."""
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None or attempt_part.receipt_digest is None:
        raise NotFound(_l("No receipt for that part."))
    answers = (
        await session.scalars(select(Answer).where(Answer.attempt_part_id == attempt_part.id))
    ).all()
    return receipt_digest(attempt_part, answers) == attempt_part.receipt_digest


async def _auto_score(
    session: AsyncSession, attempt: Attempt, attempt_part: AttemptPart, answers: Any
) -> tuple[float | None, float | None]:
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    by_question = {(a.item_version_id, a.question_id): a.value for a in answers}
    score = maximum = 0.0
    found = False
    for row in form.items:
        if row.part_index != attempt_part.part_index:
            continue
        version = await session.get(ItemVersion, row.item_version_id)
        assert version is not None
        document = ItemDocument.model_validate(version.document)
        for question in document.questions:
            value = by_question.get((version.id, question.id))
            if isinstance(question, SingleChoiceQuestion):
                found = True
                maximum += question.points
                score += score_single_choice(question, value if isinstance(value, str) else None)
            elif isinstance(question, MultipleResponseQuestion):
                found = True
                maximum += question.points
                chosen = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
                score += score_multiple_response(question, chosen)
    return (score, maximum) if found else (None, None)


async def overdue_part_ids(session: AsyncSession, *, now: datetime) -> list[int]:
    """The parts whose deadline (plus grace) has passed and that are not handed in yet (a
    paused part's clock stands still: it is not overdue)."""
    return list(
        (
            await session.scalars(
                select(AttemptPart.id)
                .where(
                    AttemptPart.submitted_at.is_(None),
                    AttemptPart.paused_at.is_(None),
                    AttemptPart.deadline < now - timing.SAVE_GRACE,
                )
                .order_by(AttemptPart.deadline, AttemptPart.id)
            )
        ).all()
    )


async def submit_overdue_part(
    session: AsyncSession, *, attempt_part_id: int, now: datetime
) -> bool:
    """Hand in one overdue part with what was saved; False when it was handed in already."""
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None or attempt_part.submitted_at is not None:
        return False
    if attempt_part.paused_at is not None or attempt_part.deadline >= now - timing.SAVE_GRACE:
        return False
    attempt = await session.get(Attempt, attempt_part.attempt_id)
    assert attempt is not None
    return await _close_part(
        session, attempt, attempt_part, now=now, how=SubmittedBy.DEADLINE, actor_id=None
    )


async def submit_overdue_parts(session: AsyncSession, *, now: datetime) -> int:
    """Hand in every overdue part in this session's transaction (the background job gives each
    part a transaction of its own, ``exam.jobs``); returns how many."""
    handed_in = 0
    for attempt_part_id in await overdue_part_ids(session, now=now):
        handed_in += await submit_overdue_part(session, attempt_part_id=attempt_part_id, now=now)
    return handed_in


async def terminate_for_cheating(
    session: AsyncSession, *, attempt_id: int, actor: User, reason: str, now: datetime
) -> Attempt:
    """A proctor's decision of cheating ends the attempt at once with the result "Ikke bestått"."""
    require(actor, CHEATING_DECIDERS, _l("Only proctors decide that a candidate cheated."))
    if not reason.strip():
        raise VaktError(_l("Say what happened."), field="reason")
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    if attempt.status == AttemptStatus.TERMINATED:
        return attempt
    for attempt_part in await parts_of(session, attempt.id):
        await end_pause_on_termination(session, attempt_part, actor_id=actor.id, now=now)
        if attempt_part.submitted_at is None:
            await _close_part(
                session,
                attempt,
                attempt_part,
                now=now,
                how=SubmittedBy.TERMINATION,
                actor_id=actor.id,
            )
    for attempt_part in await parts_of(session, attempt.id):
        # The whole attempt is "Ikke bestått": no part of it counts as passed.
        attempt_part.passed, attempt_part.result_recorded_at = False, now
    attempt.status, attempt.ended_at, attempt.ended_reason = (
        AttemptStatus.TERMINATED,
        now,
        reason.strip(),
    )
    await audit.record(
        session,
        actor_id=actor.id,
        action="attempt.terminate",
        entity_type="attempt",
        entity_id=attempt.id,
        after={"reason": reason.strip(), "result": "Ikke bestått"},
    )
    await publish(
        session,
        AttemptEnded(
            registration_id=attempt.registration_id,
            attempt_id=attempt.id,
            status=AttemptStatus.TERMINATED,
            ended_at=now,
            reason=reason.strip(),
        ),
    )
    return attempt
