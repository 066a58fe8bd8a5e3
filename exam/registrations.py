"""Applications, sittings and registrations, with the 12-month certification process: within it a
registration is a retake of the parts not yet passed; after it a new process starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.lookups import get_sitting, parts_of
from exam.models import (
    Application,
    ApplicationStatus,
    Attempt,
    AttemptStatus,
    Registration,
    Sitting,
)
from exam.roles import EXAM_ADMINISTRATORS, require
from itembank import blueprints
from itembank.models import Scheme
from vakt import audit
from vakt.accounts import Role, User
from vakt.errors import Conflict, VaktError
from vakt.i18n import _l

STAFF_ONLY = _l(
    "Only the certification body's staff manage applications, sittings and registrations."
)


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
    require(actor, EXAM_ADMINISTRATORS, STAFF_ONLY)
    candidate = await session.get(User, candidate_id)
    if (
        candidate is None
        or not candidate.has_any(Role.CANDIDATE)
        or await session.get(Scheme, scheme_id) is None
    ):
        raise VaktError(_l("Choose a candidate and a scheme."))
    application = await session.scalar(
        select(Application).where(
            Application.candidate_id == candidate_id, Application.scheme_id == scheme_id
        )
    )
    if application is None:
        application = Application(candidate_id=candidate_id, scheme_id=scheme_id)
        session.add(application)
    before = application.status
    application.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
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
    require(actor, EXAM_ADMINISTRATORS, STAFF_ONLY)
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
STAFF_ONLY = _l(
    "Only the certification body's staff manage applications, sittings and registrations."
)


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
        ended = attempt.status != AttemptStatus.IN_PROGRESS
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
    require(actor, EXAM_ADMINISTRATORS, STAFF_ONLY)
    sitting = await get_sitting(session, sitting_id)
    if not candidate.has_any(Role.CANDIDATE):
        raise VaktError(_l("Only candidates can be registered for a sitting."))
    approved = await session.scalar(
        select(Application.id).where(
            Application.candidate_id == candidate.id,
            Application.scheme_id == sitting.scheme_id,
            Application.status == ApplicationStatus.APPROVED,
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
    definition = blueprints.definition_of(blueprint)
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


async def register_by_username(
    session: AsyncSession, *, sitting_id: int, username: str, actor: User
) -> Registration:
    """Register the user with this username for a sitting (``register``)."""
    candidate = await session.scalar(select(User).where(User.username == username.strip()))
    if candidate is None:
        raise VaktError(
            _l("There is no user {username}."), field="username", username=username.strip()
        )
    return await register(session, sitting_id=sitting_id, candidate=candidate, actor=actor)


async def retake_window_end(session: AsyncSession, registration: Registration) -> datetime | None:
    """When a retake registration stops being valid (12 months after the first attempt)."""
    if registration.retake_of_id is None:
        return None
    first_attempt = await session.scalar(
        select(Attempt.started_at).where(Attempt.registration_id == registration.retake_of_id)
    )
    return add_months(first_attempt, RETAKE_WINDOW_MONTHS) if first_attempt else None


def sitting_is_open(sitting: Sitting, now: datetime) -> bool:
    """True while candidates may start the sitting."""
    return sitting.opens_at <= now <= sitting.closes_at
