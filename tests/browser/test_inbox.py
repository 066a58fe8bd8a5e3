"""In chromium: the demo candidate finds a message through My page, reads it in the inbox and
marks it as read; axe-core checks the inbox before and after."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.notices import RESULTS_RELEASED
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from vakt.accounts import User
from vakt.db import utcnow
from vakt.demo.seed import DEMO_PASSWORD, seed_demo
from vakt.notifications import notify

pytestmark = pytest.mark.browser


@pytest.mark.asyncio
async def test_the_demo_candidate_reads_a_message_and_marks_it_read(
    browser: Browser, live_server: str, session: AsyncSession
) -> None:
    await seed_demo(session)
    candidate = await session.scalar(select(User).where(User.username == "kandidat"))
    assert candidate is not None
    await notify(
        session,
        recipient_id=candidate.id,
        kind=RESULTS_RELEASED,
        params={"sitting": "Demo-eksamen", "released_at": utcnow()},
        now=utcnow(),
    )
    await session.commit()

    # CSP bypassed only to let axe-core into the page.
    context = await browser.new_context(locale="nb-NO", bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "kandidat")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("button.primary")
    await page.click("nav >> text=Min side")
    await page.click("text=Meldinger: 1 ulest")
    await expect(page.locator("h1")).to_have_text("Meldinger")
    message = page.locator("article.message")
    await expect(message.locator("h2")).to_contain_text("Eksamensresultatene dine er klare")
    await expect(message).to_contain_text("Demo-eksamen")
    await expect(message.locator(".unread-mark")).to_be_visible()
    await check_accessibility(page, "inbox with an unread message", BOTH_WIDTHS)

    await message.get_by_role("button", name="Merk som lest").click()
    await expect(page.locator(".success")).to_have_text("Meldingen er merket som lest.")
    await expect(page.locator("article.message .unread-mark")).to_have_count(0)
    await expect(page.locator("article.message button")).to_have_count(0)
    await check_accessibility(page, "inbox after marking as read", BOTH_WIDTHS)
    await context.close()
