"""Finding an exam's rows for the services: a sitting, a candidate's own registration and attempt
(another candidate's are reported missing), the parts of an attempt and its blueprint.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import (
    Attempt,
    AttemptPart,
    Registration,
    Sitting,
)
from itembank import blueprints
from itembank.models import ExamForm
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import _l


async def get_sitting(session: AsyncSession, sitting_id: int) -> Sitting:
    """A sitting by id, or a 404."""
    sitting = await session.get(Sitting, sitting_id)
    if sitting is None:
        raise NotFound(_l("No such sitting."))
    return sitting


async def own_registration(
    session: AsyncSession, registration_id: int, candidate: User
) -> Registration:
    """The candidate's own registration; another candidate's is reported as missing (a 404):
    its existence is not theirs to know."""
    registration = await session.get(Registration, registration_id)
    if registration is None or registration.candidate_id != candidate.id:
        raise NotFound(_l("No such registration."))
    return registration


async def own_attempt(
    session: AsyncSession, attempt_id: int, candidate: User
) -> tuple[Attempt, Registration]:
    """The candidate's own attempt with its registration (another candidate's is a 404)."""
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(_l("No such attempt."))
    registration = await own_registration(session, attempt.registration_id, candidate)
    return attempt, registration


async def definition_of(session: AsyncSession, attempt: Attempt) -> blueprints.BlueprintDefinition:
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    return blueprints.definition_of_form(form)


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
