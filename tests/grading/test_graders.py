"""Graders' qualifications: granted, changed and withdrawn by the staff only, each audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grading import graders
from tests.exam.factories import OPENS, Exam, build_exam
from tests.grading.factories import new_grader, scheme_of
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Forbidden, NotFound, VaktError

LATER = OPENS + timedelta(hours=2)


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    return await build_exam(session, users)


@pytest.mark.asyncio
async def test_staff_qualify_a_grader_make_them_lead_and_withdraw_it(
    session: AsyncSession, exam: Exam
) -> None:
    scheme_id = await scheme_of(session, exam)
    grader = await new_grader(session, "sensor1", scheme_id=None, admin=exam.admin)
    first = await graders.qualify(
        session, grader_id=grader.id, scheme_id=scheme_id, actor=exam.admin, now=LATER
    )
    assert not await graders.leads_scheme(session, grader.id, scheme_id)
    again = await graders.qualify(
        session, grader_id=grader.id, scheme_id=scheme_id, actor=exam.admin, now=LATER,
        is_lead=True,
    )  # fmt: skip
    assert again.id == first.id and await graders.leads_scheme(session, grader.id, scheme_id)
    await graders.qualify(
        session, grader_id=grader.id, scheme_id=scheme_id, actor=exam.admin, now=LATER,
        tag=" jus ",
    )  # fmt: skip
    assert [(q.tag, q.is_lead) for q in await graders.qualifications_of(session, grader.id)] == [
        ("", True),
        ("jus", False),
    ]
    await graders.withdraw_qualification(session, qualification_id=first.id, actor=exam.admin)
    assert [q.tag for q in await graders.qualifications_of(session, grader.id)] == ["jus"]
    assert not await graders.leads_scheme(session, grader.id, scheme_id)
    with pytest.raises(NotFound):
        await graders.withdraw_qualification(session, qualification_id=first.id, actor=exam.admin)

    entries = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("grading.%")).order_by(AuditEntry.seq)
        )
    ).all()
    assert [(e.action, e.actor_id) for e in entries] == [
        ("grading.grader_qualified", exam.admin.id),
        ("grading.grader_qualified", exam.admin.id),
        ("grading.grader_qualified", exam.admin.id),
        ("grading.qualification_withdrawn", exam.admin.id),
    ]
    assert entries[1].after == {"scheme_id": scheme_id, "tag": "", "lead": True}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("tag", "field", "message"),
    [("x" * 81, "tag", "at most"), ("jus\x00", "tag", "cannot be stored")],
)
async def test_a_tag_that_cannot_be_an_items_tag_is_refused(
    session: AsyncSession, exam: Exam, tag: str, field: str, message: str
) -> None:
    grader = await new_grader(session, "sensor1", scheme_id=None, admin=exam.admin)
    with pytest.raises(VaktError, match=message) as refused:
        await graders.qualify(
            session, grader_id=grader.id, scheme_id=await scheme_of(session, exam),
            actor=exam.admin, now=LATER, tag=tag,
        )  # fmt: skip
    assert refused.value.field == field


@pytest.mark.asyncio
async def test_nobody_but_the_staff_changes_qualifications(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    scheme_id = await scheme_of(session, exam)
    grader = await new_grader(session, "sensor1", scheme_id=scheme_id, admin=exam.admin)
    [row] = await graders.qualifications_of(session, grader.id)
    for someone in (grader, users["decision_maker"], users["proctor"]):
        with pytest.raises(Forbidden):
            await graders.qualify(
                session, grader_id=grader.id, scheme_id=scheme_id, actor=someone, now=LATER,
                is_lead=True,
            )  # fmt: skip
        with pytest.raises(Forbidden):
            await graders.withdraw_qualification(session, qualification_id=row.id, actor=someone)
    with pytest.raises(NotFound):
        await graders.qualify(
            session, grader_id=grader.id, scheme_id=10**6, actor=exam.admin, now=LATER
        )
