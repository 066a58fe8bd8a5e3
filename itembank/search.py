"""Searching the bank: the newest version of each item that matches, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank.models import Item, ItemReviewMark, ItemVersion, ItemVersionTag
from itembank.schemas import ItemStatus, ItemType


@dataclass(frozen=True)
class ItemQuery:
    """Filters for the bank's list; ``None`` means any."""

    scheme_id: int | None = None
    item_type: ItemType | None = None
    tag: str | None = None
    status: ItemStatus | None = None
    text: str | None = None
    marked: bool = False
    """Only items whose newest version is marked for review."""
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class ItemPage:
    """One page of search results (each row an item's newest version)."""

    rows: Sequence[ItemVersion]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.per_page))


def _latest_versions_query(query: ItemQuery) -> Select[ItemVersion]:
    newest = (
        select(ItemVersion.item_id, func.max(ItemVersion.number).label("number"))
        .group_by(ItemVersion.item_id)
        .subquery()
    )
    statement = (
        select(ItemVersion)
        .join(
            newest,
            (newest.c.item_id == ItemVersion.item_id) & (newest.c.number == ItemVersion.number),
        )
        .join(Item, Item.id == ItemVersion.item_id)
    )
    if query.scheme_id is not None:
        statement = statement.where(Item.scheme_id == query.scheme_id)
    if query.item_type is not None:
        statement = statement.where(ItemVersion.item_type == query.item_type)
    if query.status is not None:
        statement = statement.where(ItemVersion.status == query.status)
    if query.tag:
        statement = statement.where(
            select(ItemVersionTag.version_id)
            .where(ItemVersionTag.version_id == ItemVersion.id, ItemVersionTag.tag == query.tag)
            .exists()
        )
    if query.marked:
        statement = statement.where(
            select(ItemReviewMark.id)
            .where(ItemReviewMark.version_id == ItemVersion.id, ItemReviewMark.cleared_at.is_(None))
            .exists()
        )
    if query.text:
        pattern = f"%{query.text.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(ItemVersion.title).like(pattern),
                func.lower(Item.external_id).like(pattern),
            )
        )
    return statement


async def search_items(session: AsyncSession, query: ItemQuery) -> ItemPage:
    """The newest version of each item matching the filters, a page at a time."""
    statement = _latest_versions_query(query)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    page = max(1, query.page)
    rows = (
        await session.scalars(
            statement.order_by(Item.external_id)
            .offset((page - 1) * query.per_page)
            .limit(query.per_page)
        )
    ).all()
    return ItemPage(rows=rows, total=int(total or 0), page=page, per_page=query.per_page)


async def all_tags(session: AsyncSession) -> list[str]:
    """Every tag in use, sorted."""
    return list(
        (
            await session.scalars(
                select(ItemVersionTag.tag).distinct().order_by(ItemVersionTag.tag)
            )
        ).all()
    )
