"""The item writer's pages over HTTP: create, validate, preview without the key, files, compare,
review steps, and the JSON API's bad inputs."""

from __future__ import annotations

import base64

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import service
from itembank.models import Item, ItemVersion
from tests.itembank.factories import single_choice
from tests.web.helpers import csrf, sign_in
from vakt.accounts import User

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest_asyncio.fixture
async def scheme_id(session: AsyncSession) -> int:
    scheme = await service.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    await session.commit()
    return scheme.id


def _single_choice_form(token: str, scheme: int, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": token, "type": "single_choice", "scheme_id": str(scheme),
        "external_id": "DM-1", "title": "Lovverk", "language": "nb", "tags": "lovverk, grunnleggende",
        "stem_html": "<p>Les <img src='kart.png' alt='kart'></p><script>alert(1)</script>",
        "q0.prompt_html": "<p onclick='x()'>Hvem?</p>", "q0.points": "1",
        "q0.c0.html": "Alle", "q0.c1.html": "Noen", "q0.c2.html": "Ingen", "q0.c3.html": "",
        "q0.correct": "1", "q0.shuffle": "1", "guide_notes_html": "<p>Hemmelig</p>", "action": "save",
    }  # fmt: skip
    form.update(changes)
    return form


@pytest.mark.asyncio
async def test_create_item_through_the_form(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    token = await csrf(client, "/items/new")
    response = await client.post(
        "/items/new",
        data=_single_choice_form(token, scheme_id),
        files={"files": ("kart.png", PNG, "image/png")},
    )
    assert response.status_code == 303, response.text
    item_id = int(response.headers["location"].split("/")[2].split("?")[0])
    version = await service.latest_version(session, item_id)
    document = service.document_of(version)
    assert document.questions[0].correct == "B"  # type: ignore[union-attr]
    assert (
        "<script>" not in document.stem_html and "onclick" not in document.questions[0].prompt_html
    )
    assert document.attachments == ["kart.png"]
    assert document.tags == ["lovverk", "grunnleggende"]

    image = await client.get(f"/items/versions/{version.id}/files/kart.png")
    assert image.status_code == 200 and image.content == PNG
    assert image.headers["content-type"] == "image/png"

    preview = await client.get(f"/items/versions/{version.id}/preview")
    assert preview.status_code == 200
    frame = preview.text.split('class="candidate-frame"')[1]
    assert "Hemmelig" not in frame and "correct" not in frame.lower()
    assert f"/items/versions/{version.id}/files/kart.png" in frame
    detail = await client.get(f"/items/{item_id}")
    assert "Hemmelig" in detail.text  # writers do see the guide


@pytest.mark.asyncio
async def test_invalid_form_keeps_input_and_explains(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    token = await csrf(client, "/items/new")
    form = _single_choice_form(
        token, scheme_id, external_id="1 bad", title="Beholdes", **{"q0.points": "mange"}
    )
    form.pop("q0.correct")
    response = await client.post("/items/new", data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert 'value="Beholdes"' in response.text
    assert "Item id" in response.text and "Points" in response.text
    assert await session.scalar(select(func.count()).select_from(Item)) == 0


@pytest.mark.asyncio
async def test_missing_scheme_and_bad_file_are_clear(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    token = await csrf(client, "/items/new")
    no_scheme = await client.post(
        "/items/new",
        data=_single_choice_form(token, scheme_id, scheme_id=""),
        headers={"Accept-Language": "en"},
    )
    assert no_scheme.status_code == 422 and "Choose the scheme" in no_scheme.text
    bad_file = await client.post(
        "/items/new",
        data=_single_choice_form(token, scheme_id),
        files={"files": ("kart.png", b"#!/bin/sh\nrm -rf /", "image/png")},
        headers={"Accept-Language": "en"},
    )
    assert bad_file.status_code == 422 and "is not an image" in bad_file.text
    traversal = await client.post(
        "/items/new",
        data=_single_choice_form(token, scheme_id),
        files={"files": ("../../etc/kart.png", PNG, "image/png")},
        headers={"Accept-Language": "en"},
    )
    assert traversal.status_code == 422 and "not allowed" in traversal.text
    assert await session.scalar(select(func.count()).select_from(Item)) == 0


@pytest.mark.asyncio
async def test_edit_compare_and_review_through_pages(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    version = await service.create_item(
        session, scheme_id=scheme_id, document=single_choice(), actor_id=users["item_writer"].id
    )
    await session.commit()
    await sign_in(client, "item_writer")
    edit = await client.get(f"/items/{version.item_id}/edit")
    assert 'value="Spørsmål SC-1"' in edit.text
    token = await csrf(client, f"/items/{version.item_id}/edit")
    form = _single_choice_form(
        token, scheme_id, external_id="SC-1", title="Endret tittel", change_note="tittel"
    )
    saved = await client.post(f"/items/{version.item_id}/edit", data=form)
    assert saved.status_code == 303
    compare = await client.get(f"/items/{version.item_id}/compare?a=1&b=2")
    assert (
        compare.status_code == 200
        and "Endret tittel" in compare.text
        and "Spørsmål SC-1" in compare.text
    )
    missing = await client.get(f"/items/{version.item_id}/compare?a=1&b=9")
    assert missing.status_code == 404
    not_number = await client.get(f"/items/{version.item_id}/compare?a=x")
    assert not_number.status_code == 400

    newest = await service.latest_version(session, version.item_id)
    step = await client.post(
        f"/items/versions/{newest.id}/status", data={"csrf_token": token, "to": "in_review"}
    )
    assert step.status_code == 303
    unknown = await client.post(
        f"/items/versions/{newest.id}/status", data={"csrf_token": token, "to": "gone"}
    )
    assert unknown.status_code == 400
    refused = await client.post(
        f"/items/versions/{newest.id}/status", data={"csrf_token": token, "to": "approved"}
    )
    assert refused.status_code == 403


@pytest.mark.asyncio
async def test_json_api_validates_everything(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    headers = {"X-CSRF-Token": await csrf(client, "/"), "Accept-Language": "en"}
    not_json = await client.post(
        "/api/items", content=b"{nope", headers={**headers, "content-type": "application/json"}
    )
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]["message"]
    not_object = await client.post("/api/items", json=[1, 2], headers=headers)
    assert not_object.status_code == 400
    no_scheme = await client.post("/api/items", json={"document": {}}, headers=headers)
    assert no_scheme.json()["error"]["field"] == "scheme_id"
    invalid = await client.post(
        "/api/items", json={"scheme_id": scheme_id, "document": {"type": "quiz"}}, headers=headers
    )
    assert invalid.status_code == 400
    assert invalid.json()["error"]["details"]
    document = single_choice("API-1").model_dump(mode="json")
    created = await client.post(
        "/api/items", json={"scheme_id": scheme_id, "document": document}, headers=headers
    )
    assert created.status_code == 201
    body = created.json()
    assert body["document"]["questions"][0]["correct"] == "A"  # writers see the key
    again = await client.post(
        "/api/items", json={"scheme_id": scheme_id, "document": document}, headers=headers
    )
    assert again.status_code == 409
    document["title"] = "Ny"
    version = await client.post(
        f"/api/items/{body['item_id']}/versions", json={"document": document}, headers=headers
    )
    assert version.status_code == 201 and version.json()["number"] == 2
    step = await client.post(
        f"/api/items/versions/{version.json()['version_id']}/status",
        json={"to": "in_review"},
        headers=headers,
    )
    assert step.status_code == 200 and step.json()["status"] == "in_review"
    listing = await client.get("/api/items?status=in_review")
    assert listing.json()["total"] == 1
    bad_filter = await client.get("/api/items?status=lost")
    assert bad_filter.status_code == 400
    assert await session.scalar(select(func.count()).select_from(ItemVersion)) == 2
