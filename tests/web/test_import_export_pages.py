"""Importing and exporting through the web pages, with real QTI files."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank.models import Item
from itembank.qti import write_item
from tests.conftest import shared_testdata
from tests.itembank.factories import single_choice
from tests.web.helpers import csrf, sign_in
from vakt.accounts import User


async def _import(
    client: httpx.AsyncClient, scheme_id: int, name: str, data: bytes, **flags: str
) -> httpx.Response:
    token = await csrf(client, "/items/import")
    return await client.post(
        "/items/import",
        data={"csrf_token": token, "scheme_id": str(scheme_id), **flags},
        files={"file": (name, data, "application/octet-stream")},
        headers={"Accept-Language": "en"},
    )


@pytest.mark.asyncio
async def test_import_qti_items_and_export_them_again(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    bg = shared_testdata("qti", "qti3", "BG007.xml").read_bytes()
    response = await _import(client, scheme_id, "BG007.xml", bg)
    assert response.status_code == 200, response.text
    assert "1 item imported" in response.text
    token = await csrf(client, "/items")
    for fmt, media in [("qti3", "application/zip"), ("qti21", "application/zip"), ("yaml", "yaml")]:
        exported = await client.post(
            "/items/export", data={"csrf_token": token, "format": fmt, "scheme_id": str(scheme_id)}
        )
        assert exported.status_code == 200
        assert media in exported.headers["content-type"]
        assert "attachment" in exported.headers["content-disposition"]
        if fmt != "yaml":
            names = zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
            assert "imsmanifest.xml" in names
    bad_format = await client.post("/items/export", data={"csrf_token": token, "format": "pdf"})
    assert bad_format.status_code == 400


@pytest.mark.asyncio
async def test_unsupported_items_refuse_the_whole_package_by_default(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    package = shared_testdata("qti", "qti2p2", "items.zip").read_bytes()
    strict = await _import(client, scheme_id, "items.zip", package)
    assert strict.status_code == 422
    assert "Nothing was imported" in strict.text
    assert "orderInteraction" in strict.text or "order" in strict.text
    assert await session.scalar(select(func.count()).select_from(Item)) == 0
    lenient = await _import(client, scheme_id, "items.zip", package, skip_unsupported="1")
    assert lenient.status_code == 200
    assert "Not imported" in lenient.text
    assert await session.scalar(select(func.count()).select_from(Item)) > 0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.xml", b""),
        ("broken.xml", b"<qti-assessment-item><unclosed></qti-assessment-item>"),
        (
            "laughs.xml",
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><l>&b;</l>',
        ),
        ("fake.zip", b"PK\x03\x04 this is not really a zip"),
        ("notes.txt", b"just some words"),
    ],
)
async def test_bad_uploads_are_clear_errors(
    client: httpx.AsyncClient,
    session: AsyncSession,
    users: dict[str, User],
    scheme_id: int,
    name: str,
    data: bytes,
) -> None:
    await sign_in(client, "item_writer")
    response = await _import(client, scheme_id, name, data)
    assert 400 <= response.status_code < 500
    assert 'class="ds-alert error-summary"' in response.text
    assert "Traceback" not in response.text
    assert await session.scalar(select(func.count()).select_from(Item)) == 0


@pytest.mark.asyncio
async def test_import_form_needs_a_file_and_a_scheme(
    client: httpx.AsyncClient, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    token = await csrf(client, "/items/import")
    no_file = await client.post("/items/import", data={"csrf_token": token, "scheme_id": str(scheme_id)},
                                headers={"Accept-Language": "en"})  # fmt: skip
    assert no_file.status_code == 400 and "Choose a file" in no_file.text
    no_scheme = await _import(client, 0, "BG007.xml", b"<x/>")
    assert no_scheme.status_code in (400, 404)


def _yaml_items(*options: str) -> bytes:
    """A YAML file with one single-choice item per given first option."""
    return yaml.safe_dump(
        [
            {
                "external_id": f"Y-{number}",
                "title": f"Oppgave {number}",
                "type": "single_choice",
                "questions": [
                    {
                        "type": "single_choice",
                        "choices": [{"id": "A", "html": option}, {"id": "B", "html": "Nei"}],
                        "correct": "A",
                    }
                ],
            }
            for number, option in enumerate(options, start=1)
        ],
        allow_unicode=True,
    ).encode()


def _qti_item(option_xml: str) -> bytes:
    xml = write_item(single_choice("Q-1")).decode()
    return xml.replace("Norsk Standard", option_xml).encode()


@pytest.mark.asyncio
async def test_a_dry_run_says_nothing_was_stored(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], scheme_id: int
) -> None:
    await sign_in(client, "item_writer")
    data = _yaml_items("Ja", "Kanskje")
    english = await _import(client, scheme_id, "items.yaml", data, dry_run="1")
    assert english.status_code == 200
    assert "Test run: 2 items would be imported; nothing was stored." in english.text
    assert "items imported" not in english.text
    token = await csrf(client, "/items/import")
    norwegian = await client.post(
        "/items/import",
        data={"csrf_token": token, "scheme_id": str(scheme_id), "dry_run": "1"},
        files={"file": ("items.yaml", data, "application/yaml")},
        headers={"Accept-Language": "nb"},
    )
    assert "Prøvekjøring: 2 oppgaver ville blitt importert; ingenting er lagret." in norwegian.text
    assert "er importert" not in norwegian.text
    assert await session.scalar(select(func.count()).select_from(Item)) == 0
    stored = await _import(client, scheme_id, "items.yaml", data)
    assert "2 items imported." in stored.text
    assert await session.scalar(select(func.count()).select_from(Item)) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("video.yaml", _yaml_items('<video src="a.mp4"></video>'), "shows nothing"),
        ("style.yaml", _yaml_items("<style>p {}</style>"), "shows nothing"),
        ("script.yaml", _yaml_items("<script>alert(1)</script>"), "shows nothing"),
        ("empty-span.xml", _qti_item("<span></span>"), "shows nothing"),
        ("style.xml", _qti_item("<style>p {}</style>"), "Unsupported content: style"),
        ("script.xml", _qti_item("<script>alert(1)</script>"), "Unsupported content: script"),
    ],
    ids=["yaml-video", "yaml-style", "yaml-script", "qti-empty", "qti-style", "qti-script"],
)
async def test_imports_refuse_options_that_clean_to_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    users: dict[str, User],
    scheme_id: int,
    name: str,
    data: bytes,
    problem: str,
) -> None:
    await sign_in(client, "item_writer")
    for flags in ({}, {"skip_unsupported": "1"}):
        response = await _import(client, scheme_id, name, data, **flags)
        assert problem in response.text
        if problem == "shows nothing":
            assert "Question 1, Option 1, Text: shows nothing once unsafe" in response.text
    assert await session.scalar(select(func.count()).select_from(Item)) == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("number", ["99999999999999999999", "²", "-1"])
async def test_odd_numbers_in_import_and_export_forms_are_4xx(
    client: httpx.AsyncClient, users: dict[str, User], scheme_id: int, number: str
) -> None:
    await sign_in(client, "item_writer")
    token = await csrf(client, "/items/import")
    imported = await client.post(
        "/items/import",
        data={"csrf_token": token, "scheme_id": number},
        files={"file": ("items.yaml", _yaml_items("Ja"), "application/yaml")},
        headers={"Accept-Language": "en"},
    )
    assert imported.status_code == 400 and "Choose the scheme" in imported.text
    exported = await client.post(
        "/items/export",
        data={"csrf_token": token, "format": "yaml", "version": number, "scheme_id": number},
        headers={"Accept-Language": "en"},
    )
    assert exported.status_code == 400 and "no items to export" in exported.text
