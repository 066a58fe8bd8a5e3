"""The break between parts in chromium: the next part's start button is disabled and says when
it opens, in the certification body's time zone (Oslo), and is offered once the break is over."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession

from exam import declarations
from exam.checkin import accept_declaration
from exam.timing import FixedClock
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from tests.exam.factories import OPENS, build_exam
from vakt.accounts import User

pytestmark = pytest.mark.browser


@pytest.fixture
def server_clock() -> FixedClock:
    return FixedClock(OPENS + timedelta(minutes=1))  # 09:01 UTC is 10:01 in Oslo in December


@pytest.mark.asyncio
async def test_the_next_part_waits_for_the_break_and_says_when_it_opens(
    browser: Browser,
    live_server: str,
    server_clock: FixedClock,
    session: AsyncSession,
    users: dict[str, User],
) -> None:
    exam = await build_exam(session, users)
    await accept_declaration(
        session, registration_id=exam.registration_id, candidate=exam.candidate,
        text_version=declarations.TEXT_VERSION, text_digest="0" * 64, language="en",
        now=server_clock.now(),
    )  # fmt: skip
    await session.commit()
    context = await browser.new_context(locale="en-GB", timezone_id="UTC", bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "candidate")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await page.goto(f"{live_server}/exam/{exam.registration_id}/take")
    await expect(page.locator("#part-position")).to_have_text("Part 1 of 2")
    await page.click("text=Start Flervalg")
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    await page.click("#hand-in")
    await page.click("#hand-in-confirm")
    await expect(page.locator(".receipts code")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))

    # The break lasts ten minutes after the hand-in at 10:01 Oslo time (the browser is in UTC).
    start = page.locator("#start-part")
    await expect(start).to_be_disabled()
    await expect(start).to_have_text("Start Kunnskap (opens at 10:11:00)")
    await expect(start).to_have_accessible_description(re.compile("Break until 10:11:00"))
    await expect(page.locator("#part-position")).to_have_text("Part 2 of 2")
    await check_accessibility(page, "break between parts", BOTH_WIDTHS)

    server_clock.advance(timedelta(minutes=10))
    await page.reload()
    await expect(start).to_be_enabled()
    await expect(start).to_have_text("Start Kunnskap")
    await context.close()
