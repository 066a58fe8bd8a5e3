"""The review workflow: draft -> in review -> approved -> retired, with its rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import schemes, versions, workflow
from itembank.models import ItemVersion, ReviewEvent
from itembank.schemas import ItemStatus
from tests.itembank.factories import essay, single_choice
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Conflict, Forbidden, VaktError


async def _scheme(session: AsyncSession) -> int:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    return scheme.id


@pytest.mark.asyncio
async def test_full_workflow_is_audited(session: AsyncSession, users: dict[str, User]) -> None:
    writer, reviewer = users["item_writer"], users["item_reviewer"]
    version = await versions.create_item(
        session, scheme_id=await _scheme(session), document=single_choice(), actor_id=writer.id
    )
    assert version.status == ItemStatus.DRAFT
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=writer
    )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.APPROVED, actor=reviewer, comment="ok"
    )
    await workflow.transition(
        session,
        version_id=version.id,
        to_status=ItemStatus.RETIRED,
        actor=reviewer,
        comment="utdatert",
    )
    await session.commit()
    events = (await session.scalars(select(ReviewEvent).order_by(ReviewEvent.id))).all()
    assert [(e.from_status, e.to_status) for e in events] == [
        ("draft", "in_review"),
        ("in_review", "approved"),
        ("approved", "retired"),
    ]
    actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq))).all()
    assert actions.count("item.status") == 3
    assert "item.create" in actions


@pytest.mark.asyncio
async def test_author_cannot_approve_own_version(
    session: AsyncSession, users: dict[str, User]
) -> None:
    author = users["writer_reviewer"]  # holds both roles
    version = await versions.create_item(
        session, scheme_id=await _scheme(session), document=single_choice(), actor_id=author.id
    )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=author
    )
    with pytest.raises(Forbidden):
        await workflow.transition(
            session, version_id=version.id, to_status=ItemStatus.APPROVED, actor=author
        )
    # A different reviewer may.
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.APPROVED, actor=users["item_reviewer"]
    )
    assert version.status == ItemStatus.APPROVED


@pytest.mark.asyncio
async def test_reviewer_of_later_version_must_differ_from_its_author(
    session: AsyncSession, users: dict[str, User]
) -> None:
    first_author, second_author = users["item_writer"], users["writer_reviewer"]
    v1 = await versions.create_item(
        session,
        scheme_id=await _scheme(session),
        document=single_choice(),
        actor_id=first_author.id,
    )
    v2 = await versions.create_version(
        session,
        item_id=v1.item_id,
        document=single_choice(title="Endret"),
        actor_id=second_author.id,
    )
    await workflow.transition(
        session, version_id=v2.id, to_status=ItemStatus.IN_REVIEW, actor=second_author
    )
    with pytest.raises(Forbidden):
        await workflow.transition(
            session, version_id=v2.id, to_status=ItemStatus.APPROVED, actor=second_author
        )


@pytest.mark.asyncio
async def test_rejection_needs_a_comment_and_returns_to_draft(
    session: AsyncSession, users: dict[str, User]
) -> None:
    writer, reviewer = users["item_writer"], users["item_reviewer"]
    version = await versions.create_item(
        session, scheme_id=await _scheme(session), document=essay(), actor_id=writer.id
    )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=writer
    )
    with pytest.raises(VaktError) as refused:
        await workflow.transition(
            session, version_id=version.id, to_status=ItemStatus.DRAFT, actor=reviewer
        )
    assert refused.value.field == "comment"
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.DRAFT, actor=reviewer,
        comment="Uklar formulering",
    )  # fmt: skip
    assert version.status == ItemStatus.DRAFT


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("start", "target"),
    [
        (ItemStatus.DRAFT, ItemStatus.APPROVED),
        (ItemStatus.DRAFT, ItemStatus.RETIRED),
        (ItemStatus.IN_REVIEW, ItemStatus.RETIRED),
    ],
)
async def test_steps_out_of_order_are_refused(
    session: AsyncSession, users: dict[str, User], start: ItemStatus, target: ItemStatus
) -> None:
    writer = users["item_writer"]
    version = await versions.create_item(
        session, scheme_id=await _scheme(session), document=single_choice(), actor_id=writer.id
    )
    if start is ItemStatus.IN_REVIEW:
        await workflow.transition(session, version_id=version.id, to_status=start, actor=writer)
    with pytest.raises(Conflict):
        await workflow.transition(
            session,
            version_id=version.id,
            to_status=target,
            actor=users["administrator"],
            comment="x",
        )


@pytest.mark.asyncio
async def test_writer_cannot_approve_and_candidate_cannot_do_anything(
    session: AsyncSession, users: dict[str, User]
) -> None:
    writer = users["item_writer"]
    version = await versions.create_item(
        session, scheme_id=await _scheme(session), document=single_choice(), actor_id=writer.id
    )
    with pytest.raises(Forbidden):
        await workflow.transition(
            session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=users["candidate"]
        )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=writer
    )
    with pytest.raises(Forbidden):
        await workflow.transition(
            session,
            version_id=version.id,
            to_status=ItemStatus.APPROVED,
            actor=users["item_writer2"],
        )


@pytest.mark.asyncio
async def test_no_edit_while_in_review(session: AsyncSession, users: dict[str, User]) -> None:
    writer = users["item_writer"]
    version = await versions.create_item(
        session, scheme_id=await _scheme(session), document=single_choice(), actor_id=writer.id
    )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=writer
    )
    with pytest.raises(Conflict):
        await versions.create_version(
            session, item_id=version.item_id, document=single_choice(title="Ny"), actor_id=writer.id
        )


@pytest.mark.asyncio
async def test_only_newest_version_can_go_to_review(
    session: AsyncSession, users: dict[str, User]
) -> None:
    writer = users["item_writer"]
    v1 = await versions.create_item(
        session, scheme_id=await _scheme(session), document=single_choice(), actor_id=writer.id
    )
    await versions.create_version(
        session, item_id=v1.item_id, document=single_choice(title="Ny"), actor_id=writer.id
    )
    with pytest.raises(Conflict):
        await workflow.transition(
            session, version_id=v1.id, to_status=ItemStatus.IN_REVIEW, actor=writer
        )


@pytest.mark.asyncio
async def test_approving_a_new_version_retires_the_old_one(
    session: AsyncSession, users: dict[str, User]
) -> None:
    writer, reviewer = users["item_writer"], users["item_reviewer"]
    v1 = await versions.create_item(
        session, scheme_id=await _scheme(session), document=single_choice(), actor_id=writer.id
    )
    for version in (v1,):
        await workflow.transition(
            session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=writer
        )
        await workflow.transition(
            session, version_id=version.id, to_status=ItemStatus.APPROVED, actor=reviewer
        )
    v2 = await versions.create_version(
        session, item_id=v1.item_id, document=single_choice(title="Ny"), actor_id=writer.id
    )
    await workflow.transition(
        session, version_id=v2.id, to_status=ItemStatus.IN_REVIEW, actor=writer
    )
    await workflow.transition(
        session, version_id=v2.id, to_status=ItemStatus.APPROVED, actor=reviewer
    )
    await session.commit()
    assert v1.status == ItemStatus.RETIRED
    assert v2.status == ItemStatus.APPROVED
    approved = await session.scalar(
        select(func.count())
        .select_from(ItemVersion)
        .where(ItemVersion.item_id == v1.item_id, ItemVersion.status == "approved")
    )
    assert approved == 1
