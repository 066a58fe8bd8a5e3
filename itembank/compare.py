"""Comparing two versions of an item, field by field."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from itembank.models import Item, ItemVersion
from itembank.schemas import ItemDocument
from itembank.versions import document_of, list_versions
from vakt.errors import NotFound
from vakt.i18n import _l


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between two versions."""

    path: str
    old: str
    new: str


def compare_documents(old: ItemDocument, new: ItemDocument) -> list[FieldChange]:
    """The fields that differ between two documents, by dotted path, in document order."""
    changes: list[FieldChange] = []

    def walk(path: str, a: object, b: object) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                walk(f"{path}.{key}" if path else key, a.get(key), b.get(key))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(f"{path}[{index}]", x, y)
        elif a != b:
            changes.append(FieldChange(path, _show(a), _show(b)))

    walk("", old.model_dump(mode="json"), new.model_dump(mode="json"))
    return changes


def _show(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=1)


@dataclass(frozen=True)
class Comparison:
    """Two versions of one item and the fields that differ between them."""

    item: Item
    old: ItemVersion
    new: ItemVersion
    changes: list[FieldChange]
    versions: Sequence[ItemVersion]
    """Every version of the item, oldest first (to choose others to compare)."""


async def compare_versions(
    session: AsyncSession, item_id: int, old_number: int | None, new_number: int | None
) -> Comparison:
    """Two versions of an item by number, by default the one before the newest and the newest;
    a 404 when the item or either version does not exist."""
    versions = await list_versions(session, item_id)
    by_number = {v.number: v for v in versions}
    a_number = old_number or (versions[-2].number if len(versions) > 1 else 1)
    b_number = new_number or versions[-1].number
    if a_number not in by_number or b_number not in by_number:
        raise NotFound(_l("No such item version."))
    old, new = by_number[a_number], by_number[b_number]
    changes = compare_documents(document_of(old), document_of(new))
    return Comparison(item=old.item, old=old, new=new, changes=changes, versions=versions)
