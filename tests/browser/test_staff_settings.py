"""The administrator's settings and queue pages in chromium: a scheme's proctoring settings,
grading rules and certification rules (saved, then refused with the error at the field and the
typed values kept), the holders' change reports (one marked handled through the page) and
recertification applications, and a sitting's grading overview and statistics. Elements are
found by their label or role, so the test also shows the labels are right; axe-core checks
every page, the error states too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from certification import holders, recertification
from exam.models import Sitting
from tests.browser.test_candidate_exam import check_accessibility
from tests.certification.factories import certify
from tests.conftest import PASSWORD
from tests.exam.factories import OPENS, Exam
from vakt.accounts import User

pytestmark = pytest.mark.browser

DECIDED = OPENS + timedelta(days=5)
CHANGE = "I have changed employer and no longer work with recruitment."
EVIDENCE = "Three years of recruitment work since the certificate was issued."


async def _administrator(browser: Browser, base: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.fill("#username", "administrator")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page.locator("h1")).to_contain_text("Welcome")
    return context, page


async def _scheme_id(session: AsyncSession, exam: Exam) -> int:
    sitting = await session.get(Sitting, exam.sitting_id)
    assert sitting is not None
    return sitting.scheme_id


@pytest.mark.asyncio
async def test_scheme_settings_save_and_refuse_at_the_field(
    browser: Browser, live_server: str, session: AsyncSession, exam: Exam
) -> None:
    scheme_id = await _scheme_id(session, exam)
    context, page = await _administrator(browser, live_server)

    # Proctoring settings: saved, shown again, then a bad value refused at its field.
    await page.goto(f"{live_server}/staff/schemes/{scheme_id}/proctoring")
    await check_accessibility(page, "proctoring settings")
    four_eyes = page.get_by_label("Four eyes")
    claim = page.get_by_label("A proctor's claim on an attempt's review lasts (minutes)")
    paste = page.get_by_label("Pasted into an answer")
    await expect(four_eyes).to_be_checked()
    await four_eyes.uncheck()
    await claim.fill("45")
    await paste.select_option(label="high")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("The settings have been saved.")
    await expect(four_eyes).not_to_be_checked()
    await expect(claim).to_have_value("45")
    await expect(paste).to_have_value("high")
    seconds = page.get_by_label("Recording piece length (seconds)")
    await seconds.fill("3")
    await claim.fill("0")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_contain_text("review lasts (minutes)")
    await expect(claim).to_have_attribute("aria-invalid", "true")
    await expect(claim).to_have_value("0")
    await expect(seconds).to_have_value("3")
    await expect(four_eyes).not_to_be_checked()
    await expect(paste).to_have_value("high")
    await expect(seconds).not_to_have_attribute("aria-invalid", "true")
    await check_accessibility(page, "proctoring settings with an error")

    # Grading rules.
    await page.goto(f"{live_server}/staff/schemes/{scheme_id}/grading")
    await check_accessibility(page, "grading rules")
    minutes = page.get_by_label("Minutes a grader has to submit a claimed script")
    tolerance = page.get_by_label("Largest difference between two marks (% of the script's points)")
    await minutes.fill("90")
    await page.get_by_role("button", name="Save the rules").click()
    await expect(page.get_by_role("status")).to_have_text("The grading rules have been saved.")
    await expect(minutes).to_have_value("90")
    await tolerance.fill("150")
    await minutes.fill("60")
    await page.get_by_role("button", name="Save the rules").click()
    await expect(page.get_by_role("alert")).to_contain_text("Largest difference")
    await expect(tolerance).to_have_attribute("aria-invalid", "true")
    await expect(tolerance).to_have_value("150")
    await expect(minutes).to_have_value("60")
    await check_accessibility(page, "grading rules with an error")

    # Certification rules.
    await page.goto(f"{live_server}/staff/schemes/{scheme_id}/certification")
    await check_accessibility(page, "certification rules")
    validity = page.get_by_label("Months a certificate is valid")
    appeal = page.get_by_label("Days to appeal after the result is sent")
    await validity.fill("24")
    await page.get_by_role("button", name="Save the rules").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The certification rules have been saved."
    )
    await expect(validity).to_have_value("24")
    await appeal.fill("0")
    await validity.fill("48")
    await page.get_by_role("button", name="Save the rules").click()
    await expect(page.get_by_role("alert")).to_contain_text("Days to appeal")
    await expect(appeal).to_have_attribute("aria-invalid", "true")
    await expect(appeal).to_have_value("0")
    await expect(validity).to_have_value("48")
    await check_accessibility(page, "certification rules with an error")
    await context.close()


@pytest.mark.asyncio
async def test_certification_queues_and_sitting_pages(
    browser: Browser,
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    exam: Exam,
) -> None:
    certificate = await certify(session, exam.registration_id, users["decision_maker"], DECIDED)
    await holders.report_change(session, holder=exam.candidate, text=CHANGE, now=DECIDED)
    await recertification.apply(
        session, holder=exam.candidate, certificate_id=certificate.id, evidence=EVIDENCE,
        today=certificate.valid_until, now=DECIDED,
    )  # fmt: skip
    await session.commit()
    context, page = await _administrator(browser, live_server)

    await page.goto(f"{live_server}/staff/certification/changes")
    await expect(page.get_by_role("row", name=CHANGE)).to_be_visible()
    await check_accessibility(page, "reported changes")
    await page.get_by_role("button", name=f"Mark handled ({exam.candidate.full_name})").click()
    await expect(page.get_by_role("status")).to_have_text("The report has been marked handled.")
    await expect(page.get_by_role("row", name=CHANGE)).to_contain_text(
        users["administrator"].full_name
    )
    await expect(page.get_by_role("button", name="Mark handled")).to_have_count(0)
    await check_accessibility(page, "reported changes, handled")

    await page.goto(f"{live_server}/staff/certification/recertifications")
    application = page.get_by_role("article", name=certificate.number)
    await expect(application).to_contain_text(EVIDENCE)
    await expect(application.get_by_label("Grounds for: Renew the certificate")).to_be_visible()
    await check_accessibility(page, "recertification applications")

    await page.goto(f"{live_server}/staff/sittings/{exam.sitting_id}/grading")
    await expect(page.locator("h1")).to_be_visible()
    await check_accessibility(page, "sitting's grading overview")
    await page.goto(f"{live_server}/staff/sittings/{exam.sitting_id}/statistics")
    await expect(page.locator("h1")).to_be_visible()
    await check_accessibility(page, "sitting's statistics")
    await context.close()
