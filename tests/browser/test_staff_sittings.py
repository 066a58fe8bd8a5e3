"""Staff schedule a sitting, approve an application and register the candidate in chromium."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import blueprints, schemes
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from vakt.accounts import User

pytestmark = pytest.mark.browser


@pytest.mark.asyncio
async def test_schedule_approve_and_register(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    scheme = await schemes.create_scheme(session, code="DM", name="Mangfold", actor_id=None)
    await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="B", name="Prøve", language="nb", actor_id=None,
        definition=blueprints.parse_blueprint({"parts": [
            {"key": "mc", "title": "Flervalg", "kind": "multiple_choice", "duration_minutes": 30,
             "rules": [{"count": 2}]},
        ]}),
    )  # fmt: skip
    await session.commit()
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "administrator")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await page.click("nav >> text=Sittings")
    await expect(page.locator("h1")).to_have_text("Sittings")
    await check_accessibility(page, "sittings")

    await page.select_option("#blueprint", label="DM: Prøve")
    await page.fill("#name", "Vår 2027")
    await page.fill("#opens", "2027-03-01T09:00")
    await page.fill("#closes", "2027-03-01T08:00")
    await page.click("text=Schedule >> nth=-1")
    await expect(page.locator(".error-message")).to_contain_text("close after it opens")
    await expect(page.locator("#name")).to_have_value("Vår 2027")
    await page.fill("#closes", "2027-03-01T17:00")
    await page.click("button:has-text('Schedule')")
    await expect(page.locator("h1")).to_have_text("Vår 2027")
    await expect(page.locator("#username option")).to_have_count(1)  # nobody is eligible yet

    await page.click("nav >> text=Sittings")
    await page.click("main >> text=Applications")
    await page.click("button[aria-label='Approve Candidate for DM']")
    await expect(page.locator("tr:has-text('Candidate') .status")).to_have_text("approved")
    await check_accessibility(page, "applications")
    await page.click("nav >> text=Sittings")
    await page.click("text=Vår 2027")
    await page.select_option("#username", "candidate")
    await page.click("button:has-text('Register')")
    await expect(page.locator("section.registration h3")).to_contain_text("Candidate")
    await check_accessibility(page, "sitting")
    await context.close()
