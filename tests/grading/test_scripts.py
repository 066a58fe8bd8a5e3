"""Scripts: a handed-in part's open answers become scripts known by a random code; a part with
none has its result at once; an attempt ended for cheating is not graded."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, handin
from exam.models import AttemptPart
from grading import policy
from grading.claims import claim_next
from grading.independence import NoExaminers
from grading.marking import Scale, save_marks, submit_marks
from grading.models import Marking, ScriptKind, ScriptStatus
from grading.schemas import GradingRules, MarksPerScript
from grading.scripts import marks_needed, open_question_of, script_by_code
from tests.exam.factories import CHECKED_IN, OPENS, Exam, build_exam, build_full_exam
from tests.grading.factories import hand_in, new_grader, part, scheme_of, scripts_of, wire_events
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import NotFound

LATER = OPENS + timedelta(hours=2)
ALL_RIGHT = {"SC-0": "A", "SC-1": "A", "SC-2": "A", "SC-3": "A", "SC-4": "A", "SC-5": "A"} | {
    f"MR-{n}": ["A", "C"] for n in range(4)
}


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    wire_events(session)
    return await build_exam(session, users)


@pytest.mark.asyncio
async def test_each_open_answer_becomes_a_script_known_by_a_random_code(
    session: AsyncSession, exam: Exam
) -> None:
    taken = await hand_in(session, exam, exam.candidate)

    assert await scripts_of(session, taken.choice_part_id) == []
    [script] = await scripts_of(session, taken.knowledge_part_id)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", script.code)
    assert script.kind == ScriptKind.ESSAY and script.status == ScriptStatus.WAITING
    assert script.max_points == 10 and script.required_marks == 2 and script.taken_marks == 0
    assert script.registration_id == exam.registration_id
    # Typed by hand, a code is found whatever its case and surrounding spaces.
    assert (await script_by_code(session, f"  {script.code.lower()} ")).id == script.id
    with pytest.raises(NotFound):
        await script_by_code(session, "AAAA-AAAA")
    created = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == "grading.script_created", AuditEntry.entity_id == str(script.id)
        )
    )
    assert created == 1


@pytest.mark.asyncio
async def test_a_part_of_choice_questions_has_its_result_computed_at_hand_in(
    session: AsyncSession, exam: Exam
) -> None:
    right = await hand_in(session, exam, exam.candidate, choices=ALL_RIGHT)
    all_wrong = {key: ["B"] if key.startswith("MR") else "B" for key in ALL_RIGHT}
    wrong = await hand_in(session, exam, exam.other, choices=all_wrong)

    choice = await part(session, right.choice_part_id)
    assert (choice.score, choice.max_score, choice.passed) == (4.0, 4.0, True)
    assert choice.result_override_at is None
    failed = await part(session, wrong.choice_part_id)
    assert (failed.score, failed.max_score, failed.passed) == (0.0, 4.0, False)
    # The essay part waits for its graders.
    essay_part = await part(session, right.knowledge_part_id)
    assert essay_part.passed is None and essay_part.score is None


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (GradingRules(marks_per_script=MarksPerScript.ONE), {1}),
        (GradingRules(marks_per_script=MarksPerScript.TWO), {2}),
        (
            GradingRules(marks_per_script=MarksPerScript.TWO_FOR_A_SHARE, double_share_percent=0),
            {1},
        ),
        (
            GradingRules(marks_per_script=MarksPerScript.TWO_FOR_A_SHARE, double_share_percent=100),
            {2},
        ),
        (
            GradingRules(marks_per_script=MarksPerScript.TWO_FOR_A_SHARE, double_share_percent=50),
            {1, 2},
        ),
    ],
)
async def test_how_many_graders_a_script_gets_follows_the_schemes_rules(
    rules: GradingRules, expected: set[int]
) -> None:
    # 200 draws at 50 % give both values except with probability 2 * 0.5**200.
    assert {marks_needed(rules) for _ in range(200)} == expected


@pytest.mark.asyncio
async def test_a_scheme_that_wants_one_grader_makes_scripts_for_one(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    await policy.set_rules(
        session, scheme_id=await scheme_of(session, exam), values={"marks_per_script": "one"},
        actor=users["administrator"], now=OPENS,
    )  # fmt: skip
    taken = await hand_in(session, exam, exam.candidate)
    [script] = await scripts_of(session, taken.knowledge_part_id)
    assert script.required_marks == 1


@pytest.mark.asyncio
async def test_an_attempt_ended_for_cheating_is_not_graded(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    taken = await hand_in(session, exam, exam.candidate)
    grader = await new_grader(
        session, "sensor1", scheme_id=await scheme_of(session, exam), admin=users["administrator"]
    )
    assert await claim_next(session, grader=grader, now=LATER, examiners=NoExaminers())
    await session.commit()

    await handin.terminate_for_cheating(
        session, attempt_id=taken.attempt_id, actor=users["proctor"], reason="Hadde hjelp",
        now=LATER,
    )  # fmt: skip
    await session.commit()

    [script] = await scripts_of(session, taken.knowledge_part_id)
    await session.refresh(script)
    assert script.status == ScriptStatus.WITHDRAWN
    assert await session.scalar(select(func.count()).select_from(Marking)) == 0
    assert await claim_next(session, grader=grader, now=LATER, examiners=NoExaminers()) is None
    # The attempt's parts stay "not passed"; grading never settles them.
    for part_id in (taken.choice_part_id, taken.knowledge_part_id):
        assert (await session.get(AttemptPart, part_id)).passed is False  # type: ignore[union-attr]
    withdrawn = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == "grading.script_withdrawn", AuditEntry.entity_id == str(script.id)
        )
    )
    assert withdrawn == 1


@pytest.mark.asyncio
async def test_every_kind_of_open_answer_becomes_a_script_and_a_case_adds_its_choice_points(
    session: AsyncSession, users: dict[str, User]
) -> None:
    wire_events(session)
    exam = await build_full_exam(session, users, opens=OPENS)
    scheme_id = await scheme_of(session, exam)
    await policy.set_rules(
        session, scheme_id=scheme_id, values={"marks_per_script": "one"}, actor=exam.admin,
        now=OPENS,
    )  # fmt: skip
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=exam.registration_id,
        candidate=exam.candidate, now=OPENS,
    )  # fmt: skip
    kinds: dict[str, list[ScriptKind]] = {}
    parts: dict[str, int] = {}
    for key in ("flervalg", "kunnskap", "case", "muntlig"):
        started = await attempts.start_part(
            session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate,
            now=OPENS,
        )  # fmt: skip
        await handin.submit_part(
            session, attempt_part_id=started.id, candidate=exam.candidate, now=OPENS
        )
        parts[key] = started.id
        kinds[key] = [s.kind for s in await scripts_of(session, started.id)]
    await session.commit()
    assert kinds == {
        "flervalg": [],
        "kunnskap": [ScriptKind.ESSAY],
        "case": [ScriptKind.ESSAY],
        "muntlig": [ScriptKind.ORAL],
    }

    # The case: its choice question was scored at hand-in (unanswered: 0 points); the essay's
    # final mark is added to it, over the choice's and the essay's points together.
    case_part = await part(session, parts["case"])
    assert case_part.auto_score == 0 and case_part.auto_max_score
    [script] = await scripts_of(session, parts["case"])
    grader = await new_grader(session, "sensor1", scheme_id=scheme_id, admin=exam.admin)
    while claim := await claim_next(session, grader=grader, now=LATER, examiners=NoExaminers()):
        if claim.script_id == script.id:
            break
    question = await open_question_of(session, script)
    screen_marks = [1.0] * len(Scale.of(question.guide, script.max_points).maxima)
    await save_marks(
        session, code=script.code, grader=grader, marks=screen_marks, comment="", sequence=1,
        now=LATER,
    )  # fmt: skip
    await submit_marks(session, code=script.code, grader=grader, now=LATER)
    await session.refresh(script)
    case_part = await part(session, parts["case"])
    assert case_part.score == script.final_points
    assert case_part.max_score == case_part.auto_max_score + script.max_points
    assert case_part.passed is False
