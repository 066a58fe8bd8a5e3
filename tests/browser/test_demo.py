"""`vakt demo` serves a login page a real browser can use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vakt.cli", "demo", "--data-dir", str(tmp_path / "demo"), "--port", str(port)],
        env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.stdout.read() if process.stdout else ""
                raise RuntimeError(f"vakt demo did not start:\n{output}") from None
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=20)


@pytest.mark.asyncio
async def test_demo_login_page_works_in_a_browser(browser: Browser, demo_server: str) -> None:
    page = await browser.new_page(locale="nb-NO")
    await page.goto(demo_server)
    await expect(page.locator("h1")).to_have_text("Logg inn")
    await page.fill("#username", "forfatter")
    await page.fill("#password", "vakt-demo-passord")
    await page.click("button.primary")
    await page.goto(f"{demo_server}/items")
    rows = page.locator("table.data tbody tr")
    await expect(rows.first).to_be_visible()
    assert await rows.count() >= 40
    await page.close()


@pytest.mark.asyncio
async def test_the_demo_candidate_can_start_the_demo_exam(
    browser: Browser, demo_server: str
) -> None:
    page = await browser.new_page(locale="nb-NO")
    await page.goto(demo_server)
    await page.fill("#username", "kandidat")
    await page.fill("#password", "vakt-demo-passord")
    await page.click("button.primary")
    await page.click("nav >> text=Min side")
    await expect(page.locator("article.registration h3")).to_contain_text("Demo-eksamen")
    await page.click("text=Gå til eksamen")
    await expect(page.locator("#check-continue")).to_be_visible(timeout=15_000)
    await page.click("#check-continue")
    await page.check("#conduct")
    await page.check("#declaration")
    await page.click("button.primary")
    # The demo scheme is proctored: a check-in photo (no profile photo yet, so a proctor will
    # look at it), then the part starts once the camera and microphone are live.
    await page.click("#take-photo")
    await page.click("#photo-submit")
    await page.click("#identity-continue")
    await expect(page.locator("#start-part")).to_be_enabled(timeout=30_000)
    await page.click("text=Start Flervalgsprøve")
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    await expect(page.locator(".exam-item")).to_have_count(15)
    await page.close()
