"""The certification decision in chromium: the decision maker opens the queue, reads a graded
candidate's requirements (every one met), is told at the field that refusing needs grounds,
then certifies; the candidate sees "Bestått" with the points on My page. The staff's fee page
too. axe-core checks every page on the way."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import Clock, FixedClock
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from tests.certification.factories import DECIDED_AT, ready_for_decision
from tests.certification.test_pages import confirmed_identities
from tests.conftest import PASSWORD
from vakt.accounts import User


@pytest.fixture
def server_clock() -> Clock | None:
    return FixedClock(DECIDED_AT)


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page.locator("h1")).not_to_have_text("")
    await expect(page).not_to_have_url(f"{base}/login")


@pytest.mark.asyncio
async def test_the_decision_maker_certifies_and_the_candidate_sees_passed(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    await confirmed_identities(session, ready, users["proctor"])
    candidate = ready.built.candidates[0]

    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await _sign_in(page, live_server, "decision_maker")
    await page.get_by_role("link", name="Decisions").first.click()
    await expect(page.locator("h1")).to_have_text("Decisions")
    await expect(page.locator("table.data tbody tr")).to_have_count(6)
    await check_accessibility(page, "the decision queue")
    await page.get_by_role("link", name=candidate.full_name).click()
    await expect(page.locator("h1")).to_have_text(f"Decision on {candidate.full_name}")
    await expect(page.locator("li.requirement.met")).to_have_count(8)
    await expect(page.locator("li.requirement.not-met")).to_have_count(0)
    await check_accessibility(page, "a registration's requirements")

    await page.get_by_role("radio", name="Refuse").check()
    await page.get_by_role("button", name="Record the decision").click()
    await expect(page.locator("#grounds-error")).to_have_text("Give the grounds for refusing.")
    await expect(page.get_by_role("radio", name="Refuse")).to_be_checked()
    await check_accessibility(page, "a refusal without grounds")

    await page.get_by_role("radio", name="Certify").check()
    await page.get_by_role("button", name="Record the decision").click()
    await expect(page.locator("#done")).to_contain_text("The candidate is certified")
    await expect(page.locator("#decision-outcome")).to_contain_text("Certified")
    await check_accessibility(page, "a decided registration")
    await context.close()

    staff_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    staff = await staff_context.new_page()
    await _sign_in(staff, live_server, "administrator")
    await staff.goto(f"{live_server}/staff/fees")
    await expect(staff.locator("h1")).to_have_text("Fees")
    await check_accessibility(staff, "the fee page")
    await staff_context.close()

    mine = await browser.new_context(locale="nb-NO", bypass_csp=True)
    my = await mine.new_page()
    await _sign_in(my, live_server, candidate.username)
    await my.goto(f"{live_server}/my")
    result = my.locator("dd").filter(has_text="Bestått").first
    await expect(result.locator("strong")).to_have_text("Bestått")
    await expect(result).to_contain_text("9 av 10 poeng")
    await check_accessibility(my, "My page with the result", BOTH_WIDTHS)
    await mine.close()
