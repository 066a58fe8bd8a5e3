"""The exam page's layout in chromium at a desktop (1280x800) and a phone (390x844) size: a case
stays in view beside its sub-questions, the camera box never covers the overview or a question,
and the body's name, logo and colour are in the header. axe-core checks the pages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from proctoring.schemas import Policy
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from tests.exam.factories import Exam, build_full_exam
from vakt.accounts import User
from vakt.db import utcnow
from vakt.settings import Settings

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
BODY = "Sertifiseringsorganet AS"
COLOUR = "#1a5e9a"
COLOUR_RGB = "rgb(26, 94, 154)"
LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
    b'<rect width="40" height="40" fill="#1a5e9a"/></svg>'
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The test settings with the body's name, logo and main colour."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "logo.svg").write_bytes(LOGO)
    return Settings(
        database_url=database_url,
        data_dir=data,
        secret_key="test-secret-key-" + "x" * 32,
        body_name=BODY,
        body_logo=Path("logo.svg"),
        body_colour=COLOUR,
        _env_file=None,  # type: ignore[call-arg]
    )


async def _sign_in(page: Page, live_server: str) -> None:
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "candidate")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")


async def _through_the_rules(page: Page, live_server: str, exam: Exam) -> None:
    await page.goto(f"{live_server}/exam/{exam.registration_id}/rules")
    await page.check("#conduct")
    await page.check("#declaration")
    await page.click("button.primary")


async def _start(page: Page, part: str) -> None:
    await page.click(f"text=Start {part}")
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#part-title")).to_have_text(part)


async def _hand_in(page: Page) -> None:
    await page.click("#hand-in")
    await page.click("#hand-in-confirm")
    await expect(page.locator(".receipts code").last).to_be_visible(timeout=30_000)


async def _box(locator: Locator) -> dict[str, float]:
    box = await locator.bounding_box()
    assert box is not None, f"{locator} is not laid out"
    return box


def _in_viewport(box: dict[str, float], viewport: dict[str, int]) -> bool:
    return (
        box["y"] < viewport["height"]
        and box["y"] + box["height"] > 0
        and box["x"] < viewport["width"]
        and box["x"] + box["width"] > 0
    )


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.asyncio
async def test_a_case_stays_beside_its_questions_on_a_wide_screen(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    exam = await build_full_exam(session, users, opens=utcnow() - timedelta(hours=1))
    context = await browser.new_context(locale="en-GB", viewport=DESKTOP, bypass_csp=True)
    page = await context.new_page()
    await _sign_in(page, live_server)
    await _through_the_rules(page, live_server, exam)
    await _start(page, "Flervalgsprøve")
    await _hand_in(page)
    await _start(page, "Kunnskapsprøve")
    await _hand_in(page)
    await _start(page, "Analyseprøve")

    case = page.locator("#item-1 .item-case")
    scenario = case.locator(".case-scenario")
    questions = case.locator(".case-questions > .question")
    assert await questions.count() > 1
    await expect(scenario).not_to_be_empty()
    # Beside: the scenario's column is left of the sub-questions', side by side.
    scenario_box, first_box = await _box(scenario), await _box(questions.first)
    assert scenario_box["x"] + scenario_box["width"] <= first_box["x"]
    # Answering the last sub-question, the candidate still sees the case.
    last = questions.last
    await last.scroll_into_view_if_needed()
    assert _in_viewport(await _box(last), DESKTOP)
    assert _in_viewport(await _box(scenario), DESKTOP)
    # The scenario scrolls on its own, by keyboard too: it is focusable and named.
    await expect(scenario).to_have_attribute("tabindex", "0")
    await expect(page.get_by_role("region", name="Case:", exact=False)).to_have_count(1)
    await check_accessibility(page, "case part, wide")

    # On a phone the case comes first and the sub-questions under it.
    await page.set_viewport_size(PHONE)
    scenario_box, first_box = await _box(scenario), await _box(questions.first)
    assert scenario_box["y"] + scenario_box["height"] <= first_box["y"]
    assert scenario_box["height"] <= PHONE["height"] / 2 + 1
    await check_accessibility(page, "case part, narrow")


@pytest.mark.asyncio
async def test_on_a_phone_the_camera_box_covers_neither_overview_nor_question(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    exam = await build_full_exam(
        session, users, opens=utcnow() - timedelta(hours=1), proctoring=Policy()
    )
    context = await browser.new_context(locale="en-GB", viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    await _sign_in(page, live_server)
    await _through_the_rules(page, live_server, exam)
    await expect(page.locator("h1")).to_have_text("Identity check")
    await page.click("#take-photo")
    await expect(page.locator("#photo-submit")).to_be_enabled()
    await page.click("#photo-submit")
    await page.click("#identity-continue")
    start = page.locator("#start-part")
    await expect(start).to_be_enabled(timeout=30_000)
    await start.click()
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")

    camera = page.locator("#proctoring")
    await expect(camera.locator("video")).to_be_visible()
    overview = page.locator("nav.overview")
    for number in (1, 2):
        if number > 1:
            await page.click(f"#item-{number - 1} [data-go='{number}']")
        question = page.locator(f"#item-{number}")
        await expect(question).to_be_visible()
        await question.scroll_into_view_if_needed()
        camera_box = await _box(camera)
        assert not _overlap(camera_box, await _box(overview))
        assert not _overlap(camera_box, await _box(question))
        for part in await question.locator(".question").all():
            assert not _overlap(camera_box, await _box(part))
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert not _overlap(await _box(camera), await _box(page.locator("#hand-in")))
    await check_accessibility(page, "proctored exam page, phone", BOTH_WIDTHS)


@pytest.mark.asyncio
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_the_body_name_logo_and_colour_are_in_the_header(
    browser: Browser, live_server: str, viewport: dict[str, int]
) -> None:
    # The real CSP: the colour arrives as a style sheet from the site itself.
    context = await browser.new_context(locale="en-GB", viewport=viewport)
    page = await context.new_page()
    for path in ("/login", "/verify"):
        await page.goto(f"{live_server}{path}")
        header = page.locator("header.site-header")
        await expect(header.locator(".brand")).to_have_text(BODY)
        logo = header.locator("img.brand-logo")
        await expect(logo).to_be_visible()
        assert await logo.evaluate("img => img.complete && img.naturalWidth > 0")
        background = await header.evaluate("el => getComputedStyle(el).backgroundColor")
        assert background == COLOUR_RGB
        primary = page.locator("button.primary").first
        assert await primary.evaluate("el => getComputedStyle(el).backgroundColor") == COLOUR_RGB
