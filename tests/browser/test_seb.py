"""Safe Exam Browser in chromium: for a scheme that requires SEB, My page offers the
configuration, and the exam page opened in an ordinary browser explains how to start SEB instead
of the exam; staff set the requirement on the scheme's SEB page, a bad start address is refused at
its field. axe-core checks each page.

Safe Exam Browser itself cannot run here: what SEB lets through is tested over HTTP with the
headers computed as SEB computes them (tests/web/test_seb_pages.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import Clock, FixedClock
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from tests.exam.factories import OPENS, build_exam
from tests.grading.factories import scheme_of
from vakt.accounts import User

pytestmark = pytest.mark.browser


@pytest.fixture
def server_clock() -> Clock | None:
    return FixedClock(OPENS + timedelta(minutes=5))


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page).not_to_have_url(f"{base}/login")


@pytest.mark.asyncio
async def test_staff_require_seb_and_the_candidate_is_told_how_to_start_it(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    exam = await build_exam(session, users)
    scheme_id = await scheme_of(session, exam)

    staff_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    staff = await staff_context.new_page()
    await _sign_in(staff, live_server, "administrator")
    await staff.goto(f"{live_server}/staff/schemes/{scheme_id}/seb")
    await check_accessibility(staff, "the scheme's SEB settings")
    await staff.check("#required")
    await staff.fill("#start_url", "ftp://example.org/exam")
    await staff.get_by_role("button", name="Save").click()
    await expect(staff.locator("#seb-error")).to_be_visible()
    await expect(staff.locator("#start_url")).to_have_attribute("aria-invalid", "true")
    await check_accessibility(staff, "the SEB settings with an error")
    await staff.fill("#start_url", f"{live_server}/my")
    await staff.get_by_role("button", name="Save").click()
    await expect(staff.locator("#seb-error")).to_have_count(0)
    await expect(staff.locator("#required")).to_be_checked()
    await staff_context.close()

    context = await browser.new_context(locale="nb-NO", bypass_csp=True)
    page = await context.new_page()
    await _sign_in(page, live_server, exam.candidate.username)
    await page.goto(f"{live_server}/my")
    seb_section = page.locator(f"section#seb-{exam.registration_id}, section.seb").first
    await expect(seb_section.locator(f"a[href='/exam/{exam.registration_id}/seb']")).to_be_visible()
    await check_accessibility(page, "My page with the SEB configuration", BOTH_WIDTHS)
    response = await page.goto(f"{live_server}/exam/{exam.registration_id}/take")
    assert response is not None and response.status == 403
    await expect(page.locator("main")).to_contain_text("Safe Exam Browser")
    await expect(page.locator(f"a[href='/exam/{exam.registration_id}/seb']")).to_be_visible()
    await check_accessibility(page, "the exam page outside SEB", BOTH_WIDTHS)
    await context.close()
