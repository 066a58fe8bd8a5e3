"""Browser tests: Debian's chromium through Playwright, against the real server that the
``live_server`` fixture (tests/conftest.py) runs on a free port.

Screenshots are kept as test artifacts in ``VAKT_TEST_ARTIFACTS`` (default ``test-artifacts/`` at
the repository's root, ignored by git): one full-page PNG per test, step and window width."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Page, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
REPOSITORY = Path(__file__).resolve().parents[2]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
BOTH_WIDTHS = (DESKTOP, PHONE)
"""The two window sizes every candidate page is checked at: a laptop and a phone."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@pytest_asyncio.fixture
async def browser(chromium_path: Path) -> AsyncIterator[object]:
    """Debian's chromium, headless, with a fake camera and microphone."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def chromium_path() -> Path:
    """Where Debian's chromium is; the test is skipped (failed in CI) when it is missing."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def artifact_dir() -> Path:
    """Where screenshots go: ``VAKT_TEST_ARTIFACTS`` or ``test-artifacts/`` at the repository's
    root, one folder per database (the SQLite and PostgreSQL runs go side by side in CI)."""
    root = Path(os.environ.get("VAKT_TEST_ARTIFACTS") or REPOSITORY / "test-artifacts")
    backend = "postgresql" if os.environ.get("VAKT_TEST_DATABASE_URL") else "sqlite"
    return root / backend


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


def current_test_name() -> str:
    """The running test's name (with its parameters), as pytest tells it in the environment."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "unknown-test")
    return current.rsplit(" ", 1)[0].split("::")[-1]


async def save_screenshot(page: Page, step: str, test: str | None = None) -> Path:
    """A full-page PNG of ``page`` as ``<artifacts>/<test>/<step>-<width>.png``."""
    width = (page.viewport_size or {}).get("width", 0)
    path = artifact_dir() / _slug(test or current_test_name()) / f"{_slug(step)}-{width}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Awaitable[Path]]:
    """``await screenshot(page, "step")`` keeps the page as a test artifact (see the module)."""

    async def take(page: Page, step: str) -> Path:
        return await save_screenshot(page, step, request.node.name)

    return take
