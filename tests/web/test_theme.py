"""The body's name, logo and main colour on the pages (the header, /theme.css, /body-logo)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from vakt.settings import Settings

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The test settings with the body's name, logo and colour set."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "logo.svg").write_bytes(LOGO)
    return Settings(
        database_url=database_url,
        data_dir=data,
        secret_key="test-secret-key-" + "x" * 32,
        body_name="Sertifiseringsorganet AS",
        body_logo=Path("logo.svg"),
        body_colour="#1A5E9A",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.mark.asyncio
async def test_the_public_pages_show_the_name_and_logo(client: httpx.AsyncClient) -> None:
    for path in ("/login", "/verify"):
        page = await client.get(path)
        assert page.status_code == 200
        assert "Sertifiseringsorganet AS" in page.text
        assert '<img class="brand-logo" src="/body-logo" alt="">' in page.text
        assert '<link rel="stylesheet" href="/theme.css">' in page.text


@pytest.mark.asyncio
async def test_the_theme_sets_the_main_colour(client: httpx.AsyncClient) -> None:
    theme = await client.get("/theme.css")
    assert theme.status_code == 200
    assert theme.headers["content-type"].startswith("text/css")
    assert theme.text.startswith(":root {\n  --accent: #1a5e9a;\n")
    # Designsystemet's accent scale follows the body's colour: buttons, links and fields.
    assert "  --ds-color-accent-base-default: #1a5e9a;\n" in theme.text
    assert "--ds-color-accent-base-hover: color-mix(in srgb, #1a5e9a 80%, #000);" in theme.text


@pytest.mark.asyncio
async def test_the_logo_is_served_sandboxed(client: httpx.AsyncClient) -> None:
    logo = await client.get("/body-logo")
    assert logo.status_code == 200
    assert logo.content == LOGO
    assert logo.headers["content-type"].startswith("image/svg+xml")
    # An SVG may hold script: it is served under the sandboxing CSP of item files.
    assert "sandbox" in logo.headers["content-security-policy"]
