"""Scripts: when a part is handed in, each open answer in it (an essay, an open question of a
case, the oral answer) becomes a script to grade, known to graders by a random code only. A
part without open answers has its result at once. An attempt ended for cheating is not graded.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exam.events import AttemptEnded, PartHandedIn
from exam.models import Attempt, AttemptPart, AttemptStatus, Registration, Sitting
from grading.models import Marking, Script, ScriptKind, ScriptStatus
from grading.policy import rules_for_scheme
from grading.schemas import GradingRules, MarksPerScript
from itembank.models import ExamForm, ItemVersion
from itembank.schemas import EssayQuestion, GradingGuide, ItemDocument, OralQuestion
from vakt import audit
from vakt.errors import NotFound
from vakt.i18n import _l

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Letters and digits that cannot be mistaken for one another when read aloud or typed."""


def new_code() -> str:
    """A random script code such as ``7KQ4-M2XD``: it says nothing about the candidate."""
    letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def marks_needed(rules: GradingRules) -> int:
    """How many graders a new script gets under the scheme's rules."""
    if rules.marks_per_script is MarksPerScript.ONE:
        return 1
    if rules.marks_per_script is MarksPerScript.TWO:
        return 2
    return 2 if secrets.randbelow(100) < rules.double_share_percent else 1


@dataclass(frozen=True)
class OpenQuestion:
    """An open question of an item version, with the guide that grades it."""

    document: ItemDocument
    question: EssayQuestion | OralQuestion
    guide: GradingGuide


def open_questions(document: ItemDocument) -> list[EssayQuestion | OralQuestion]:
    """The questions of an item that people grade (the rest are scored automatically)."""
    return [q for q in document.questions if isinstance(q, EssayQuestion | OralQuestion)]


def guide_for(document: ItemDocument, question: EssayQuestion | OralQuestion) -> GradingGuide:
    """The question's own guide, or the item's when the question has none."""
    return question.guide if not question.guide.is_empty else document.guide


async def open_question_of(session: AsyncSession, script: Script) -> OpenQuestion:
    """The item version's document, the script's question and its guide."""
    version = await session.get(ItemVersion, script.item_version_id)
    assert version is not None
    document = ItemDocument.model_validate(version.document)
    question = next(q for q in open_questions(document) if q.id == script.question_id)
    return OpenQuestion(document, question, guide_for(document, question))


async def create_scripts(session: AsyncSession, event: PartHandedIn) -> list[Script]:
    """Make a script of every open answer in a handed-in part (the exam's ``PartHandedIn``)."""
    attempt_part = await session.get(AttemptPart, event.attempt_part_id)
    attempt = await session.get(Attempt, event.attempt_id)
    registration = await session.get(Registration, event.registration_id)
    assert attempt_part is not None and attempt is not None and registration is not None
    sitting = await session.get(Sitting, registration.sitting_id)
    form = await session.get(ExamForm, attempt.form_id)
    assert sitting is not None and form is not None
    rules = await rules_for_scheme(session, sitting.scheme_id)
    made = []
    for row in form.items:
        if row.part_index != attempt_part.part_index:
            continue
        version = await session.get(ItemVersion, row.item_version_id)
        assert version is not None
        for question in open_questions(ItemDocument.model_validate(version.document)):
            script = Script(
                code=new_code(),
                scheme_id=sitting.scheme_id,
                sitting_id=sitting.id,
                registration_id=registration.id,
                attempt_part_id=attempt_part.id,
                item_version_id=version.id,
                question_id=question.id,
                kind=ScriptKind.ORAL if isinstance(question, OralQuestion) else ScriptKind.ESSAY,
                max_points=question.points,
                required_marks=marks_needed(rules),
                created_at=event.submitted_at,
            )
            session.add(script)
            made.append(script)
    await session.flush()
    for script in made:
        await audit.record(
            session,
            actor_id=None,
            action="grading.script_created",
            entity_type="grading_script",
            entity_id=script.id,
            after={"attempt_part_id": attempt_part.id, "marks": script.required_marks},
        )
    return made


async def withdraw_scripts(session: AsyncSession, event: AttemptEnded) -> int:
    """An attempt ended for cheating is not graded: its scripts leave the queue (claims too)."""
    if event.status != AttemptStatus.TERMINATED:
        return 0
    scripts = list(
        await session.scalars(
            select(Script).where(
                Script.registration_id == event.registration_id,
                Script.status != ScriptStatus.FINAL,
                Script.status != ScriptStatus.WITHDRAWN,
            )
        )
    )
    for script in scripts:
        await session.execute(
            delete(Marking).where(Marking.script_id == script.id, Marking.submitted_at.is_(None))
        )
        script.status = ScriptStatus.WITHDRAWN
        await audit.record(
            session,
            actor_id=None,
            action="grading.script_withdrawn",
            entity_type="grading_script",
            entity_id=script.id,
            after={"why": "attempt terminated"},
        )
    return len(scripts)


async def script_by_code(session: AsyncSession, code: str) -> Script:
    """A script by its code (as typed: case and spaces do not matter), or a 404."""
    script = await session.scalar(select(Script).where(Script.code == code.strip().upper()))
    if script is None:
        raise NotFound(_l("No such script."))
    return script


async def expire_claims(session: AsyncSession, *, now: datetime) -> int:
    """Return to the queue the scripts whose claims were not submitted in time (audited, with
    the marks that were typed, for the record)."""
    stale = list(
        await session.scalars(
            select(Marking).where(Marking.submitted_at.is_(None), Marking.expires_at < now)
        )
    )
    for marking in stale:
        await session.delete(marking)
        await session.execute(
            update(Script)
            .where(Script.id == marking.script_id)
            .values(taken_marks=Script.taken_marks - 1)
        )
        await audit.record(
            session,
            actor_id=None,
            action="grading.claim_expired",
            entity_type="grading_script",
            entity_id=marking.script_id,
            before={"grader_id": marking.grader_id, "marks": marking.marks},
        )
    return len(stale)
