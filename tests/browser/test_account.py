"""In chromium: a password change signs the person out in their other browser, and an
administrator ends someone's sessions from the Users page. axe-core checks both pages."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from vakt.accounts import User

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase"


async def _sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("button.primary")
    await expect(page.locator(".who")).to_be_visible()


@pytest.mark.asyncio
async def test_a_password_change_signs_out_the_other_browser(
    browser: Browser, live_server: str, users: dict[str, User]
) -> None:
    # CSP bypassed only to let axe-core into the page.
    laptop = await browser.new_context(locale="en-GB", bypass_csp=True)
    desktop = await browser.new_context(locale="en-GB")
    here, there = await laptop.new_page(), await desktop.new_page()
    await _sign_in(here, live_server, "grader")
    await _sign_in(there, live_server, "grader")

    await here.click("text=Your account")
    await expect(here.locator("h1")).to_have_text("Your account")
    await expect(here.locator("table.data tbody tr")).to_have_count(2)
    await check_accessibility(here, "account page", BOTH_WIDTHS)
    await here.fill("#current-password", PASSWORD)
    await here.fill("#new-password", NEW_PASSWORD)
    await here.fill("#new-password-again", NEW_PASSWORD)
    await here.click("form[action='/account/password'] button.primary")
    await expect(here.locator(".success")).to_contain_text("Your password has been changed")
    await expect(here.locator("table.data tbody tr")).to_have_count(1)

    await there.reload()
    await expect(there.locator("h1")).to_have_text("Sign in")
    await _sign_in(there, live_server, "grader", NEW_PASSWORD)
    await laptop.close()
    await desktop.close()


@pytest.mark.asyncio
async def test_an_administrator_ends_a_candidates_sessions(
    browser: Browser, live_server: str, users: dict[str, User]
) -> None:
    admin_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    candidate_context = await browser.new_context(locale="en-GB")
    admin, candidate = await admin_context.new_page(), await candidate_context.new_page()
    await _sign_in(candidate, live_server, "candidate")
    await _sign_in(admin, live_server, "administrator")

    await admin.click("nav >> text=Users")
    row = admin.locator(f"#user-{users['candidate'].id}")
    await expect(row.locator("td").nth(3)).to_have_text("1")
    await check_accessibility(admin, "users page")
    await row.get_by_role("button", name="End sessions").click()
    await expect(row.locator("td").nth(3)).to_have_text("0")

    await candidate.goto(f"{live_server}/my")
    await expect(candidate.locator("h1")).to_have_text("Sign in")
    await admin_context.close()
    await candidate_context.close()
