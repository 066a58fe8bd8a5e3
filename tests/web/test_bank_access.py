"""Every role against every item-bank page and API: only writers, reviewers and administrators
get in, and only writers (and administrators) change items."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import blueprints, schemes, versions, workflow
from itembank.schemas import ItemStatus
from tests.itembank.factories import essay, single_choice
from tests.web.helpers import csrf, sign_in
from vakt.accounts import User

BANK = {"item_writer", "item_reviewer", "administrator"}
OUTSIDERS = {"candidate", "grader", "proctor", "decision_maker"}


@dataclass
class Bank:
    item_id: int
    version_id: int
    blueprint_id: int
    form_id: int


@pytest_asyncio.fixture
async def bank(session: AsyncSession, users: dict[str, User]) -> Bank:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    version = await versions.create_item(
        session, scheme_id=scheme.id, document=essay(), actor_id=users["item_writer2"].id
    )
    for n in range(2):
        other = await versions.create_item(
            session,
            scheme_id=scheme.id,
            document=single_choice(f"SC-{n}"),
            actor_id=users["item_writer2"].id,
        )
        await workflow.transition(
            session,
            version_id=other.id,
            to_status=ItemStatus.IN_REVIEW,
            actor=users["item_writer2"],
        )
        await workflow.transition(
            session,
            version_id=other.id,
            to_status=ItemStatus.APPROVED,
            actor=users["writer_reviewer"],
        )
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="B", name="B", language="nb",
        definition=blueprints.parse_blueprint({"parts": [{
            "key": "mc", "title": "MC", "kind": "multiple_choice", "duration_minutes": 5,
            "rules": [{"count": 2}]}]}),
        actor_id=None,
    )  # fmt: skip
    form = await blueprints.assemble_form(session, blueprint_id=blueprint.id, seed=3, actor_id=None)
    await session.commit()
    return Bank(version.item_id, version.id, blueprint.id, form.id)


def _read_paths(bank: Bank) -> list[str]:
    return [
        "/items",
        "/items?type=essay&status=draft&tag=strategi&q=dr",
        f"/items/{bank.item_id}",
        f"/items/{bank.item_id}/compare",
        f"/items/versions/{bank.version_id}/preview",
        "/blueprints",
        f"/blueprints/{bank.blueprint_id}",
        f"/forms/{bank.form_id}",
        "/api/items",
        f"/api/items/{bank.item_id}",
        f"/api/items/versions/{bank.version_id}",
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize("role", sorted(BANK | OUTSIDERS))
async def test_reading_the_bank(client: httpx.AsyncClient, bank: Bank, role: str) -> None:
    await sign_in(client, role)
    for path in _read_paths(bank):
        response = await client.get(path)
        expected = 200 if role in BANK else 403
        assert response.status_code == expected, (role, path, response.status_code)
        if role not in BANK:
            assert "Hemmelig sensorveiledning" not in response.text


@pytest.mark.asyncio
@pytest.mark.parametrize("role", sorted(BANK | OUTSIDERS))
async def test_writing_pages(client: httpx.AsyncClient, bank: Bank, role: str) -> None:
    await sign_in(client, role)
    writer = role in {"item_writer", "administrator"}
    for path in ["/items/new", f"/items/{bank.item_id}/edit", "/items/import"]:
        response = await client.get(path)
        assert response.status_code == (200 if writer else 403), (role, path)


@pytest.mark.asyncio
@pytest.mark.parametrize("role", sorted(OUTSIDERS | {"item_reviewer"}))
async def test_non_writers_cannot_create_items(
    client: httpx.AsyncClient, bank: Bank, role: str
) -> None:
    await sign_in(client, role)
    token = await csrf(client, "/")
    response = await client.post(
        "/api/items",
        json={"scheme_id": 1, "document": single_choice("NEW").model_dump(mode="json")},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 403


@pytest.mark.asyncio
@pytest.mark.parametrize("role", sorted(OUTSIDERS))
async def test_outsiders_cannot_fetch_files_or_export(
    client: httpx.AsyncClient, bank: Bank, role: str
) -> None:
    await sign_in(client, role)
    token = await csrf(client, "/")
    assert (await client.get(f"/items/versions/{bank.version_id}/files/x.png")).status_code == 403
    export = await client.post("/items/export", data={"csrf_token": token, "format": "yaml"})
    assert export.status_code == 403
    step = await client.post(
        f"/items/versions/{bank.version_id}/status", data={"csrf_token": token, "to": "in_review"}
    )
    assert step.status_code == 403


@pytest.mark.asyncio
async def test_only_administrators_create_blueprints_and_assemble(
    client: httpx.AsyncClient, bank: Bank
) -> None:
    await sign_in(client, "item_writer")
    token = await csrf(client, "/")
    response = await client.post(
        f"/blueprints/{bank.blueprint_id}/assemble", data={"csrf_token": token}
    )
    assert response.status_code == 403
