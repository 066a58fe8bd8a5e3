"""Staff pages on a phone (390 x 844): Designsystemet's tables scroll inside their own box, the
forms fit, and nothing makes the whole page scroll sideways; axe-core checks every page."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from tests.exam.factories import Exam

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PAGES = {
    "administrator": [
        "/staff/sittings",
        "/staff/sittings/{sitting}",
        "/staff/sittings/{sitting}/statistics",
        "/staff/users",
        "/items",
        "/blueprints",
    ],
    "decision_maker": ["/decisions", "/results"],
    "grader": ["/grading"],
    "proctor": ["/proctor", "/proctor/sittings/{sitting}/live", "/proctor/review"],
}


@pytest.mark.asyncio
@pytest.mark.parametrize("role", list(PAGES))
async def test_staff_pages_fit_a_phone(
    browser: Browser, live_server: str, exam: Exam, role: str
) -> None:
    # bypass_csp: axe-core is injected as a script of its own.
    context = await browser.new_context(locale="en-GB", viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#username", role)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page.get_by_role("navigation", name="Main menu")).to_be_visible()
    for template in PAGES[role]:
        path = template.format(sitting=exam.sitting_id)
        response = await page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, path
        await expect(page.locator("h1")).to_be_visible()
        # The design system is loaded (a ds-button has its own minimum height, not the browser's).
        assert await page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--ds-size-12') !== ''"
        ), path
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways: {width}px wide"
        # A wide table scrolls inside its box, which the keyboard can reach.
        for box in await page.locator(".table-scroll").all():
            assert await box.get_attribute("tabindex") == "0", path
            box_width = await box.evaluate("el => el.getBoundingClientRect().right")
            assert box_width <= PHONE["width"], path
        await check_accessibility(page, f"{path} at 390 px")
    await context.close()
