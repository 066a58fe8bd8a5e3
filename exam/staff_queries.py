"""What the certification body's staff pages of exam delivery show, read in the domain: the
sittings, a sitting with its registrations, and the applications."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from exam import lookups
from exam.models import (
    Accommodation,
    Application,
    ApplicationStatus,
    Attempt,
    AttemptPart,
    Registration,
    Sitting,
)
from exam.queries import accommodation_requests, attempt_of
from exam.reviews import NO_REVIEWS, Reviews
from itembank import blueprints
from itembank.models import Blueprint, Scheme
from vakt.accounts import Role, User, UserRole
from vakt.errors import NotFound
from vakt.i18n import _l


@dataclass
class SittingRow:
    """A sitting in the staff's list, with its scheme and how many are registered."""

    sitting: Sitting
    scheme: Scheme
    registered: int


async def sittings_overview(session: AsyncSession) -> list[SittingRow]:
    """Every sitting, newest first."""
    counts = (
        select(Registration.sitting_id, func.count(Registration.id).label("registered"))
        .group_by(Registration.sitting_id)
        .subquery()
    )
    rows = await session.execute(
        select(Sitting, Scheme, func.coalesce(counts.c.registered, 0))
        .join(Scheme, Scheme.id == Sitting.scheme_id)
        .outerjoin(counts, counts.c.sitting_id == Sitting.id)
        .order_by(Sitting.opens_at.desc())
    )
    return [SittingRow(sitting, scheme, int(registered)) for sitting, scheme, registered in rows]


async def blueprints_with_schemes(
    session: AsyncSession,
) -> list[Row[Blueprint, Scheme]]:
    """The blueprints a sitting can be scheduled from, by scheme."""
    return list(
        (
            await session.execute(
                select(Blueprint, Scheme)
                .join(Scheme, Scheme.id == Blueprint.scheme_id)
                .order_by(Scheme.code, Blueprint.code)
            )
        ).all()
    )


async def schemes(session: AsyncSession) -> list[Scheme]:
    """Every scheme, by code."""
    return list(await session.scalars(select(Scheme).order_by(Scheme.code)))


@dataclass
class RegistrationRow:
    """A registered candidate on the staff's sitting page."""

    registration: Registration
    candidate: User
    attempt: Attempt | None
    parts: list[AttemptPart]
    accommodations: list[Accommodation]
    held: bool = False
    """Held from the decision (no results released): the candidate's identity is not
    confirmed."""


@dataclass
class SittingPage:
    """A sitting with its registrations, and who may still be registered."""

    sitting: Sitting
    scheme: Scheme | None
    titles: dict[str, str]
    registrations: list[RegistrationRow]
    eligible: list[User]
    overriders: dict[int, User]
    """Who overrode a part's result (the decision maker), by user id."""


async def sitting_page(
    session: AsyncSession, sitting_id: int, reviews: Reviews = NO_REVIEWS
) -> SittingPage:
    """What the staff's page of a sitting shows (the attempts ``reviews`` holds marked held)."""
    sitting = await lookups.get_sitting(session, sitting_id)
    definition = blueprints.definition_of(
        await blueprints.get_blueprint(session, sitting.blueprint_id)
    )
    rows = (
        await session.execute(
            select(Registration, User)
            .join(User, User.id == Registration.candidate_id)
            .where(Registration.sitting_id == sitting.id)
            .order_by(User.full_name)
        )
    ).all()
    held = await reviews.identity_held(session, {row[0].id for row in rows})
    registered = []
    for registration, candidate in rows:
        attempt = await attempt_of(session, registration.id)
        registered.append(
            RegistrationRow(
                registration=registration,
                candidate=candidate,
                attempt=attempt,
                parts=await lookups.parts_of(session, attempt.id) if attempt else [],
                accommodations=await accommodation_requests(session, registration.id),
                held=registration.id in held,
            )
        )
    eligible = (
        await session.scalars(
            select(User)
            .join(Application, Application.candidate_id == User.id)
            .where(
                Application.scheme_id == sitting.scheme_id,
                Application.status == ApplicationStatus.APPROVED,
                User.id.not_in(
                    select(Registration.candidate_id).where(Registration.sitting_id == sitting.id)
                ),
            )
            .order_by(User.full_name)
        )
    ).all()
    overrider_ids = {
        part.result_override_by_id
        for row in registered
        for part in row.parts
        if part.result_override_by_id is not None
    }
    overriders: list[User] = (
        list(await session.scalars(select(User).where(User.id.in_(overrider_ids))))
        if overrider_ids
        else []
    )
    return SittingPage(
        sitting=sitting,
        scheme=await session.get(Scheme, sitting.scheme_id),
        titles={part.key: part.title for part in definition.parts},
        registrations=registered,
        eligible=list(eligible),
        overriders={user.id: user for user in overriders},
    )


async def attempt_with_registration(
    session: AsyncSession, attempt_id: int
) -> tuple[Attempt, Registration]:
    """An attempt and its registration, or a 404."""
    attempt = await session.get(Attempt, attempt_id)
    registration = await session.get(Registration, attempt.registration_id) if attempt else None
    if attempt is None or registration is None:
        raise NotFound(_l("No such attempt."))
    return attempt, registration


async def accommodation_with_registration(
    session: AsyncSession, accommodation_id: int
) -> tuple[Accommodation, Registration]:
    """A request for accommodation and its registration, or a 404."""
    accommodation = await session.get(Accommodation, accommodation_id)
    if accommodation is None:
        raise NotFound(_l("No such request."))
    registration = await session.get(Registration, accommodation.registration_id)
    assert registration is not None
    return accommodation, registration


async def part_with_registration(
    session: AsyncSession, attempt_part_id: int
) -> tuple[AttemptPart, Registration]:
    """A part of an attempt and the registration it belongs to, or a 404."""
    part = await session.get(AttemptPart, attempt_part_id)
    if part is None:
        raise NotFound(_l("No such part."))
    _attempt, registration = await attempt_with_registration(session, part.attempt_id)
    return part, registration


@dataclass
class ApplicationsPage:
    """Candidates, schemes, and the application of each candidate in each scheme."""

    candidates: list[User]
    schemes: list[Scheme]
    applications: dict[tuple[int, int], Application]


async def applications_page(session: AsyncSession) -> ApplicationsPage:
    """What the staff's page of applications shows."""
    candidates = (
        await session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.CANDIDATE.value)
            .order_by(User.full_name)
        )
    ).all()
    return ApplicationsPage(
        candidates=list(candidates),
        schemes=await schemes(session),
        applications={
            (a.candidate_id, a.scheme_id): a for a in await session.scalars(select(Application))
        },
    )
