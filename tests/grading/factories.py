"""Exams handed in for grading, and graders to grade them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, handin, saves
from exam.events import ExamEvents, with_events
from exam.models import AttemptPart, Registration, Sitting
from grading import graders
from grading.models import Script
from grading.subscriptions import subscribe as subscribe_grading
from itembank.models import ExamForm, ItemVersion
from itembank.schemas import ItemDocument
from proctoring.review import ProctoringIdentityHolds
from proctoring.subscriptions import subscribe as subscribe_proctoring
from tests.exam.factories import CHECKED_IN, OPENS, Exam
from vakt.accounts import Role, User, create_user


def wire_events(session: AsyncSession) -> ExamEvents:
    """The exam's events with grading and proctoring subscribed (grading told proctoring's
    identity holds), wired to the session as the application wires them to its own."""
    events = ExamEvents()
    subscribe_proctoring(events)
    subscribe_grading(events, ProctoringIdentityHolds())
    session.info.update(with_events(events))
    return events


async def scheme_of(session: AsyncSession, exam: Exam) -> int:
    """The exam's scheme."""
    sitting = await session.get(Sitting, exam.sitting_id)
    assert sitting is not None
    return sitting.scheme_id


async def new_grader(
    session: AsyncSession,
    username: str,
    *,
    scheme_id: int | None,
    admin: User,
    lead: bool = False,
    tag: str = "",
    roles: set[Role] | None = None,
) -> User:
    """A user with the grader role (no password: they never sign in here), qualified for the
    scheme unless ``scheme_id`` is None."""
    grader = await create_user(
        session,
        username=username,
        full_name=f"Grader {username}",
        password=None,
        roles=roles or {Role.GRADER},
    )
    if scheme_id is not None:
        await graders.qualify(
            session, grader_id=grader.id, scheme_id=scheme_id, actor=admin, now=OPENS, tag=tag,
            is_lead=lead,
        )  # fmt: skip
    return grader


@dataclass(frozen=True)
class HandedIn:
    """A candidate's attempt with both parts handed in."""

    attempt_id: int
    choice_part_id: int
    knowledge_part_id: int


async def registration_of(session: AsyncSession, exam: Exam, candidate: User) -> int:
    """The candidate's registration for the exam's sitting."""
    registration_id = await session.scalar(
        select(Registration.id).where(
            Registration.sitting_id == exam.sitting_id, Registration.candidate_id == candidate.id
        )
    )
    assert registration_id is not None
    return registration_id


async def hand_in(
    session: AsyncSession,
    exam: Exam,
    candidate: User,
    *,
    essay: str = "Mangfold er en styrke i arbeidslivet.",
    choices: dict[str, Any] | None = None,
    start: datetime = OPENS + timedelta(minutes=1),
) -> HandedIn:
    """Take the exam of ``tests.exam.factories.build_exam`` as ``candidate``: the choice part
    (answers by item external id; unanswered otherwise), the break, the essay; committed."""
    registration_id = await registration_of(session, exam, candidate)
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=registration_id, candidate=candidate,
        now=start,
    )  # fmt: skip
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    first = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=candidate, now=start
    )
    sequence = 0
    for row in form.items:
        version = await session.get(ItemVersion, row.item_version_id)
        assert version is not None
        document = ItemDocument.model_validate(version.document)
        if row.part_index == 0 and choices and document.external_id in choices:
            sequence += 1
            await saves.save_answer(
                session, attempt_part_id=first.id, candidate=candidate,
                item_version_id=version.id, question_id=document.questions[0].id,
                sequence=sequence, value=choices[document.external_id], now=start,
            )  # fmt: skip
    await handin.submit_part(
        session, attempt_part_id=first.id, candidate=candidate, now=start + timedelta(minutes=5)
    )
    second_start = start + timedelta(minutes=16)
    second = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=candidate, now=second_start
    )
    for row in form.items:
        if row.part_index != 1:
            continue
        version = await session.get(ItemVersion, row.item_version_id)
        assert version is not None
        document = ItemDocument.model_validate(version.document)
        sequence += 1
        await saves.save_answer(
            session, attempt_part_id=second.id, candidate=candidate, item_version_id=version.id,
            question_id=document.questions[0].id, sequence=sequence, value=essay,
            now=second_start,
        )  # fmt: skip
    await handin.submit_part(
        session, attempt_part_id=second.id, candidate=candidate,
        now=second_start + timedelta(minutes=20),
    )  # fmt: skip
    await session.commit()
    return HandedIn(attempt.id, first.id, second.id)


async def scripts_of(session: AsyncSession, attempt_part_id: int) -> list[Script]:
    """The scripts made of a part, in order."""
    return list(
        await session.scalars(
            select(Script).where(Script.attempt_part_id == attempt_part_id).order_by(Script.id)
        )
    )


async def part(session: AsyncSession, attempt_part_id: int) -> AttemptPart:
    """A part, as the database has it now."""
    row = await session.get(AttemptPart, attempt_part_id)
    assert row is not None
    await session.refresh(row)
    return row
