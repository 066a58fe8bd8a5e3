"""The countdown in chromium against a server clock the test moves: the 5- and 1-minute
warnings are announced once (politely), and at the deadline the part is handed in by itself."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import declarations
from exam.checkin import accept_declaration
from exam.models import Attempt, AttemptPart, Registration
from exam.timing import FixedClock
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from tests.exam.factories import build_full_exam
from vakt.accounts import User
from vakt.db import utcnow

pytestmark = pytest.mark.browser


@pytest.fixture
def server_clock() -> FixedClock:
    return FixedClock(utcnow())


@pytest.mark.asyncio
async def test_warnings_and_hand_in_at_the_deadline(
    browser: Browser,
    live_server: str,
    server_clock: FixedClock,
    session: AsyncSession,
    users: dict[str, User],
) -> None:
    exam = await build_full_exam(session, users, opens=server_clock.now() - timedelta(hours=1))
    registration = await session.get(Registration, exam.registration_id)
    assert registration is not None
    await accept_declaration(
        session, registration_id=registration.id, candidate=exam.candidate,
        text_version=declarations.TEXT_VERSION, text_digest="0" * 64, language="en",
        now=server_clock.now(),
    )  # fmt: skip
    await session.commit()
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "candidate")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await page.goto(f"{live_server}/exam/{exam.registration_id}/take")
    await page.click("text=Start Flervalgsprøve")
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#time-left")).to_have_text(re.compile(r"^(30:00|29:5\d)$"))
    announcer = page.locator("#announcer")
    await expect(announcer).to_have_attribute("aria-live", "polite")
    await expect(page.locator("#time-left")).to_have_attribute("role", "timer")
    await expect(announcer).to_be_empty()

    deadline = await session.scalar(
        select(AttemptPart.deadline)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .where(Attempt.registration_id == exam.registration_id)
    )
    assert deadline is not None
    warning = page.locator("#time-warning")
    await expect(warning).to_be_hidden()
    server_clock.set(deadline - timedelta(minutes=5, seconds=2))
    await page.reload()
    await expect(announcer).to_have_text("5 minutes left of this part.", timeout=10_000)
    # The warning is also shown, not only read out; it is no live region of its own (the
    # announcer says it once), and it can be dismissed.
    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text("5 minutes left of this part.")
    assert await warning.get_attribute("aria-live") is None
    assert await warning.get_attribute("role") is None
    await check_accessibility(page, "5-minute warning", BOTH_WIDTHS)
    await page.click("#time-warning-dismiss")
    await expect(warning).to_be_hidden()
    await expect(page.locator("#item-heading-1")).to_be_focused()
    shown = await page.locator("#time-left").text_content()
    await expect(page.locator("#time-left")).not_to_have_text(shown or "")
    await expect(warning).to_be_hidden()
    # Reloaded inside the window: shown again, not announced again.
    server_clock.set(deadline - timedelta(minutes=4))
    await page.reload()
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    await expect(warning).to_contain_text("5 minutes left of this part.")
    await expect(announcer).to_be_empty()
    server_clock.set(deadline - timedelta(minutes=1, seconds=2))
    await page.reload()
    await expect(announcer).to_have_text("1 minute left of this part.", timeout=10_000)
    await expect(warning).to_contain_text("1 minute left of this part.")

    await page.locator("#item-1 input").first.check()
    server_clock.set(deadline - timedelta(seconds=3))
    await page.reload()
    # The page hands in by itself at 00:00 (the server's own deadline task would too) and
    # shows the receipt.
    await expect(page.locator(".receipts code")).to_have_text(
        re.compile(r"^[0-9a-f]{64}$"), timeout=15_000
    )
    await expect(page.locator("h2#next-heading")).to_contain_text("Kunnskapsprøve")
    await context.close()
