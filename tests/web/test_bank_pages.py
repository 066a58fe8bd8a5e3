"""The item writer's pages over HTTP: create, validate, preview without the key, files, compare,
review steps, and the JSON API's bad inputs."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import versions, workflow
from itembank.models import Item, ItemVersion
from itembank.schemas import ItemStatus
from tests.itembank.factories import single_choice
from tests.web.helpers import csrf, sign_in
from vakt.accounts import User

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


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
    version = await versions.latest_version(session, item_id)
    document = versions.document_of(version)
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
    version = await versions.create_item(
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

    newest = await versions.latest_version(session, version.item_id)
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


class _FormReader(HTMLParser):
    """What a browser would send for one form of a page, before anything is typed."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = attributes.get("action") == self.action
        if not self.inside:
            return
        name = attributes.get("name")
        if tag == "input" and name and "disabled" not in attributes:
            kind = attributes.get("type", "text")
            if kind in ("submit", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.values[name] = attributes.get("value", "")
        elif tag == "select" and name and "disabled" not in attributes:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select is not None:
            value = attributes.get("value", "")
            if self._first_option is None:
                self._first_option = value
                self.values[self._select] = value
            if "selected" in attributes:
                self.values[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.values[self._textarea] += data


def _form(page: httpx.Response, action: str = "/items/new") -> dict[str, str]:
    reader = _FormReader(action)
    reader.feed(page.text)
    assert reader.values, f"no form posting to {action}"
    return reader.values


async def _submit(
    client: httpx.AsyncClient, page: httpx.Response, action: str, **typed: str
) -> httpx.Response:
    """Fill in the editor shown on ``page`` and press the button with value ``action``."""
    values = {**_form(page), **typed, "action": action}
    return await client.post("/items/new", data=values, headers={"Accept-Language": "en"})


def _item_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("/")[2].split("?")[0])


async def _stored(session: AsyncSession, item_id: int) -> Any:
    session.expunge_all()
    return versions.document_of(await versions.latest_version(session, item_id))


@pytest.mark.asyncio
async def test_a_case_with_questions_of_several_types_is_made_in_the_editor(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    page = await client.get(f"/items/new?type=case&scheme={scheme_id}")
    values = _form(page)
    # A new case starts with an open question and shows its fields, not an option list.
    assert values["type"] == "case" and values["q0.type"] == "essay"
    assert "q0.word_limit" in values and "q0.c0.html" not in values
    page = await _submit(
        client, page, "add_question", external_id="DM-CASE-1", title="Rekruttering",
        stem_html="<p>En kommune vil rekruttere bredere.</p>", **{
            "q0.prompt_html": "<p>Drøft tiltakene.</p>", "q0.points": "4",
            "q0.g0.name": "Analyse", "q0.g0.points": "4",
        },
    )  # fmt: skip
    assert page.status_code == 200
    values = _form(page)
    assert (
        values["title"] == "Rekruttering" and values["q0.prompt_html"] == "<p>Drøft tiltakene.</p>"
    )
    assert values["q1.type"] == "essay"
    page = await _submit(client, page, "update", **{"q1.type": "single_choice"})
    values = _form(page)
    assert (
        "q1.c0.html" in values
        and "q1.word_limit" not in values
        and values["q0.g0.name"] == "Analyse"
    )
    saved = await _submit(
        client, page, "save", **{
            "q1.prompt_html": "<p>Hva er lovlig?</p>", "q1.c0.html": "Positiv særbehandling",
            "q1.c1.html": "Kvotering uten hjemmel", "q1.correct": "0",
        },
    )  # fmt: skip
    document = await _stored(session, _item_id(saved))
    assert document.type == "case"
    assert [q.type for q in document.questions] == ["essay", "single_choice"]
    assert document.questions[1].correct == "A"  # type: ignore[union-attr]
    assert document.questions[0].guide.criteria[0].name == "Analyse"  # type: ignore[union-attr]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("item_type", "typed"),
    [
        ("single_choice", {"q0.c0.html": "Ja", "q0.c1.html": "Nei", "q0.correct": "1"}),
        (
            "multiple_response",
            {"q0.c0.html": "Ja", "q0.c1.html": "Nei", "q0.c2.html": "Kanskje",
             "q0.c0.correct": "1", "q0.c2.correct": "1", "q0.scoring": "all_or_nothing"},
        ),
        ("essay", {"q0.word_limit": "300", "q0.g0.name": "Innhold", "q0.g0.points": "1"}),
        ("oral", {"q0.preparation_seconds": "60", "q0.max_duration_seconds": "180"}),
    ],
)  # fmt: skip
async def test_every_item_type_is_made_in_the_editor(
    client: httpx.AsyncClient,
    session: AsyncSession,
    users: dict[str, User],
    scheme_id: int,
    item_type: str,
    typed: dict[str, str],
) -> None:
    await sign_in(client, "item_writer")
    page = await client.get(f"/items/new?scheme={scheme_id}")
    page = await _submit(client, page, "update", type=item_type)  # chosen on the form itself
    assert _form(page)["type"] == item_type
    saved = await _submit(
        client, page, "save", external_id=f"DM-{item_type}", title="Oppgave",
        **{"q0.prompt_html": "<p>Spørsmål</p>"}, **typed,
    )  # fmt: skip
    document = await _stored(session, _item_id(saved))
    assert document.type == item_type and document.questions[0].type == item_type


@pytest.mark.asyncio
async def test_a_type_changed_without_updating_shows_its_fields_before_saving(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    page = await client.get(f"/items/new?scheme={scheme_id}")
    response = await _submit(
        client, page, "save", type="essay", external_id="DM-1", title="Beholdes",
        **{"q0.prompt_html": "<p>Drøft</p>", "q0.c0.html": "Ja"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "now shows the fields for the type you chose" in response.text
    values = _form(response)
    assert values["type"] == "essay" and "q0.word_limit" in values and "q0.c0.html" not in values
    assert values["title"] == "Beholdes" and values["q0.prompt_html"] == "<p>Drøft</p>"
    assert await session.scalar(select(func.count()).select_from(Item)) == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("item_type", [None, "", "quiz", "case\x00"])
async def test_an_item_without_a_known_type_is_a_422_with_the_form_kept(
    client: httpx.AsyncClient,
    session: AsyncSession,
    users: dict[str, User],
    scheme_id: int,
    item_type: str | None,
) -> None:
    await sign_in(client, "item_writer")
    token = await csrf(client, "/items/new")
    form = _single_choice_form(token, scheme_id, title="Beholdes")
    form.pop("type")
    if item_type is not None:
        form["type"] = item_type
    response = await client.post("/items/new", data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert 'id="type-error"' in response.text and "Choose the item&#39;s type." in response.text
    values = _form(response)
    assert values["type"] == "" and values["title"] == "Beholdes"
    assert (
        values["q0.c1.html"] == "Noen" and values["q0.prompt_html"] == "<p onclick='x()'>Hvem?</p>"
    )
    assert await session.scalar(select(func.count()).select_from(Item)) == 0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "Lov\x00verk"}, "title", "control characters"),
        ({"q0.points": "99999999999999999999999"}, "q0.points", "at most 1000"),
        ({"q0.points": "inf"}, "q0.points", "at most 1000"),
        ({"q0.points": "nan"}, "q0.points", "must be"),
        ({"q0.c1.html": "<video src=a.mp4>"}, "q0.c1.html", "shows nothing"),
        ({"q0.c1.html": "<style>x</style>"}, "q0.c1.html", "shows nothing"),
        ({"stem_html": "<script>alert(1)</script>"}, "stem_html", "shows nothing"),
        ({"guide_notes_html": "<video src=a.mp4>"}, "guide_notes_html", "shows nothing"),
        ({"q0.prompt_html": "<video src=a.mp4>"}, "q0.prompt_html", "shows nothing"),
        ({"tags": "lov\x00verk"}, "tags", "characters a tag may not have"),
        ({"q0.correct": "7"}, "q0.choices", "Correct answer: is required"),
        ({"q0.c1.id": "<b>"}, "q0.c1.html", "must start with a letter"),
        ({"scheme_id": "99999999999999999999999"}, "scheme_id", "Choose the scheme"),
        ({"scheme_id": "²"}, "scheme_id", "Choose the scheme"),
        ({"scheme_id": "4242"}, "scheme_id", "Choose the scheme"),
        ({"language": "x\x00"}, "language", "characters that are not allowed"),
    ],
)
async def test_hostile_editor_fields_get_a_message_at_the_field(
    client: httpx.AsyncClient,
    session: AsyncSession,
    users: dict[str, User],
    scheme_id: int,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    await sign_in(client, "item_writer")
    token = await csrf(client, "/items/new")
    form = _single_choice_form(token, scheme_id, **changes)
    response = await client.post("/items/new", data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 422, response.text
    error = response.text.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert message in error
    assert f'aria-describedby="{field}-error"' in response.text or (
        f'{field}-error"' in response.text and 'aria-invalid="true"' in response.text
    )
    assert _form(response)["title"] == form["title"]
    assert await session.scalar(select(func.count()).select_from(Item)) == 0


@pytest.mark.asyncio
async def test_a_multiple_response_question_with_absurd_numbers_is_refused_at_its_fields(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    page = await client.get(f"/items/new?type=multiple_response&scheme={scheme_id}")
    typed = {"q0.c0.html": "Ja", "q0.c1.html": "Nei", "q0.c0.correct": "1"}
    infinite = await _submit(
        client, page, "save", external_id="MR-1", title="Flere",
        **typed, **{"q0.scoring": "mapped", "q0.c0.value": "1e999"},
    )  # fmt: skip
    assert infinite.status_code == 422
    error = infinite.text.split('id="q0.choices-error">')[1].split("</p>")[0]
    assert "Option values, A: must be a finite number" in error
    huge = await _submit(
        client, page, "save", external_id="MR-1", title="Flere",
        **typed, **{"q0.max_choices": "99999999999999999999999"},
    )  # fmt: skip
    assert huge.status_code == 422
    error = huge.text.split('id="q0.choices-error">')[1].split("</p>")[0]
    assert "larger than the number of options" in error
    assert await session.scalar(select(func.count()).select_from(Item)) == 0


@pytest.mark.asyncio
async def test_an_edit_note_that_cannot_be_stored_is_refused_at_its_field(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    version = await versions.create_item(
        session, scheme_id=scheme_id, document=single_choice(), actor_id=users["item_writer"].id
    )
    await session.commit()
    await sign_in(client, "item_writer")
    page = await client.get(f"/items/{version.item_id}/edit")
    values = {**_form(page, f"/items/{version.item_id}/edit"), "title": "Ny", "action": "save"}
    values["change_note"] = "ny\x00tittel"
    response = await client.post(
        f"/items/{version.item_id}/edit", data=values, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 422
    assert "cannot be stored" in response.text.split('id="change_note-error">')[1]


@pytest.mark.asyncio
async def test_the_editor_shows_markup_examples_as_text_and_loads_no_image(
    client: httpx.AsyncClient, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    for path in ("/items/new", "/items/new?type=case"):
        page = await client.get(path, headers={"Accept-Language": "en"})
        assert "<img" not in page.text  # the hint once loaded /items/map.png, a 404
        assert "refer to them in the text as e.g. &lt;img src=" in page.text
        assert '<script src="/static/js/item-editor.js" defer></script>' in page.text
    script = await client.get("/static/js/item-editor.js")
    assert script.status_code == 200


async def _in_review(session: AsyncSession, users: dict[str, User], scheme_id: int) -> Any:
    version = await versions.create_item(
        session, scheme_id=scheme_id, document=single_choice(), actor_id=users["item_writer"].id
    )
    await workflow.transition(
        session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=users["item_writer"]
    )
    await session.commit()
    return version


@pytest.mark.asyncio
async def test_a_rejection_without_a_comment_shows_the_item_with_the_message_at_the_comment(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    version = await _in_review(session, users, scheme_id)
    await sign_in(client, "item_reviewer")
    token = await csrf(client, f"/items/{version.item_id}")
    response = await client.post(
        f"/items/versions/{version.id}/status",
        data={"csrf_token": token, "to": "draft", "comment": "  "},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert "<h1>Spørsmål SC-1</h1>" in response.text  # the item page, not an error page
    error = response.text.split('id="review-comment-error">')[1].split("</p>")[0]
    assert "Say why in a comment." in error
    assert 'aria-describedby="review-comment-error"' in response.text
    assert 'value="draft"' in response.text  # the reviewer can reject again at once
    rejected = await client.post(
        f"/items/versions/{version.id}/status",
        data={"csrf_token": token, "to": "draft", "comment": "Uklart alternativ B"},
    )
    assert rejected.status_code == 303
    session.expunge_all()
    assert (await versions.get_version(session, version.id)).status == ItemStatus.DRAFT


@pytest.mark.asyncio
async def test_refused_review_steps_show_the_item_with_the_reason_and_the_comment_kept(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    version = await _in_review(session, users, scheme_id)
    await sign_in(client, "writer_reviewer")
    token = await csrf(client, f"/items/{version.item_id}")
    unknown = await client.post(
        f"/items/versions/{version.id}/status",
        data={"csrf_token": token, "to": "gone", "comment": "Min begrunnelse"},
        headers={"Accept-Language": "en"},
    )
    assert unknown.status_code == 400 and "Unknown status." in unknown.text
    assert "Spørsmål SC-1" in unknown.text
    nul = await client.post(
        f"/items/versions/{version.id}/status",
        data={"csrf_token": token, "to": "draft", "comment": "nei\x00"},
        headers={"Accept-Language": "en"},
    )
    assert nul.status_code == 400
    assert "cannot be stored" in nul.text.split('id="review-comment-error">')[1]
    missing = await client.post(
        "/items/versions/99999999999999999999/status", data={"csrf_token": token, "to": "draft"}
    )
    assert missing.status_code == 404


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        b'{"scheme_id": 1, "document": {"title": "\\ud800"}}',
        b'{"scheme_id": 1, "document": {"\\udfff": 1}}',
        b'{"scheme_id": 1, "document": {"title": NaN}}',
        b'{"scheme_id": 1, "document": {"questions": [{"points": Infinity}]}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"scheme_id": 99999999999999999999999, "document": {}}',
        b'{"scheme_id": true, "document": {}}',
        b'{"scheme_id": 1, "document": "text"}',
        b'{"scheme_id": 1, "document": [1]}',
    ],
    ids=[
        "surrogate", "surrogate-key", "nan", "infinity", "deep", "huge-scheme", "bool-scheme",
        "text-document", "list-document",
    ],
)  # fmt: skip
async def test_hostile_api_bodies_are_clear_400s(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], body: bytes
) -> None:
    await sign_in(client, "item_writer")
    headers = {
        "X-CSRF-Token": await csrf(client, "/"),
        "content-type": "application/json",
        "Accept-Language": "en",
    }
    response = await client.post("/api/items", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]
    assert await session.scalar(select(func.count()).select_from(Item)) == 0


@pytest.mark.asyncio
async def test_api_documents_are_checked_after_cleaning_and_name_the_field(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    headers = {"X-CSRF-Token": await csrf(client, "/"), "Accept-Language": "nb"}
    document = single_choice("API-1").model_dump(mode="json")
    document["questions"][0]["choices"][1]["html"] = "<video src=a.mp4>"
    document["title"] = "Tit\x00tel"
    at_the_door = await client.post(
        "/api/items", json={"scheme_id": scheme_id, "document": document}, headers=headers
    )
    assert at_the_door.status_code == 400
    assert at_the_door.json()["error"]["field"] == "document.title"
    document["title"] = "Tittel"
    refused = await client.post(
        "/api/items", json={"scheme_id": scheme_id, "document": document}, headers=headers
    )
    assert refused.status_code == 400
    details = refused.json()["error"]["details"]
    assert (
        "Spørsmål 1, Alternativ 2, Tekst: viser ingenting når utrygg eller ustøttet markering "
        "(som video, style eller script) er fjernet"
    ) in details
    created = await client.post(
        "/api/items",
        json={"scheme_id": scheme_id, "document": single_choice("API-1").model_dump(mode="json")},
        headers=headers,
    )
    item_id = created.json()["item_id"]
    valid = json.dumps(single_choice("API-1", title="Ny").model_dump(mode="json")).encode()
    for note, reason in (
        (b"ny\\ud800", "ikke kan lagres"),
        (b"ny\\u0000", "ikke kan lagres"),
        (b"ny", None),
    ):
        version = await client.post(
            f"/api/items/{item_id}/versions",
            content=b'{"document": %s, "change_note": "%s"}' % (valid, note),
            headers={**headers, "content-type": "application/json"},
        )
        if reason is None:
            assert version.status_code == 201, version.text
        else:
            assert version.status_code == 400 and reason in version.json()["error"]["message"]
    comment = await client.post(
        f"/api/items/versions/{created.json()['version_id']}/status",
        json={"to": "in_review", "comment": "klar\x00"},
        headers=headers,
    )
    assert comment.status_code == 400 and comment.json()["error"]["field"] == "comment"
    assert await session.scalar(select(func.count()).select_from(ItemVersion)) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/items/99999999999999999999", 404),
        ("/items/99999999999999999999/edit", 404),
        ("/items/versions/99999999999999999999/preview", 404),
        ("/api/items/versions/99999999999999999999", 404),
        ("/api/items?scheme=99999999999", 400),
        ("/items?page=99999999999", 400),
        ("/items?q=a%00b", 400),
        ("/api/items?tag=%00", 400),
        ("/items/versions/1/files/kart%00.png", 400),
    ],
)
async def test_hostile_addresses_are_4xx(
    client: httpx.AsyncClient, users: dict[str, User], path: str, status: int
) -> None:
    await sign_in(client, "item_writer")
    response = await client.get(path, headers={"Accept-Language": "en"})
    assert response.status_code == status, response.text


@pytest.mark.asyncio
async def test_a_version_stored_before_options_were_checked_still_shows(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    version = await versions.create_item(
        session, scheme_id=scheme_id, document=single_choice(), actor_id=users["item_writer"].id
    )
    await versions.create_version(
        session, item_id=version.item_id, document=single_choice(title="Ny"),
        actor_id=users["item_writer"].id,
    )  # fmt: skip
    document = single_choice().model_dump(mode="json")
    document["questions"][0]["choices"][1]["html"] = ""  # as an older release stored <video>
    await session.execute(
        update(ItemVersion).where(ItemVersion.id == version.id).values(document=document)
    )
    await session.commit()
    await sign_in(client, "item_writer")
    for path in (
        f"/items/{version.item_id}?version=1",
        f"/items/versions/{version.id}/preview",
        f"/items/{version.item_id}/compare?a=1&b=2",
        f"/api/items/versions/{version.id}",
    ):
        assert (await client.get(path)).status_code == 200, path


@pytest.mark.asyncio
async def test_the_preview_shows_options_in_the_bank_order(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    document = single_choice(
        "SH-1",
        questions=[
            {
                "type": "single_choice",
                "shuffle": True,
                "choices": [{"id": c, "html": f"Alternativ {c}"} for c in "ABCDEFGH"],
                "correct": "A",
            }
        ],
    )
    version = await versions.create_item(
        session, scheme_id=scheme_id, document=document, actor_id=users["item_writer"].id
    )
    await session.commit()
    await sign_in(client, "item_writer")
    preview = await client.get(f"/items/versions/{version.id}/preview")
    shown = re.findall(
        r'type="radio" name="preview-RESPONSE" id="[^"]+" value="([A-H])"', preview.text
    )
    assert shown == list("ABCDEFGH")


@pytest.mark.asyncio
async def test_no_editor_field_left_out_or_filled_with_rubbish_makes_a_server_error(
    client: httpx.AsyncClient, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    token = await csrf(client, "/items/new")
    complete = _single_choice_form(token, scheme_id, shown_type="single_choice")
    complete.update({"q0.shown_type": "single_choice", "q0.max_choices": "", "q0.word_limit": ""})
    rubbish = ["", "\x00", "x" * 5000, "-1", "99999999999999999999", "nan", "²", "case", "oral"]
    failures = []
    for number, field in enumerate(name for name in complete if name != "csrf_token"):
        for value in [None, *rubbish]:
            form = {**complete, "external_id": f"DM-{number}"}
            if value is None:
                form.pop(field)
            else:
                form[field] = value
            response = await client.post("/items/new", data=form)
            if response.status_code not in (200, 303, 400, 404, 409, 422):
                failures.append((field, value, response.status_code))
    assert failures == []
