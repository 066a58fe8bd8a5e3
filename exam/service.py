"""Exam delivery services: eligibility, sittings, accommodations, attempts, saves and hand-ins.

Times come from the caller (a ``Clock``), so rules about deadlines are tested without waiting.
Every state change is in the audit log; saves are kept in full in ``answer_save`` instead (one
audit entry per keystroke would drown the log), and the hand-in's receipt digest covers them.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from exam import timing
from exam.checkin import CheckIn
from exam.events import ExamEvents, LateAnswersDelivered
from exam.models import (
    Accommodation,
    Answer,
    AnswerSave,
    Application,
    ApplicationStatus,
    Attempt,
    AttemptPart,
    AttemptStatus,
    DecisionStatus,
    Declaration,
    Registration,
    ResumePermission,
    Sitting,
    SubmittedBy,
)
from itembank import blueprints
from itembank.models import ExamForm, ExamFormItem, ItemVersion
from itembank.schemas import ItemDocument, MultipleResponseQuestion, SingleChoiceQuestion
from itembank.scoring import score_multiple_response, score_single_choice
from vakt import audit
from vakt.accounts import Role, User
from vakt.errors import Conflict, Forbidden, NotFound, VaktError
from vakt.i18n import Moment, _l

logger = logging.getLogger(__name__)

OPEN_ELSEWHERE = _l(
    "This exam is open on another computer. Ask the exam staff to let you continue on this one."
)
"""Why a running attempt refuses a browser other than the one it is tied to."""

ACCOMMODATION_NOTICE = timedelta(days=7)
"""Requests for accommodation must reach the body at least this long before the sitting."""
MAX_EXTRA_TIME_PERCENT = 200


# ---- applications and sittings ------------------------------------------------------------------


async def decide_application(
    session: AsyncSession,
    *,
    candidate_id: int,
    scheme_id: int,
    approve: bool,
    actor: User,
    now: datetime,
    note: str = "",
) -> Application:
    """Record the staff's document review of a candidate's application (approve or reject)."""
    application = await session.scalar(
        select(Application).where(
            Application.candidate_id == candidate_id, Application.scheme_id == scheme_id
        )
    )
    if application is None:
        application = Application(candidate_id=candidate_id, scheme_id=scheme_id)
        session.add(application)
    before = application.status
    application.status = (
        ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    ).value
    application.decided_by_id = actor.id
    application.decided_at = now
    application.note = note
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="application.decide",
        entity_type="application",
        entity_id=application.id,
        before={"status": before},
        after={"status": application.status, "note": note},
    )
    return application


async def create_sitting(
    session: AsyncSession,
    *,
    blueprint_id: int,
    name: str,
    opens_at: datetime,
    closes_at: datetime,
    actor: User,
) -> Sitting:
    """Schedule a sitting of a blueprint with the window in which candidates may start."""
    blueprint = await blueprints.get_blueprint(session, blueprint_id)
    if not name.strip():
        raise VaktError(_l("A sitting needs a name."), field="name")
    if closes_at <= opens_at:
        raise VaktError(_l("The sitting must close after it opens."), field="closes_at")
    sitting = Sitting(
        scheme_id=blueprint.scheme_id,
        blueprint_id=blueprint.id,
        name=name.strip(),
        opens_at=opens_at,
        closes_at=closes_at,
        created_by_id=actor.id,
    )
    session.add(sitting)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="sitting.create",
        entity_type="sitting",
        entity_id=sitting.id,
        after={
            "blueprint_id": blueprint.id,
            "opens_at": opens_at.isoformat(),
            "closes_at": closes_at.isoformat(),
        },
    )
    return sitting


async def get_sitting(session: AsyncSession, sitting_id: int) -> Sitting:
    """A sitting by id, or a 404."""
    sitting = await session.get(Sitting, sitting_id)
    if sitting is None:
        raise NotFound(_l("No such sitting."))
    return sitting


@dataclass(frozen=True)
class Cycle:
    """A candidate's certification process in a scheme: the first full attempt and its retakes.

    All parts must be passed within 12 months of the first attempt; a failed part may be retaken
    within that window.
    """

    first_registration_id: int
    first_attempt_at: datetime
    window_ends_at: datetime
    part_keys: tuple[str, ...]
    passed: frozenset[str]
    pending: frozenset[str]
    """Parts taken whose result is not decided yet (or whose attempt is still going on)."""

    @property
    def open_parts(self) -> tuple[str, ...]:
        """The parts still to pass, in exam order."""
        return tuple(key for key in self.part_keys if key not in self.passed)

    @property
    def all_passed(self) -> bool:
        """True when every part of the exam has been passed."""
        return not self.open_parts


RETAKE_WINDOW_MONTHS = 12


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (the month's last day when the day is missing)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


async def certification_cycle(
    session: AsyncSession, *, candidate_id: int, scheme_id: int
) -> Cycle | None:
    """The candidate's newest certification process in the scheme, or None before any attempt."""
    rows = (
        await session.execute(
            select(Registration, Attempt)
            .join(Attempt, Attempt.registration_id == Registration.id)
            .join(Sitting, Sitting.id == Registration.sitting_id)
            .where(Registration.candidate_id == candidate_id, Sitting.scheme_id == scheme_id)
            .order_by(Attempt.started_at, Attempt.id)
        )
    ).all()
    firsts = [(r, a) for r, a in rows if r.retake_of_id is None]
    if not firsts:
        return None
    first_registration, first_attempt = firsts[-1]
    members = [
        (r, a)
        for r, a in rows
        if r.id == first_registration.id or r.retake_of_id == first_registration.id
    ]
    passed: set[str] = set()
    pending: set[str] = set()
    for registration, attempt in members:
        parts = {p.part_key: p for p in await parts_of(session, attempt.id)}
        ended = attempt.status != AttemptStatus.IN_PROGRESS.value
        for key in registration.part_keys:
            part = parts.get(key)
            if part is not None and part.passed:
                passed.add(key)
            elif not ended or (part is not None and part.passed is None):
                pending.add(key)
    return Cycle(
        first_registration_id=first_registration.id,
        first_attempt_at=first_attempt.started_at,
        window_ends_at=add_months(first_attempt.started_at, RETAKE_WINDOW_MONTHS),
        part_keys=tuple(first_registration.part_keys),
        passed=frozenset(passed),
        pending=frozenset(pending - passed),
    )


async def register(
    session: AsyncSession, *, sitting_id: int, candidate: User, actor: User
) -> Registration:
    """Register a candidate for a sitting; only with an approved application.

    Within 12 months of the first attempt of a process that is not yet passed, the registration
    is a retake and covers only the parts not yet passed; after the window a new process starts
    with every part.
    """
    sitting = await get_sitting(session, sitting_id)
    if not candidate.has_any(Role.CANDIDATE):
        raise VaktError(_l("Only candidates can be registered for a sitting."))
    approved = await session.scalar(
        select(Application.id).where(
            Application.candidate_id == candidate.id,
            Application.scheme_id == sitting.scheme_id,
            Application.status == ApplicationStatus.APPROVED.value,
        )
    )
    if approved is None:
        raise Conflict(_l("The candidate has no approved application for this scheme."))
    if await session.scalar(
        select(Registration.id).where(
            Registration.sitting_id == sitting.id, Registration.candidate_id == candidate.id
        )
    ):
        raise Conflict(_l("The candidate is registered for this sitting already."))
    blueprint = await blueprints.get_blueprint(session, sitting.blueprint_id)
    definition = blueprints.BlueprintDefinition.model_validate(blueprint.definition)
    sitting_parts = [p.key for p in definition.parts]
    part_keys, retake_of = sitting_parts, None
    cycle = await certification_cycle(
        session, candidate_id=candidate.id, scheme_id=sitting.scheme_id
    )
    if cycle is not None and sitting.opens_at <= cycle.window_ends_at:
        if cycle.all_passed:
            raise Conflict(_l("The candidate has passed every part of this exam already."))
        if cycle.pending:
            raise Conflict(
                _l(
                    "The results of the candidate's earlier attempt are not final yet; "
                    "register the retake when they are."
                )
            )
        missing = [key for key in cycle.open_parts if key not in sitting_parts]
        if missing:
            raise Conflict(
                _l("This sitting's exam has no part {parts}, which the candidate must retake."),
                parts=", ".join(missing),
            )
        part_keys, retake_of = list(cycle.open_parts), cycle.first_registration_id
    registration = Registration(
        sitting_id=sitting.id,
        candidate_id=candidate.id,
        part_keys=part_keys,
        retake_of_id=retake_of,
    )
    session.add(registration)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="registration.create",
        entity_type="registration",
        entity_id=registration.id,
        after={
            "sitting_id": sitting.id,
            "candidate_id": candidate.id,
            "part_keys": registration.part_keys,
            "retake_of": retake_of,
        },
    )
    return registration


async def retake_window_end(session: AsyncSession, registration: Registration) -> datetime | None:
    """When a retake registration stops being valid (12 months after the first attempt)."""
    if registration.retake_of_id is None:
        return None
    first_attempt = await session.scalar(
        select(Attempt.started_at).where(Attempt.registration_id == registration.retake_of_id)
    )
    return add_months(first_attempt, RETAKE_WINDOW_MONTHS) if first_attempt else None


# ---- accommodations -----------------------------------------------------------------------------


async def request_accommodation(
    session: AsyncSession,
    *,
    registration_id: int,
    candidate: User,
    extra_time_percent: int,
    reason: str,
    other_needs: str = "",
    now: datetime,
) -> Accommodation:
    """A candidate asks for accommodation; refused later than 7 days before the sitting opens."""
    registration = await _own_registration(session, registration_id, candidate)
    sitting = await get_sitting(session, registration.sitting_id)
    if now > sitting.opens_at - ACCOMMODATION_NOTICE:
        raise Conflict(
            _l(
                "Requests for accommodation must arrive at least 7 days before the sitting "
                "(by {deadline})."
            ),
            deadline=Moment(sitting.opens_at - ACCOMMODATION_NOTICE),
        )
    if not 0 <= extra_time_percent <= MAX_EXTRA_TIME_PERCENT:
        raise VaktError(
            _l("Extra time must be between 0 and {max} %."),
            field="extra_time_percent",
            max=MAX_EXTRA_TIME_PERCENT,
        )
    if not reason.strip():
        raise VaktError(_l("Give the reason for the request."), field="reason")
    if extra_time_percent == 0 and not other_needs.strip():
        raise VaktError(
            _l("Say what you need: extra time or another arrangement."), field="other_needs"
        )
    accommodation = Accommodation(
        registration_id=registration.id,
        extra_time_percent=extra_time_percent,
        other_needs=other_needs.strip(),
        reason=reason.strip(),
        requested_at=now,
    )
    session.add(accommodation)
    await session.flush()
    await audit.record(
        session,
        actor_id=candidate.id,
        action="accommodation.request",
        entity_type="accommodation",
        entity_id=accommodation.id,
        after={"extra_time_percent": extra_time_percent},
    )
    return accommodation


async def decide_accommodation(
    session: AsyncSession,
    *,
    accommodation_id: int,
    approve: bool,
    actor: User,
    now: datetime,
    note: str = "",
) -> Accommodation:
    """Staff approve or reject a request for accommodation."""
    if not actor.has_any(Role.ADMINISTRATOR):
        raise Forbidden(_l("Only the certification body's staff decide on accommodations."))
    accommodation = await session.get(Accommodation, accommodation_id)
    if accommodation is None:
        raise NotFound(_l("No such request."))
    if accommodation.status != DecisionStatus.PENDING.value:
        raise Conflict(_l("This request has been decided already."))
    accommodation.status = (DecisionStatus.APPROVED if approve else DecisionStatus.REJECTED).value
    accommodation.decided_by_id = actor.id
    accommodation.decided_at = now
    accommodation.decision_note = note
    await audit.record(
        session,
        actor_id=actor.id,
        action="accommodation.decide",
        entity_type="accommodation",
        entity_id=accommodation.id,
        before={"status": "pending"},
        after={"status": accommodation.status},
    )
    return accommodation


async def approved_extra_time(session: AsyncSession, registration_id: int) -> int:
    """The extra time (percent) approved for a registration; the largest if several."""
    values = (
        await session.scalars(
            select(Accommodation.extra_time_percent).where(
                Accommodation.registration_id == registration_id,
                Accommodation.status == DecisionStatus.APPROVED.value,
            )
        )
    ).all()
    return max(values, default=0)


# ---- attempts -----------------------------------------------------------------------------------


async def _own_registration(
    session: AsyncSession, registration_id: int, candidate: User
) -> Registration:
    registration = await session.get(Registration, registration_id)
    # Another candidate's registration is reported as missing: its existence is not theirs to know.
    if registration is None or registration.candidate_id != candidate.id:
        raise NotFound(_l("No such registration."))
    return registration


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
    registration = await _own_registration(session, registration_id, candidate)
    existing = await session.scalar(
        select(Attempt).where(Attempt.registration_id == registration.id)
    )
    if existing is not None:
        return existing
    sitting = await get_sitting(session, registration.sitting_id)
    if not sitting.opens_at <= now <= sitting.closes_at:
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


async def _own_attempt(
    session: AsyncSession, attempt_id: int, candidate: User
) -> tuple[Attempt, Registration]:
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    registration = await _own_registration(session, attempt.registration_id, candidate)
    return attempt, registration


async def _definition(session: AsyncSession, attempt: Attempt) -> blueprints.BlueprintDefinition:
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    return blueprints.BlueprintDefinition.model_validate(form.blueprint_snapshot)


def registered_part_indexes(
    definition: blueprints.BlueprintDefinition, registration: Registration
) -> list[int]:
    """The indexes of the parts this registration covers (all, or a retake's), in exam order."""
    keys = set(registration.part_keys)
    return [index for index, part in enumerate(definition.parts) if part.key in keys]


async def parts_of(session: AsyncSession, attempt_id: int) -> list[AttemptPart]:
    """The parts started so far, in order."""
    return list(
        (
            await session.scalars(
                select(AttemptPart)
                .where(AttemptPart.attempt_id == attempt_id)
                .order_by(AttemptPart.part_index)
            )
        ).all()
    )


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
    and never before the check-in is done."""
    attempt, registration = await _own_attempt(session, attempt_id, candidate)
    if attempt.status != AttemptStatus.IN_PROGRESS.value:
        raise Conflict(_l("This attempt has ended."))
    definition = await _definition(session, attempt)
    order = registered_part_indexes(definition, registration)
    started = await parts_of(session, attempt.id)
    if started and started[-1].submitted_at is None:
        return started[-1]
    if len(started) >= len(order):
        raise Conflict(_l("Every part has been handed in."))
    await checkin.require(session, registration)
    index = order[len(started)]
    opens = break_ends(definition, started)
    if opens is not None and now < opens:
        raise Conflict(_l("The break lasts until {time}."), time=Moment(opens, "time"))
    part = definition.parts[index]
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
    return attempt_part


@dataclass(frozen=True)
class SaveResult:
    """What a save did: whether it became the newest answer, and the newest sequence number."""

    applied: bool
    sequence: int
    delivered_late: bool = False
    """The answer was typed before the deadline and arrived after it (see ``save_answer``)."""


SEQUENCE_LEAD = timedelta(minutes=10)
"""How far a sequence number may run ahead of the server's clock in milliseconds. The exam page
numbers changes by the server-synced time, other clients count 1, 2, 3; a number far ahead would
freeze the answer (no later change could beat it)."""


class LateSaveRefusal(enum.StrEnum):
    """Why an answer that arrived after the deadline was refused (kept with the save)."""

    TYPED_AFTER_DEADLINE = "typed_after_deadline"
    """The change was made after the deadline, or the page did not say when it was made."""
    BEYOND_WINDOW = "beyond_window"
    """It arrived too long after the deadline or after the candidate's last contact."""


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
    events: ExamEvents | None = None,
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
    ``events`` hear of it (proctoring flags the network loss).
    """
    target = await _save_target(session, attempt_part_id, candidate, item_version_id)
    if device is not None and target.device_digest not in (None, device_digest(device)):
        raise Forbidden(OPEN_ELSEWHERE)
    if target.attempt_status == AttemptStatus.TERMINATED.value or (
        target.submitted_at is not None and target.submitted_at < target.deadline
    ):
        raise Conflict(_l("This part has been handed in; answers can no longer change."))
    max_sequence = int((now + SEQUENCE_LEAD).timestamp() * 1000)
    if not 0 <= sequence <= max_sequence:
        raise VaktError(
            _l("The sequence number must be a whole number from 0 to {max}."),
            field="sequence",
            max=max_sequence,
        )
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
            events=events,
        )
    if now > target.deadline:
        # Accepted within the grace for requests in flight; answer_save keeps the time too.
        logger.info(
            "save in the grace period: part %s, %.1f s after the deadline",
            attempt_part_id,
            (now - target.deadline).total_seconds(),
        )
    applied = await _apply_save(
        session, attempt_part_id, item_version_id, question_id, sequence, value, now
    )
    # Keep the save in the history, in the same statement checking that the part is still open:
    # on SQLite the reads above took no lock and a hand-in may have committed since (the upsert
    # now holds the write lock, so nothing can change any more); on PostgreSQL the row lock
    # already rules that out and the check costs nothing. When it refuses, the caller's rollback
    # undoes the upsert too.
    kept = await session.execute(
        _KEEP_SAVE,
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
        _NEWEST_SEQUENCE,
        {
            "part_id": attempt_part_id,
            "item_version_id": item_version_id,
            "question_id": question_id,
        },
    )
    return int(newest if newest is not None else sequence)


async def _save_late(
    session: AsyncSession,
    target: _SaveTarget,
    *,
    attempt_part_id: int,
    item_version_id: int,
    question_id: str,
    sequence: int,
    value: Any,
    now: datetime,
    changed_at: datetime | None,
    late_window: timedelta,
    events: ExamEvents | None,
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
        await session.execute(
            insert(AnswerSave).values(**history, applied=False, refusal=refusal.value)
        )
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
    applied = await _apply_save(
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
        await _reissue_receipt(session, attempt_part, now=now, actor_id=target.candidate_id)
    if events is not None:
        await events.publish(
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
    session: AsyncSession, attempt_part_id: int, target: _SaveTarget
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


async def _reissue_receipt(
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


async def record_contact(
    session: AsyncSession, *, attempt_part_id: int, candidate: User, now: datetime
) -> AttemptPart:
    """Note that the candidate's exam page reached the server during a part (its clock requests,
    about once a minute); answers lost in a network failure may come only so long after it."""
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None:
        raise NotFound(_l("No such part."))
    await _own_attempt(session, attempt_part.attempt_id, candidate)
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


# A save is most of a sitting's requests, so its statements are built once, with bound
# parameters, instead of for each save: building and cache-keying a statement costs more CPU than
# running it. They use the tables, not the mapped classes: these rows need no ORM bookkeeping.
_PART, _ATTEMPT, _REGISTRATION, _FORM_ITEM, _VERSION, _ANSWER, _ANSWER_SAVE = (
    cast(Table, model.__table__)
    for model in (AttemptPart, Attempt, Registration, ExamFormItem, ItemVersion, Answer, AnswerSave)
)
_SAVE_TARGET = (
    select(
        _PART.c.deadline,
        _PART.c.submitted_at,
        _PART.c.started_at,
        _PART.c.last_contact_at,
        _ATTEMPT.c.id,
        _ATTEMPT.c.status,
        _ATTEMPT.c.device_digest,
        _REGISTRATION.c.id,
        _REGISTRATION.c.candidate_id,
        _VERSION.c.document,
    )
    .select_from(_PART)
    .join(_ATTEMPT, _ATTEMPT.c.id == _PART.c.attempt_id)
    .join(_REGISTRATION, _REGISTRATION.c.id == _ATTEMPT.c.registration_id)
    .outerjoin(
        _FORM_ITEM,
        and_(
            _FORM_ITEM.c.form_id == _ATTEMPT.c.form_id,
            _FORM_ITEM.c.part_index == _PART.c.part_index,
            _FORM_ITEM.c.item_version_id == bindparam("item_version_id"),
        ),
    )
    .outerjoin(_VERSION, _VERSION.c.id == _FORM_ITEM.c.item_version_id)
    .where(_PART.c.id == bindparam("part_id"))
    .limit(1)
    .with_for_update(of=_PART)
)
_KEEP_SAVE = insert(_ANSWER_SAVE).from_select(
    ["attempt_part_id", "item_version_id", "question_id", "sequence", "value", "received_at",
     "applied", "changed_at"],
    select(
        _PART.c.id,
        *(
            bindparam(name, type_=_ANSWER_SAVE.c[column].type)
            for name, column in (
                ("item_version_id", "item_version_id"), ("question_id", "question_id"),
                ("sequence", "sequence"), ("value", "value"), ("now", "received_at"),
                ("applied", "applied"), ("changed_at", "changed_at"),
            )
        ),
    ).where(_PART.c.id == bindparam("part_id"), _PART.c.submitted_at.is_(None)),
)  # fmt: skip
_NEWEST_SEQUENCE = select(_ANSWER.c.sequence).where(
    _ANSWER.c.attempt_part_id == bindparam("part_id"),
    _ANSWER.c.item_version_id == bindparam("item_version_id"),
    _ANSWER.c.question_id == bindparam("question_id"),
)


def _upsert(dialect_insert: Any) -> Any:
    statement = dialect_insert(_ANSWER).values(
        attempt_part_id=bindparam("part_id"),
        item_version_id=bindparam("item_version_id"),
        question_id=bindparam("question_id"),
        sequence=bindparam("sequence"),
        value=bindparam("value"),
        saved_at=bindparam("now"),
    )
    return statement.on_conflict_do_update(
        index_elements=[
            _ANSWER.c.attempt_part_id,
            _ANSWER.c.item_version_id,
            _ANSWER.c.question_id,
        ],
        set_={
            "sequence": statement.excluded.sequence,
            "value": statement.excluded.value,
            "saved_at": statement.excluded.saved_at,
        },
        where=_ANSWER.c.sequence < statement.excluded.sequence,
    )


_UPSERT_ANSWER = {"postgresql": _upsert(postgresql_insert), "sqlite": _upsert(sqlite_insert)}


@dataclass(frozen=True)
class _SaveTarget:
    """What a save needs to know about its part, read in one round trip."""

    deadline: datetime
    submitted_at: datetime | None
    started_at: datetime
    last_contact_at: datetime | None
    attempt_id: int
    attempt_status: str
    device_digest: str | None
    registration_id: int
    candidate_id: int
    document: dict[str, Any] | None
    """The item version's document when the form pins it to this part, else None."""


async def _save_target(
    session: AsyncSession, attempt_part_id: int, candidate: User, item_version_id: int
) -> _SaveTarget:
    """The part, checked to be the candidate's, with the item version if the part holds it.

    One query instead of one per row (part, attempt, registration, form and its items, version):
    saves are most of a sitting's requests. On PostgreSQL it locks the part's row (FOR UPDATE OF
    attempt_part) so a hand-in cannot read the answers while this save is half done; SQLite
    serialises writers anyway and is covered by the check in the history insert.
    """
    row = (
        await session.execute(
            _SAVE_TARGET, {"part_id": attempt_part_id, "item_version_id": item_version_id}
        )
    ).first()
    if row is None:
        raise NotFound(_l("No such part."))
    target = _SaveTarget(*tuple(row))
    # Another candidate's part is reported as missing: its existence is not theirs to know.
    if target.candidate_id != candidate.id:
        raise NotFound(_l("No such registration."))
    return target


async def _apply_save(
    session: AsyncSession,
    attempt_part_id: int,
    item_version_id: int,
    question_id: str,
    sequence: int,
    value: Any,
    now: datetime,
) -> bool:
    """Make the save the newest answer unless a newer one is there.

    One atomic upsert (INSERT ... ON CONFLICT DO UPDATE ... WHERE the stored sequence is older),
    so two tabs saving at once cannot both win or both lose: the database decides.
    """
    result = await session.execute(
        _UPSERT_ANSWER[session.get_bind().dialect.name],
        {
            "part_id": attempt_part_id,
            "item_version_id": item_version_id,
            "question_id": question_id,
            "sequence": sequence,
            "value": value,
            "now": now,
        },
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
    attempt, _ = await _own_attempt(session, attempt_part.attempt_id, candidate)
    if attempt_part.submitted_at is not None:
        return attempt_part
    await _close_part(session, attempt, attempt_part, now=now, how=how, actor_id=candidate.id)
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
    claimed = await session.execute(
        update(AttemptPart)
        .where(AttemptPart.id == attempt_part.id, AttemptPart.submitted_at.is_(None))
        .values(submitted_at=submitted_at, submitted_by=how.value)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        await session.refresh(attempt_part)
        return False
    set_committed_value(attempt_part, "submitted_at", submitted_at)
    set_committed_value(attempt_part, "submitted_by", how.value)
    answers = await _seal(session, attempt, attempt_part)
    definition = await _definition(session, attempt)
    registration = await session.get(Registration, attempt.registration_id)
    assert registration is not None
    if (
        attempt_part.part_index == registered_part_indexes(definition, registration)[-1]
        and attempt.status == AttemptStatus.IN_PROGRESS.value
    ):
        attempt.status, attempt.ended_at = AttemptStatus.FINISHED.value, attempt_part.submitted_at
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
    """The parts whose deadline (plus grace) has passed and that are not handed in yet."""
    return list(
        (
            await session.scalars(
                select(AttemptPart.id)
                .where(
                    AttemptPart.submitted_at.is_(None),
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
    if attempt_part.deadline >= now - timing.SAVE_GRACE:
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
    if not actor.has_any(Role.PROCTOR, Role.ADMINISTRATOR):
        raise Forbidden(_l("Only proctors decide that a candidate cheated."))
    if not reason.strip():
        raise VaktError(_l("Say what happened."), field="reason")
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    if attempt.status == AttemptStatus.TERMINATED.value:
        return attempt
    for attempt_part in await parts_of(session, attempt.id):
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
        AttemptStatus.TERMINATED.value,
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
    return attempt


# ---- results ------------------------------------------------------------------------------------


async def record_part_result(
    session: AsyncSession, *, attempt_part_id: int, passed: bool, actor: User, now: datetime
) -> AttemptPart:
    """Record a handed-in part's result (grading calls this once the grades are final)."""
    if not actor.has_any(Role.ADMINISTRATOR, Role.DECISION_MAKER):
        raise Forbidden(_l("Only the certification body's staff record results."))
    attempt_part = await session.get(AttemptPart, attempt_part_id)
    if attempt_part is None:
        raise NotFound(_l("No such part."))
    if attempt_part.submitted_at is None:
        raise Conflict(_l("A part has a result only after it has been handed in."))
    before = attempt_part.passed
    attempt_part.passed, attempt_part.result_recorded_at = passed, now
    await audit.record(
        session,
        actor_id=actor.id,
        action="attempt.part_result",
        entity_type="attempt_part",
        entity_id=attempt_part.id,
        before={"passed": before},
        after={"passed": passed},
    )
    return attempt_part


async def release_results(
    session: AsyncSession, *, attempt_id: int, actor: User, now: datetime
) -> Attempt:
    """Show the candidate the results of an ended attempt whose every part has a result."""
    if not actor.has_any(Role.ADMINISTRATOR, Role.DECISION_MAKER):
        raise Forbidden(_l("Only the certification body's staff release results."))
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    if attempt.status == AttemptStatus.IN_PROGRESS.value:
        raise Conflict(_l("The attempt is still going on."))
    if any(part.passed is None for part in await parts_of(session, attempt.id)):
        raise Conflict(_l("Every part needs a result before the results are released."))
    if attempt.results_released_at is None:
        attempt.results_released_at = now
        await audit.record(
            session,
            actor_id=actor.id,
            action="attempt.release_results",
            entity_type="attempt",
            entity_id=attempt.id,
        )
    return attempt


def attempt_passed(attempt: Attempt, parts: list[AttemptPart], part_keys: list[str]) -> bool:
    """True when every registered part was passed ("Bestått"); a terminated attempt never is."""
    if attempt.status == AttemptStatus.TERMINATED.value:
        return False
    passed = {part.part_key for part in parts if part.passed}
    return all(key in passed for key in part_keys)


# ---- check-in: declarations and the computer the exam runs on -----------------------------------


async def accept_declaration(
    session: AsyncSession,
    *,
    registration_id: int,
    candidate: User,
    text_version: str,
    text_digest: str,
    language: str,
    now: datetime,
) -> Declaration:
    """Store the candidate's acceptance of the code of conduct and self-declaration."""
    registration = await _own_registration(session, registration_id, candidate)
    existing = await session.scalar(
        select(Declaration).where(
            Declaration.registration_id == registration.id,
            Declaration.text_version == text_version,
        )
    )
    if existing is not None:
        return existing
    declaration = Declaration(
        registration_id=registration.id,
        text_version=text_version,
        text_digest=text_digest,
        language=language,
        accepted_at=now,
    )
    session.add(declaration)
    await session.flush()
    await audit.record(
        session,
        actor_id=candidate.id,
        action="declaration.accept",
        entity_type="registration",
        entity_id=registration.id,
        after={"text_version": text_version, "text_digest": text_digest, "language": language},
    )
    return declaration


def device_digest(device_token: str) -> str:
    """What is stored of a browser's device token (never the token itself)."""
    return hashlib.sha256(device_token.encode()).hexdigest()


async def bind_device(
    session: AsyncSession,
    *,
    attempt: Attempt,
    device_token: str,
    device_is_new: bool,
    sign_in: str | None,
    actor: User,
    now: datetime,
) -> None:
    """Tie the attempt to the browser it runs in. Another computer may take over only after
    staff allowed it, so an attempt cannot silently run in two places (or be taken by someone
    else with the candidate's password).

    ``device_is_new``: the browser sent no device token, this request made one (its answer
    carries it). Until a request comes back with the bound token the binding is unconfirmed: the
    answer that carried the token may have been lost (a crash, a dropped connection), so the
    same sign-in (``sign_in``: a secret of the signed-in session) may bind again.
    """
    digest = device_digest(device_token)
    if attempt.device_digest == digest:
        if not device_is_new and not attempt.device_confirmed:
            attempt.device_confirmed = True
        return
    sign_in_digest = device_digest(sign_in) if sign_in else None
    answer_lost = (
        attempt.device_digest is not None
        and not attempt.device_confirmed
        and sign_in_digest is not None
        and attempt.device_session_digest == sign_in_digest
    )
    if attempt.device_digest is not None and not answer_lost:
        permission = await session.scalar(
            select(ResumePermission)
            .where(ResumePermission.attempt_id == attempt.id, ResumePermission.used_at.is_(None))
            .order_by(ResumePermission.id.desc())
        )
        if permission is None:
            raise Forbidden(OPEN_ELSEWHERE)
        permission.used_at = now
    attempt.device_digest = digest
    attempt.device_confirmed = not device_is_new
    attempt.device_session_digest = sign_in_digest
    await audit.record(
        session,
        actor_id=actor.id,
        action="attempt.bind_device",
        entity_type="attempt",
        entity_id=attempt.id,
        after={"device": digest[:12], **({"again_after_lost_answer": True} if answer_lost else {})},
    )


async def allow_resume(
    session: AsyncSession, *, attempt_id: int, actor: User, reason: str, now: datetime
) -> ResumePermission:
    """Staff let the candidate continue the attempt on another computer (once)."""
    if not actor.has_any(Role.ADMINISTRATOR, Role.PROCTOR):
        raise Forbidden(_l("Only exam staff can let a candidate change computer."))
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    if attempt.status != AttemptStatus.IN_PROGRESS.value:
        raise Conflict(_l("This attempt has ended."))
    if not reason.strip():
        raise VaktError(_l("Say why the candidate changes computer."), field="reason")
    permission = ResumePermission(
        attempt_id=attempt.id, granted_by_id=actor.id, granted_at=now, reason=reason.strip()
    )
    session.add(permission)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="attempt.allow_resume",
        entity_type="attempt",
        entity_id=attempt.id,
        after={"reason": reason.strip()},
    )
    return permission
