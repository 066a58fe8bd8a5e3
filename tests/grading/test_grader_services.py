"""What the graders' pages add to the services: an unqualified grader's queue is empty (their
page says so instead of refusing them), claiming answers with the script, the form's save and
submit in one, an audited fetch of a case's file, and the grader's own declarations."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from grading import graders
from grading.answers import case_file
from grading.claims import claim_next, claim_script, queue_size
from grading.independence import NoExaminers
from grading.marking import save_and_submit, whole_if_whole
from grading.models import Marking
from grading.queries import conflict_rows
from tests.exam.factories import OPENS, Exam, build_exam
from tests.grading.factories import hand_in, new_grader, scheme_of, scripts_of, wire_events
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Forbidden, NotFound, VaktError

LATER = OPENS + timedelta(hours=2)
NOBODY = NoExaminers()


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    wire_events(session)
    return await build_exam(session, users)


@pytest.mark.asyncio
async def test_an_unqualified_grader_has_an_empty_queue_but_cannot_claim(
    session: AsyncSession, exam: Exam
) -> None:
    await hand_in(session, exam, exam.candidate)
    grader = await new_grader(session, "ny", scheme_id=None, admin=exam.admin)
    assert await queue_size(session, grader, NOBODY) == 0
    with pytest.raises(Forbidden):
        await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)


@pytest.mark.asyncio
async def test_claiming_answers_with_the_script_and_none_when_nothing_waits(
    session: AsyncSession, exam: Exam
) -> None:
    taken = await hand_in(session, exam, exam.candidate)
    [script] = await scripts_of(session, taken.knowledge_part_id)
    grader = await new_grader(
        session, "s1", scheme_id=await scheme_of(session, exam), admin=exam.admin
    )
    claimed = await claim_script(session, grader=grader, now=LATER, examiners=NOBODY)
    assert claimed is not None
    marking, found = claimed
    assert found.id == script.id and marking.script_id == script.id
    assert await claim_script(session, grader=grader, now=LATER, examiners=NOBODY) is None


@pytest.mark.asyncio
async def test_save_and_submit_keeps_nothing_refused(session: AsyncSession, exam: Exam) -> None:
    taken = await hand_in(session, exam, exam.candidate)
    [script] = await scripts_of(session, taken.knowledge_part_id)
    grader = await new_grader(
        session, "s1", scheme_id=await scheme_of(session, exam), admin=exam.admin
    )
    await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)
    with pytest.raises(VaktError) as refused:
        await save_and_submit(
            session, code=script.code, grader=grader, marks=[None], comment="", sequence=1,
            now=LATER,
        )  # fmt: skip
    assert refused.value.field == "marks.0"
    done = await save_and_submit(
        session, code=script.code, grader=grader, marks=["7,5"], comment="Greit", sequence=2,
        now=LATER,
    )  # fmt: skip
    assert done.submitted_at == LATER and done.total == 7.5 and done.comment == "Greit"


@pytest.mark.asyncio
async def test_a_case_file_is_for_the_scripts_graders_only_and_audited(
    session: AsyncSession, exam: Exam
) -> None:
    taken = await hand_in(session, exam, exam.candidate)
    [script] = await scripts_of(session, taken.knowledge_part_id)
    scheme_id = await scheme_of(session, exam)
    grader = await new_grader(session, "s1", scheme_id=scheme_id, admin=exam.admin)
    other = await new_grader(session, "s2", scheme_id=scheme_id, admin=exam.admin)
    await claim_next(session, grader=grader, now=LATER, examiners=NOBODY)
    with pytest.raises(NotFound):
        await case_file(
            session, code=script.code, name="a.pdf", viewer=other, examiners=NOBODY, now=LATER
        )
    with pytest.raises(NotFound):  # the essay has no files
        await case_file(
            session, code=script.code, name="a.pdf", viewer=grader, examiners=NOBODY, now=LATER
        )
    viewed = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "grading.file_viewed")
    )
    assert viewed == 0  # a refused fetch is no fetch (the page tests see a real one audited)
    assert await session.scalar(select(Marking.id).where(Marking.grader_id == other.id)) is None


@pytest.mark.asyncio
async def test_the_grader_sees_their_own_declarations_with_whom_they_named(
    session: AsyncSession, exam: Exam
) -> None:
    grader = await new_grader(session, "s1", scheme_id=None, admin=exam.admin)
    other = await new_grader(session, "s2", scheme_id=None, admin=exam.admin)
    await graders.declare_conflict(
        session, grader=grader, now=LATER, candidate_username=exam.other.username, note="Nabo"
    )
    await graders.declare_conflict(session, grader=grader, now=LATER, employer="Acme  AS")
    await graders.declare_conflict(session, grader=other, now=LATER, employer="Annet AS")
    rows = await conflict_rows(session, grader)
    assert [(r.candidate, r.employer, r.note) for r in rows] == [
        (exam.other.username, "", "Nabo"),
        ("", "Acme AS", ""),
    ]


def test_points_in_messages_are_written_without_a_needless_decimal() -> None:
    assert whole_if_whole(6.0) == 6 and isinstance(whole_if_whole(6.0), int)
    assert whole_if_whole(2.5) == 2.5
