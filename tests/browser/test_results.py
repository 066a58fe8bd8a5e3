"""In chromium: an administrator sets a scheme's grading rules (a bad value is refused at its
field) and looks at the sitting's grading; the decision maker overrides a part's result with
grounds, and is offered no decision on an attempt held for its candidate's identity. axe-core
checks every page on the way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Registration
from proctoring.review import decide_identity
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from tests.grading.graded_sitting import graded_sitting
from vakt.accounts import User

pytestmark = pytest.mark.browser


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page.locator("h1")).to_contain_text("Welcome")


@pytest.mark.asyncio
async def test_grading_rules_overview_and_an_override(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)

    admin_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    admin = await admin_context.new_page()
    await _sign_in(admin, live_server, "administrator")
    await admin.click("nav >> text=Sittings")
    await admin.click("a:has-text('Grading rules and graders')")
    await expect(admin.locator("h1")).to_have_text("Grading: Kvalitet")
    await check_accessibility(admin, "grading rules")
    await admin.fill("#tolerance_percent", "101")
    await admin.click("text=Save the rules")
    await expect(admin.locator("#rules-error")).to_contain_text(
        "Largest difference between two marks"
    )
    await expect(admin.locator("#tolerance_percent")).to_have_attribute("aria-invalid", "true")
    await expect(admin.locator("#tolerance_percent")).to_have_value("101")
    await check_accessibility(admin, "grading rules with an error")
    await admin.fill("#tolerance_percent", "15")
    await admin.click("text=Save the rules")
    await expect(admin.locator(".success")).to_have_text("The grading rules have been saved.")
    await expect(admin.locator("#tolerance_percent")).to_have_value("15.0")
    await admin.goto(f"{live_server}/staff/sittings/{built.sitting_id}")
    await admin.click("text=Grading overview: scripts and graders")
    await expect(admin.locator("#count-final")).to_have_text("6")
    await check_accessibility(admin, "grading overview")
    await admin_context.close()

    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await _sign_in(page, live_server, "decision_maker")
    await page.click("nav >> text=Results")
    await expect(page.locator("h1")).to_have_text("Results")
    await check_accessibility(page, "results")
    await page.click("table.data a:text-is('Candidate')")
    await expect(page.locator("h1")).to_have_text("Results of Candidate")
    await check_accessibility(page, "an attempt's results")
    essay = page.locator("section:has(h2:text-is('Kunnskap'))")
    await expect(essay.locator(".part-result")).to_have_text("passed")
    await essay.get_by_label("not passed").check()
    await essay.get_by_label("Grounds (shown to the candidate)").fill("   ")
    await essay.locator("button:has-text('Override the result')").click()
    essay = page.locator("section:has(h2:text-is('Kunnskap'))")
    await expect(essay.locator(".error-message")).to_have_text("Give the grounds for the override.")
    await expect(essay.get_by_label("not passed")).to_be_checked()
    await check_accessibility(page, "an override refused")
    await essay.get_by_label("Grounds (shown to the candidate)").fill("Ikke tillatt hjelpemiddel.")
    await essay.locator("button:has-text('Override the result')").click()
    essay = page.locator("section:has(h2:text-is('Kunnskap'))")
    await expect(essay.locator(".success")).to_have_text("The result has been overridden.")
    await expect(essay.locator(".part-result")).to_have_text("not passed")
    await expect(essay.locator(".override")).to_contain_text("Set by Decision Maker")
    await expect(essay.locator(".override")).to_contain_text("Ikke tillatt hjelpemiddel.")
    await check_accessibility(page, "an override saved")
    await context.close()


@pytest.mark.asyncio
async def test_a_held_attempt_offers_no_decision(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    await graded_sitting(session, users)
    registration_id = await session.scalar(
        select(Registration.id).where(Registration.candidate_id == users["candidate"].id)
    )
    assert registration_id is not None
    await decide_identity(
        session, registration_id=registration_id, confirmed=False,
        grounds="Ansiktet stemmer ikke med legitimasjonen", proctor=users["proctor"],
        now=datetime.now(UTC),
    )  # fmt: skip
    await session.commit()

    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await _sign_in(page, live_server, "decision_maker")
    await page.click("nav >> text=Results")
    held_row = page.locator("table.data tr:has(a:text-is('Candidate'))")
    await expect(held_row.locator(".status-held")).to_have_text("Held: identity not confirmed")
    await expect(page.locator(".status-held")).to_have_count(1)
    await check_accessibility(page, "results with a held attempt")
    await held_row.locator("a").click()
    await expect(page.locator("h1")).to_have_text("Results of Candidate")
    await expect(page.locator("#held")).to_contain_text("Held: identity not confirmed")
    await expect(page.locator("#held")).to_contain_text("until a proctor confirms the identity")
    await expect(page.locator("button:has-text('Override the result')")).to_have_count(0)
    await expect(page.locator("#identity-outcome")).to_contain_text("Not confirmed")
    await check_accessibility(page, "a held attempt's results")
    await context.close()
