"""Assembling forms from blueprints: rules met, reproducible from a seed, clear shortfalls."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import blueprints, schemes, versions, workflow
from itembank.schemas import ItemDocument, ItemStatus
from itembank.versions import get_version
from tests.itembank.factories import essay, single_choice
from vakt.accounts import User
from vakt.errors import Conflict, VaktError


async def _bank(session: AsyncSession, users: dict[str, User]) -> int:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    documents: list[ItemDocument] = []
    documents += [single_choice(f"SC-L{n}", tags=["lovverk"]) for n in range(8)]
    documents += [single_choice(f"SC-K{n}", tags=["kultur"]) for n in range(8)]
    documents += [essay(f"ES-{n}", points=5 if n % 2 else 10) for n in range(8)]
    for document in documents:
        version = await versions.create_item(
            session, scheme_id=scheme.id, document=document, actor_id=users["item_writer"].id
        )
        await workflow.transition(
            session,
            version_id=version.id,
            to_status=ItemStatus.IN_REVIEW,
            actor=users["item_writer"],
        )
        await workflow.transition(
            session,
            version_id=version.id,
            to_status=ItemStatus.APPROVED,
            actor=users["item_reviewer"],
        )
    # A draft must never be picked.
    await versions.create_item(
        session,
        scheme_id=scheme.id,
        document=single_choice("DRAFT", tags=["lovverk"]),
        actor_id=None,
    )
    return scheme.id


def _definition(**overrides: Any) -> blueprints.BlueprintDefinition:
    data: dict[str, Any] = {
        "parts": [
            {"key": "mc", "title": "Flervalg", "kind": "multiple_choice", "duration_minutes": 30,
             "break_after_minutes": 10,
             "rules": [{"count": 3, "tags": ["lovverk"]}, {"count": 2, "tags": ["kultur"]}]},
            {"key": "kunnskap", "title": "Kunnskap", "kind": "knowledge", "duration_minutes": 60,
             "rules": [{"count": 2, "points": 15}]},
        ]
    }  # fmt: skip
    data.update(overrides)
    return blueprints.parse_blueprint(data)


async def _blueprint(
    session: AsyncSession, scheme_id: int, definition: blueprints.BlueprintDefinition
) -> int:
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme_id, code="B", name="Prøve", language="nb",
        definition=definition, actor_id=None,
    )  # fmt: skip
    return blueprint.id


@pytest.mark.asyncio
async def test_form_meets_every_rule(session: AsyncSession, users: dict[str, User]) -> None:
    scheme_id = await _bank(session, users)
    blueprint_id = await _blueprint(session, scheme_id, _definition())
    form = await blueprints.assemble_form(
        session, blueprint_id=blueprint_id, seed=42, actor_id=None
    )
    by_part: dict[int, list[int]] = {}
    for row in form.items:
        by_part.setdefault(row.part_index, []).append(row.item_version_id)
    versions = {v: await get_version(session, v) for ids in by_part.values() for v in ids}
    part1 = [versions[v] for v in by_part[0]]
    assert len(part1) == 5
    assert sum("lovverk" in v.tag_names for v in part1) == 3
    assert sum("kultur" in v.tag_names for v in part1) == 2
    assert all(v.status == "approved" for v in versions.values())
    part2 = [versions[v] for v in by_part[1]]
    assert len(part2) == 2 and sum(v.max_points for v in part2) == 15
    assert len({v.item_id for v in versions.values()}) == len(versions)  # no item twice


@pytest.mark.asyncio
async def test_same_seed_same_form_and_different_seeds_differ(
    session: AsyncSession, users: dict[str, User]
) -> None:
    scheme_id = await _bank(session, users)
    blueprint_id = await _blueprint(session, scheme_id, _definition())

    async def pins(seed: int) -> list[tuple[int, int, int]]:
        form = await blueprints.assemble_form(
            session, blueprint_id=blueprint_id, seed=seed, actor_id=None
        )
        return [(r.part_index, r.position, r.item_version_id) for r in form.items]

    assert await pins(7) == await pins(7)
    assert len({tuple(await pins(seed)) for seed in range(5)}) > 1


@pytest.mark.asyncio
async def test_shortfall_is_explained(session: AsyncSession, users: dict[str, User]) -> None:
    scheme_id = await _bank(session, users)
    definition = blueprints.parse_blueprint(
        {
            "parts": [
                {
                    "key": "mc",
                    "title": "Flervalg",
                    "kind": "multiple_choice",
                    "duration_minutes": 30,
                    "rules": [{"count": 9, "tags": ["lovverk"]}],
                }
            ]
        }
    )
    blueprint_id = await _blueprint(session, scheme_id, definition)
    with pytest.raises(Conflict) as refused:
        await blueprints.assemble_form(session, blueprint_id=blueprint_id, seed=1, actor_id=None)
    assert refused.value.params["available"] == 8
    assert refused.value.params["part"] == "Flervalg"


@pytest.mark.parametrize(
    "broken",
    [
        {"parts": []},
        {
            "parts": [
                {
                    "key": "x",
                    "title": "X",
                    "kind": "oral",
                    "duration_minutes": 10,
                    "rules": [{"count": 1, "item_type": "essay"}],
                }
            ]
        },
        {
            "parts": [
                {
                    "key": "x",
                    "title": "X",
                    "kind": "essay",
                    "duration_minutes": 10,
                    "rules": [{"count": 1}],
                }
            ]
        },
        {
            "parts": [
                {
                    "key": "x",
                    "title": "X",
                    "kind": "oral",
                    "duration_minutes": 0,
                    "rules": [{"count": 1}],
                }
            ]
        },
        {
            "parts": [
                {
                    "key": "x",
                    "title": "X",
                    "kind": "oral",
                    "duration_minutes": 5,
                    "pass_threshold": 1.5,
                    "rules": [{"count": 1}],
                }
            ]
        },
        "not a mapping",
    ],
)
def test_invalid_blueprints_are_refused_with_details(broken: Any) -> None:
    with pytest.raises(VaktError) as refused:
        blueprints.parse_blueprint(broken)
    assert refused.value.details
