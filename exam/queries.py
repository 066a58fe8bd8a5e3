"""What the candidate's pages and API show, read in the domain: "My page", the exam page and the
attempt's state (the staff's pages read through ``exam.staff_queries``). The web layer only
renders what these return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from exam import accommodations, attempts, lookups, registrations, results
from exam import flags as item_flags
from exam.models import (
    Accommodation,
    Answer,
    Application,
    Attempt,
    AttemptPart,
    AttemptStatus,
    ItemFlag,
    Registration,
    Sitting,
)
from exam.reviews import NO_REVIEWS, Reviews
from itembank import blueprints
from itembank.candidate_views import CandidateViews
from itembank.files import read_file
from itembank.models import ExamForm, Scheme
from itembank.schemas import CandidateItem
from itembank.shuffling import shuffled_view
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import _l

# ---- the candidate's registrations ---------------------------------------------------------------


@dataclass
class RegistrationView:
    """One registration as the candidate sees it on "My page"."""

    registration: Registration
    sitting: Sitting
    scheme: Scheme
    parts: list[blueprints.BlueprintPart]
    attempt: Attempt | None
    attempt_parts: list[AttemptPart]
    accommodations: list[Accommodation]
    accommodation_deadline: datetime
    can_request_accommodation: bool
    can_start: bool
    retake_until: datetime | None
    passed: bool | None = None
    under_review: bool = False
    """A part has a newer result than the one released (graded again after an appeal): none is
    shown until the decision maker releases the results again."""
    cheating_grounds: str | None = None
    """Set when the attempt was ended for cheating: the grounds the candidate is told."""
    error: str | None = None
    form_values: dict[str, str] = field(default_factory=dict)


async def my_registrations(
    session: AsyncSession, candidate: User, now: datetime, reviews: Reviews = NO_REVIEWS
) -> list[RegistrationView]:
    """The candidate's registrations, newest sitting first, with what they may do about each
    (and, from ``reviews``, the grounds of a decision of cheating)."""
    rows = (
        await session.execute(
            select(Registration, Sitting, Scheme)
            .join(Sitting, Sitting.id == Registration.sitting_id)
            .join(Scheme, Scheme.id == Sitting.scheme_id)
            .where(Registration.candidate_id == candidate.id)
            .order_by(Sitting.opens_at.desc())
        )
    ).all()
    views = []
    for registration, sitting, scheme in rows:
        definition = blueprints.definition_of(
            await blueprints.get_blueprint(session, sitting.blueprint_id)
        )
        attempt = await attempt_of(session, registration.id)
        attempt_parts = await lookups.parts_of(session, attempt.id) if attempt else []
        ended = attempt is not None and attempt.status != AttemptStatus.IN_PROGRESS
        view = RegistrationView(
            registration=registration,
            sitting=sitting,
            scheme=scheme,
            parts=[p for p in definition.parts if p.key in registration.part_keys],
            attempt=attempt,
            attempt_parts=attempt_parts,
            accommodations=await accommodation_requests(session, registration.id),
            accommodation_deadline=accommodations.request_deadline(sitting),
            can_request_accommodation=attempt is None
            and accommodations.may_still_request(sitting, now),
            can_start=not ended and registrations.sitting_is_open(sitting, now),
            retake_until=await registrations.retake_window_end(session, registration),
        )
        if attempt is not None and attempt.results_released_at is not None:
            view.under_review = any(results.withheld(attempt, p) for p in attempt_parts)
            if not view.under_review:
                view.passed = results.attempt_passed(attempt, attempt_parts, registration.part_keys)
        if attempt is not None and attempt.status == AttemptStatus.TERMINATED:
            # An attempt ended for cheating is not passed, whether or not results are released.
            view.cheating_grounds = await reviews.cheating_grounds(
                session, registration.id, candidate
            )
        views.append(view)
    return views


@dataclass
class RetakeOption:
    """Parts the candidate may still retake in a scheme, and until when."""

    scheme: Scheme
    part_titles: list[str]
    until: datetime


async def retake_options(
    session: AsyncSession, candidate: User, now: datetime
) -> list[RetakeOption]:
    """The schemes in which the candidate may still retake parts, within the 12 months."""
    options = []
    schemes = (
        await session.scalars(
            select(Scheme)
            .join(Application, Application.scheme_id == Scheme.id)
            .where(Application.candidate_id == candidate.id)
        )
    ).all()
    for scheme in schemes:
        cycle = await registrations.certification_cycle(
            session, candidate_id=candidate.id, scheme_id=scheme.id
        )
        if cycle is None or cycle.all_passed or cycle.pending or now > cycle.window_ends_at:
            continue
        first = await session.get(Registration, cycle.first_registration_id)
        sitting = await session.get(Sitting, first.sitting_id) if first else None
        titles = dict.fromkeys(cycle.open_parts, "")
        if sitting is not None:
            blueprint = await blueprints.get_blueprint(session, sitting.blueprint_id)
            for part in blueprints.definition_of(blueprint).parts:
                if part.key in titles:
                    titles[part.key] = part.title
        options.append(
            RetakeOption(
                scheme=scheme,
                part_titles=[title or key for key, title in titles.items()],
                until=cycle.window_ends_at,
            )
        )
    return options


async def applications_of(session: AsyncSession, candidate: User) -> list[Row[Application, Scheme]]:
    """The candidate's applications with their schemes."""
    return list(
        (
            await session.execute(
                select(Application, Scheme)
                .join(Scheme, Scheme.id == Application.scheme_id)
                .where(Application.candidate_id == candidate.id)
            )
        ).all()
    )


async def candidate_registration(
    session: AsyncSession, registration_id: int, candidate: User
) -> tuple[Registration, Sitting]:
    """The candidate's own registration and its sitting (another candidate's is a 404)."""
    registration = await lookups.own_registration(session, registration_id, candidate)
    return registration, await lookups.get_sitting(session, registration.sitting_id)


async def candidate_attempt(
    session: AsyncSession, attempt_id: int, candidate: User
) -> tuple[Attempt, Registration]:
    """The candidate's own attempt and its registration (another candidate's is a 404)."""
    attempt = await session.get(Attempt, attempt_id)
    registration = await session.get(Registration, attempt.registration_id) if attempt else None
    if attempt is None or registration is None or registration.candidate_id != candidate.id:
        raise NotFound(_l("No such attempt."))
    return attempt, registration


async def candidate_part(
    session: AsyncSession, attempt_part_id: int, candidate: User
) -> tuple[AttemptPart, Attempt]:
    """A part of the candidate's own attempt, with the attempt (another candidate's is a 404)."""
    part = await session.get(AttemptPart, attempt_part_id)
    if part is None:
        raise NotFound(_l("No such part."))
    attempt, _registration = await candidate_attempt(session, part.attempt_id, candidate)
    return part, attempt


async def sitting_of(session: AsyncSession, registration: Registration) -> Sitting:
    """The sitting a registration is for."""
    return await lookups.get_sitting(session, registration.sitting_id)


async def attempt_of(session: AsyncSession, registration_id: int) -> Attempt | None:
    """The registration's attempt, if it has started."""
    attempt: Attempt | None = await session.scalar(
        select(Attempt).where(Attempt.registration_id == registration_id)
    )
    return attempt


async def accommodation_requests(
    session: AsyncSession, registration_id: int
) -> list[Accommodation]:
    """A registration's requests for accommodation, oldest first."""
    return list(
        (
            await session.scalars(
                select(Accommodation)
                .where(Accommodation.registration_id == registration_id)
                .order_by(Accommodation.id)
            )
        ).all()
    )


# ---- the exam page and the attempt's state -------------------------------------------------------


@dataclass
class ExamItem:
    """One item of the running part as the candidate sees it (no key, no guide)."""

    number: int
    item_version_id: int
    view: CandidateItem


@dataclass
class ExamState:
    """Where the candidate's exam stands: the parts, the one running, what comes next, and the
    running part's items and saved answers."""

    registration: Registration
    sitting: Sitting
    attempt: Attempt | None
    definition: blueprints.BlueprintDefinition
    order: list[int]
    """The indexes of the parts the registration covers, in exam order."""
    started: list[AttemptPart]
    current: AttemptPart | None
    next_index: int | None
    break_until: datetime | None
    """When the next part may start, while the break after the last part lasts."""
    items: list[ExamItem]
    answers: dict[str, Answer]
    """The running part's newest answers, keyed by "{item_version_id}/{question_id}"."""
    extra_time_percent: int
    late_part: AttemptPart | None
    """The last part, while answers typed before its deadline may still arrive."""
    sitting_open: bool
    flags: dict[int, ItemFlag] = field(default_factory=dict)
    """The running part's flags for review, by item version (``exam.flags``)."""


async def exam_state(
    session: AsyncSession,
    *,
    registration: Registration,
    sitting: Sitting,
    attempt: Attempt | None,
    now: datetime,
    views: CandidateViews,
    late_window: timedelta,
) -> ExamState:
    """The exam as the candidate's page and API show it; the items' options in the form's own
    order (``itembank.shuffling``)."""
    form = await session.get(ExamForm, attempt.form_id) if attempt is not None else None
    if attempt is not None:
        definition = await lookups.definition_of(session, attempt)
    else:
        definition = blueprints.definition_of(
            await blueprints.get_blueprint(session, sitting.blueprint_id)
        )
    order = lookups.registered_part_indexes(definition, registration)
    started = await lookups.parts_of(session, attempt.id) if attempt else []
    current = next((p for p in started if p.submitted_at is None), None)
    next_index = order[len(started)] if len(started) < len(order) else None
    break_until = attempts.break_ends(definition, started) if next_index is not None else None
    items: list[ExamItem] = []
    answers: dict[str, Answer] = {}
    flags: dict[int, ItemFlag] = {}
    if current is not None and form is not None:
        rows = sorted(
            (r for r in form.items if r.part_index == current.part_index),
            key=lambda r: r.position,
        )
        seen = await views.of(session, [row.item_version_id for row in rows])
        items = [
            ExamItem(
                number,
                row.item_version_id,
                shuffled_view(
                    seen[row.item_version_id], form_seed=form.seed, version_id=row.item_version_id
                ),
            )
            for number, row in enumerate(rows, start=1)
        ]
        for answer in await session.scalars(
            select(Answer).where(Answer.attempt_part_id == current.id)
        ):
            answers[f"{answer.item_version_id}/{answer.question_id}"] = answer
        flags = await item_flags.flags_of(session, current.id)
    extra = (
        attempt.extra_time_percent
        if attempt
        else await accommodations.approved_extra_time(session, registration.id)
    )
    return ExamState(
        registration=registration,
        sitting=sitting,
        attempt=attempt,
        definition=definition,
        order=order,
        started=started,
        current=current,
        next_index=next_index,
        break_until=break_until if break_until and break_until > now else None,
        items=items,
        answers=answers,
        extra_time_percent=extra,
        late_part=_part_taking_late_answers(started, now, late_window) if current is None else None,
        sitting_open=registrations.sitting_is_open(sitting, now),
        flags=flags,
    )


def _part_taking_late_answers(
    started: list[AttemptPart], now: datetime, window: timedelta
) -> AttemptPart | None:
    """The last part, if it was handed in at its deadline (not before) and answers typed in time
    may still arrive (``exam.saves.save_answer``)."""
    last = started[-1] if started else None
    if last is None or last.submitted_at is None or last.submitted_at < last.deadline:
        return None
    return last if now <= last.deadline + window else None


async def current_part_file(
    session: AsyncSession, registration: Registration, version_id: int, name: str
) -> tuple[str, bytes]:
    """A file of an item in the registration's running part (media type, bytes): the candidate
    sees an item's files only while its part runs."""
    attempt = await attempt_of(session, registration.id)
    current = None
    if attempt is not None:
        current = next(
            (p for p in await lookups.parts_of(session, attempt.id) if p.submitted_at is None),
            None,
        )
    form = await session.get(ExamForm, attempt.form_id) if attempt else None
    if (
        current is None
        or form is None
        or not any(
            r.item_version_id == version_id and r.part_index == current.part_index
            for r in form.items
        )
    ):
        raise NotFound(_l("No such file."))
    return await read_file(session, version_id, name)
