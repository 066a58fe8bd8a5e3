"""Starting an attempt (its form assembled once, then fixed) and its parts, in order, after the
check-in and the break that follows each part.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import timing
from exam.accommodations import approved_extra_time
from exam.checkin import CheckIn, PartStart
from exam.lookups import (
    definition_of,
    get_sitting,
    own_attempt,
    own_registration,
    parts_of,
    registered_part_indexes,
)
from exam.models import (
    Attempt,
    AttemptPart,
    AttemptStatus,
    Registration,
)
from exam.registrations import retake_window_end, sitting_is_open
from itembank import blueprints
from itembank.models import ExamFormItem, ItemVersion
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict
from vakt.i18n import Moment, _l


async def start_attempt(
    session: AsyncSession,
    *,
    registration_id: int,
    candidate: User,
    now: datetime,
    checkin: CheckIn,
) -> Attempt:
    """Start (or return) the candidate's attempt; its form is assembled once and then fixed.

    Only after the check-in (``checkin``: the code of conduct and self-declaration accepted, the
    identity checked), whichever way the start comes in.
    """
    registration = await own_registration(session, registration_id, candidate)
    existing = await session.scalar(
        select(Attempt).where(Attempt.registration_id == registration.id)
    )
    if existing is not None:
        return existing
    sitting = await get_sitting(session, registration.sitting_id)
    if not sitting_is_open(sitting, now):
        raise Conflict(
            _l("The sitting can be started between {opens} and {closes}."),
            opens=Moment(sitting.opens_at),
            closes=Moment(sitting.closes_at),
        )
    window_end = await retake_window_end(session, registration)
    if window_end is not None and now > window_end:
        raise Conflict(
            _l("A retake must be taken within 12 months of the first attempt (by {date})."),
            date=Moment(window_end, "date"),
        )
    await checkin.require(session, registration)
    # The seed differs per registration, so candidates in one sitting get different forms.
    seed = int.from_bytes(
        hashlib.sha256(f"{sitting.id}:{registration.id}".encode()).digest()[:7], "big"
    )
    seen = await _items_seen_before(session, registration)
    try:
        form = await blueprints.assemble_form(
            session,
            blueprint_id=sitting.blueprint_id,
            seed=seed,
            actor_id=candidate.id,
            exclude_items=seen,
        )
    except Conflict:
        if not seen:
            raise
        # A retake is to be a completely new test; a bank too small for that still lets the
        # candidate sit it, with the reuse on record for the body to review.
        form = await blueprints.assemble_form(
            session, blueprint_id=sitting.blueprint_id, seed=seed, actor_id=candidate.id
        )
        await audit.record(
            session,
            actor_id=candidate.id,
            action="form.reuses_items",
            entity_type="exam_form",
            entity_id=form.id,
            after={"registration_id": registration.id, "seen_items": sorted(seen)},
        )
    attempt = Attempt(
        registration_id=registration.id,
        form_id=form.id,
        started_at=now,
        extra_time_percent=await approved_extra_time(session, registration.id),
    )
    session.add(attempt)
    await session.flush()
    await audit.record(
        session,
        actor_id=candidate.id,
        action="attempt.start",
        entity_type="attempt",
        entity_id=attempt.id,
        after={"form_id": form.id, "extra_time_percent": attempt.extra_time_percent},
    )
    return attempt


async def _items_seen_before(session: AsyncSession, registration: Registration) -> set[int]:
    """The items (not versions) on the forms of the earlier attempts a retake belongs to."""
    if registration.retake_of_id is None:
        return set()
    earlier = select(Registration.id).where(
        (Registration.id == registration.retake_of_id)
        | (Registration.retake_of_id == registration.retake_of_id),
        Registration.id != registration.id,
    )
    rows = await session.scalars(
        select(ItemVersion.item_id)
        .join(ExamFormItem, ExamFormItem.item_version_id == ItemVersion.id)
        .join(Attempt, Attempt.form_id == ExamFormItem.form_id)
        .where(Attempt.registration_id.in_(earlier))
    )
    return set(rows.all())


def break_ends(
    definition: blueprints.BlueprintDefinition, started: list[AttemptPart]
) -> datetime | None:
    """When the next part may start after the break that follows the last handed-in part (None
    before the first part or while a part runs)."""
    if not started or started[-1].submitted_at is None:
        return None
    previous = definition.parts[started[-1].part_index]
    return timing.next_part_opens(
        started[-1].submitted_at, timedelta(minutes=previous.break_after_minutes)
    )


async def start_part(
    session: AsyncSession, *, attempt_id: int, candidate: User, now: datetime, checkin: CheckIn
) -> AttemptPart:
    """Start the next part: parts go in order, each after the break that follows the one before,
    and never before the check-in is done and every part gate lets it (``checkin``)."""
    attempt, registration = await own_attempt(session, attempt_id, candidate)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise Conflict(_l("This attempt has ended."))
    definition = await definition_of(session, attempt)
    order = registered_part_indexes(definition, registration)
    started = await parts_of(session, attempt.id)
    if started and started[-1].submitted_at is None:
        return started[-1]
    if len(started) >= len(order):
        raise Conflict(_l("Every part has been handed in."))
    await checkin.require(session, registration)
    index = order[len(started)]
    part = definition.parts[index]
    start = PartStart(registration=registration, attempt=attempt, part=part, part_index=index)
    await checkin.before_part(session, start)
    opens = break_ends(definition, started)
    if opens is not None and now < opens:
        raise Conflict(_l("The break lasts until {time}."), time=Moment(opens, "time"))
    attempt_part = AttemptPart(
        attempt_id=attempt.id,
        part_index=index,
        part_key=part.key,
        started_at=now,
        deadline=timing.part_deadline(
            now, timedelta(minutes=part.duration_minutes), attempt.extra_time_percent
        ),
    )
    session.add(attempt_part)
    await session.flush()
    await audit.record(
        session,
        actor_id=candidate.id,
        action="attempt.part_start",
        entity_type="attempt_part",
        entity_id=attempt_part.id,
        after={"part": part.key, "deadline": attempt_part.deadline.isoformat()},
    )
    await checkin.part_started(session, start, attempt_part)
    return attempt_part
