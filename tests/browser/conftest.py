"""Browser tests: Debian's chromium through Playwright, against the real server that the
``live_server`` fixture (tests/conftest.py) runs on a free port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

CHROMIUM = Path("/usr/bin/chromium")
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
