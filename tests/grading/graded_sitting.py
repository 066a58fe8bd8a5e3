"""A sitting whose attempts are handed in and graded for real, for the statistics' tests.

Six candidates answer three single-choice items (key "A") and one essay (10 points, one
criterion), and two graders mark every essay. The answers and marks are chosen so that the
figures can be worked out by hand (see tests/grading/test_quality.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, handin, registrations, saves
from exam.events import ExamEvents, with_events
from exam.models import Attempt, Registration
from grading import claims, graders, marking
from grading import subscriptions as grading_subscriptions
from grading.independence import NoExaminers
from grading.models import Script
from itembank import blueprints, schemes
from itembank.models import ExamForm, ItemVersion
from proctoring import subscriptions as proctoring_subscriptions
from tests.exam.factories import CHECKED_IN, OPENS, approved_item, set_proctoring
from tests.itembank.factories import essay, single_choice
from vakt.accounts import Role, User, create_user

CHOICE_ITEMS = ("SC-0", "SC-1", "SC-2")
ANSWERS = [
    # SC-0, SC-1, SC-2 ("A" is right), then the two graders' marks on the essay.
    (("A", "A", "A"), (9, 9)),
    (("A", "A", "A"), (8, 7)),
    (("A", "A", "B"), (6, 6)),
    (("A", "C", "B"), (5, 3)),
    (("A", "B", None), (3, 4)),
    (("A", "B", "A"), (2, 2)),
]
"""One row per candidate, in the order they were registered."""


@dataclass
class GradedSitting:
    sitting_id: int
    scheme_id: int
    versions: dict[str, ItemVersion]
    candidates: list[User]
    first_grader: User
    second_grader: User


def wire_events(session: AsyncSession) -> None:
    """The exam's events heard by grading and proctoring, as the application wires them."""
    events = ExamEvents()
    grading_subscriptions.subscribe(events)
    proctoring_subscriptions.subscribe(events)
    session.info.update(with_events(events))


async def build_sitting(
    session: AsyncSession, users: dict[str, User], *, candidates: int = 6
) -> GradedSitting:
    """The scheme, its bank, a two-part blueprint (every choice item, then the essay), a sitting
    and ``candidates`` registered candidates (the first is ``users["candidate"]``); committed."""
    admin = users["administrator"]
    scheme = await schemes.create_scheme(session, code="QA", name="Kvalitet", actor_id=None)
    await set_proctoring(session, scheme.id, None)
    versions = {
        external_id: await approved_item(session, users, scheme.id, single_choice(external_id))
        for external_id in CHOICE_ITEMS
    }
    versions["ES-0"] = await approved_item(session, users, scheme.id, essay("ES-0"))
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="QA", name="Kvalitet", language="nb", actor_id=None,
        definition=blueprints.parse_blueprint({"parts": [
            {"key": "mc", "title": "Flervalg", "kind": "multiple_choice", "duration_minutes": 30,
             "rules": [{"item_type": "single_choice", "count": 3}]},
            {"key": "kunnskap", "title": "Kunnskap", "kind": "knowledge", "duration_minutes": 60,
             "rules": [{"count": 1}]},
        ]}),
    )  # fmt: skip
    sitting = await registrations.create_sitting(
        session, blueprint_id=blueprint.id, name="Kvalitetsprøve", opens_at=OPENS,
        closes_at=OPENS + timedelta(hours=8), actor=admin,
    )  # fmt: skip
    people = [users["candidate"]]
    for number in range(1, candidates):
        person = await create_user(
            session, username=f"kandidat{number}", full_name=f"Kandidat {number}",
            password="x" * 12, roles={Role.CANDIDATE},
        )  # fmt: skip
        people.append(person)
    for person in people:
        await registrations.decide_application(
            session, candidate_id=person.id, scheme_id=scheme.id, approve=True, actor=admin,
            now=OPENS - timedelta(days=30),
        )  # fmt: skip
        await registrations.register(session, sitting_id=sitting.id, candidate=person, actor=admin)
    second = await create_user(
        session, username="grader2", full_name="Andre Sensor", password="x" * 12,
        roles={Role.GRADER},
    )  # fmt: skip
    for grader in (users["grader"], second):
        await graders.qualify(
            session, grader_id=grader.id, scheme_id=scheme.id, actor=admin, now=OPENS
        )
    await session.commit()
    return GradedSitting(sitting.id, scheme.id, versions, people, users["grader"], second)


async def take_exam(
    session: AsyncSession, built: GradedSitting, candidate: User, choices: tuple[str | None, ...]
) -> Attempt:
    """The candidate answers the choice items (None: no answer) and writes the essay, handing in
    both parts."""
    registration_id = await session.scalar(
        select(Registration.id).where(
            Registration.sitting_id == built.sitting_id,
            Registration.candidate_id == candidate.id,
        )
    )
    assert registration_id is not None
    now = OPENS + timedelta(minutes=5)
    attempt = await attempts.start_attempt(
        session, registration_id=registration_id, candidate=candidate, now=now,
        checkin=CHECKED_IN,
    )  # fmt: skip
    answers = {
        built.versions[external_id].id: choice
        for external_id, choice in zip(CHOICE_ITEMS, choices, strict=True)
        if choice is not None
    }
    answers[built.versions["ES-0"].id] = "Mangfold er en styrke."
    for _ in range(2):
        part = await attempts.start_part(
            session, attempt_id=attempt.id, candidate=candidate, now=now, checkin=CHECKED_IN
        )
        for row in await _form_rows(session, attempt, part.part_index):
            if row in answers:
                await saves.save_answer(
                    session, attempt_part_id=part.id, candidate=candidate, item_version_id=row,
                    question_id="RESPONSE", sequence=1, value=answers[row], now=now,
                )  # fmt: skip
        await handin.submit_part(session, attempt_part_id=part.id, candidate=candidate, now=now)
        now += timedelta(minutes=1)
    await session.commit()
    return attempt


async def _form_rows(session: AsyncSession, attempt: Attempt, part_index: int) -> list[int]:
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    return [row.item_version_id for row in form.items if row.part_index == part_index]


async def grade_everything(
    session: AsyncSession, built: GradedSitting, marks: list[tuple[int, int]]
) -> None:
    """Both graders mark every essay: ``marks[n]`` are the first's and the second's marks of
    the n-th candidate's essay."""
    by_candidate = {person.id: pair for person, pair in zip(built.candidates, marks, strict=False)}
    now = OPENS + timedelta(hours=9)
    examiners = NoExaminers()
    while True:
        first = await claims.claim_next(
            session, grader=built.first_grader, now=now, examiners=examiners
        )
        if first is None:
            break
        second = await claims.claim_next(
            session, grader=built.second_grader, now=now, examiners=examiners
        )
        assert second is not None and second.script_id == first.script_id
        script = await session.get(Script, first.script_id)
        assert script is not None
        candidate_id = await session.scalar(
            select(Registration.candidate_id).where(Registration.id == script.registration_id)
        )
        pair = by_candidate[candidate_id]  # type: ignore[index]
        for grader, mark in zip((built.first_grader, built.second_grader), pair, strict=True):
            await marking.save_marks(
                session, code=script.code, grader=grader, marks=[mark], comment="", sequence=1,
                now=now,
            )  # fmt: skip
            await marking.submit_marks(session, code=script.code, grader=grader, now=now)
        now += timedelta(minutes=1)
    await session.commit()


async def graded_sitting(session: AsyncSession, users: dict[str, User]) -> GradedSitting:
    """``build_sitting`` with every candidate's exam handed in (``ANSWERS``) and graded."""
    wire_events(session)
    built = await build_sitting(session, users, candidates=len(ANSWERS))
    for person, (choices, _marks) in zip(built.candidates, ANSWERS, strict=True):
        await take_exam(session, built, person, choices)
    await grade_everything(session, built, [marks for _choices, marks in ANSWERS])
    return built
