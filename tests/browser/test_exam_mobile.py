"""The whole proctored exam on a phone (390x844, touch) with chromium's fake camera: sign-in, My
page, system check, rules, identity check, every part (multiple choice, knowledge, case, oral) and
the hand-ins with their receipts. On every question the question comes first: its heading and
the start of its text are on the first screen, not pushed down by the overview, and the camera
box covers neither the overview, the question nor the hand-in button. No page scrolls sideways.
axe-core checks every page at both widths; each page is kept as a screenshot (a test artifact)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import declarations
from exam.checkin import accept_declaration
from exam.models import Attempt, AttemptPart
from itembank import blueprints, schemes
from proctoring.schemas import Policy
from tests.browser.conftest import BOTH_WIDTHS, PHONE
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from tests.exam.factories import (
    approved_item,
    build_full_exam,
    set_proctoring,
    sitting_with_candidate,
)
from tests.itembank.factories import single_choice
from vakt.accounts import User
from vakt.db import utcnow

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Awaitable[Path]]
PARTS = ["Flervalgsprøve", "Kunnskapsprøve", "Analyseprøve", "Muntlig eksamen"]
LAYOUT = Policy(sample_interval_seconds=30, identity_interval_seconds=0, chunk_seconds=30)
"""Proctored (the camera box is there, the live channel must work to start a part), with little
analysis and few uploads: this test is about the layout, and the machine is shared."""
SLOW = 90_000
"""Milliseconds to wait for what the server or the live channel takes long for under load."""
LONG_PART = 40
FIRST_LINE = 48
"""Pixels of a prompt that must be on the first screen: its first line or so."""


async def _box(locator: Locator) -> dict[str, float]:
    box = await locator.bounding_box()
    assert box is not None, f"{locator} is not laid out"
    return box


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


async def _no_sideways_scrolling(page: Page, where: str) -> None:
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{where}: the page is {widths[0]} px wide on {widths[1]} px"


async def _page_checked(page: Page, label: str) -> None:
    """axe at both widths (with a screenshot at each), and no sideways scrolling on the phone."""
    await _no_sideways_scrolling(page, label)
    await check_accessibility(page, label, BOTH_WIDTHS)


async def _question_first(page: Page, number: int, where: str) -> None:
    """Question ``number`` is on screen: at the top of the page its heading and the start of its
    text are within the first screen, and the camera box covers none of it."""
    item = page.locator(f"#item-{number}")
    await expect(item).to_be_visible()
    await page.evaluate("() => window.scrollTo(0, 0)")
    heading = await _box(page.locator(f"#item-heading-{number}"))
    text = await _box(item.locator(".case-scenario, .prompt").first)
    overview = await _box(page.locator("nav.overview"))
    assert heading["y"] + heading["height"] <= PHONE["height"], (
        f"{where}: the question's heading starts {heading['y']:.0f} px down, "
        f"below the first screen (the overview is at {overview['y']:.0f} px, "
        f"{overview['height']:.0f} px high)"
    )
    assert text["y"] + min(text["height"], FIRST_LINE) <= PHONE["height"], (
        f"{where}: the question's text starts {text['y']:.0f} px down, below the first screen"
    )
    if await page.locator("#proctoring").count():
        camera = await _box(page.locator("#proctoring"))
        covered = [overview, heading, await _box(page.locator("#hand-in"))]
        covered += [await _box(q) for q in await item.locator(".question").all()]
        for box in covered:
            assert not _overlap(camera, box), f"{where}: the camera box covers {box}"
        # Scrolled to the end, the box is still clear of everything.
        await page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        camera = await _box(page.locator("#proctoring"))
        for locator in [page.locator("nav.overview"), page.locator("#hand-in"), item]:
            assert not _overlap(camera, await _box(locator)), f"{where}: covers {locator}"
        await page.evaluate("() => window.scrollTo(0, 0)")
    await _no_sideways_scrolling(page, where)


async def _answer(item: Locator) -> None:
    """Answer what a finger can on a phone: tap a choice, type an essay (no recording here)."""
    for question in await item.locator(".question").all():
        kind = await question.get_attribute("data-type")
        if kind == "single_choice":
            await question.locator("label").first.tap()
        elif kind == "multiple_response":
            labels = question.locator(".choice label")
            await labels.nth(0).tap()
            await labels.nth(1).tap()
        elif kind == "essay":
            await question.locator("textarea").fill("Svar skrevet på mobilen.")


@pytest.mark.asyncio
async def test_the_whole_proctored_exam_on_a_phone(
    browser: Browser,
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    screenshot: Screenshot,
) -> None:
    exam = await build_full_exam(
        session, users, opens=utcnow() - timedelta(hours=1), proctoring=LAYOUT
    )
    # CSP bypassed only to let axe-core into the pages.
    context = await browser.new_context(
        locale="en-GB", viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    await page.goto(f"{live_server}/login")
    await _page_checked(page, "sign-in")
    await page.fill("#username", "candidate")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await page.goto(f"{live_server}/my")
    await expect(page.locator("h1")).to_have_text("My page")
    await _page_checked(page, "my page")

    await page.click("text=Go to the exam")
    await expect(page.locator("h1")).to_have_text("System check")
    await expect(page.locator("#check-continue")).to_be_visible(timeout=15_000)
    await _page_checked(page, "system check")
    await page.click("#check-continue")

    await expect(page.locator("h1")).to_have_text("Code of conduct and self-declaration")
    await _page_checked(page, "rules")
    await page.locator("label[for=conduct]").tap()
    await page.locator("label[for=declaration]").tap()
    await page.click("button.primary")

    await expect(page.locator("h1")).to_have_text("Identity check")
    await _page_checked(page, "identity check")
    await page.click("#take-photo")
    await expect(page.locator("#photo-submit")).to_be_enabled()
    # The photo is analysed on the server (face detection): slow on a busy machine.
    await page.click("#photo-submit", timeout=SLOW)
    # No profile photo: the candidate goes on, a proctor decides.
    await expect(page.locator(".notice")).to_contain_text("a proctor will look at the photos")
    await _page_checked(page, "identity check, done")
    await page.click("#identity-continue")

    for index, title in enumerate(PARTS):
        part = index + 1
        await expect(page.locator("h2#next-heading")).to_contain_text(title)
        start = page.locator("#start-part")
        await expect(start).to_be_enabled(timeout=SLOW)
        await expect(page.locator("#media-status")).to_contain_text(
            "Camera and microphone are on", timeout=SLOW
        )
        await _page_checked(page, f"part {part}, before")
        await start.click()
        await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
        await expect(page.locator("#part-title")).to_have_text(title)
        await expect(page.locator("#media-status")).to_contain_text(
            "Camera and microphone are on", timeout=SLOW
        )

        numbers = await page.locator(".exam-item").count()
        for number in range(1, numbers + 1):
            if number > 1:
                await page.locator(f"#item-{number - 1} [data-go='{number}']").tap()
                await expect(page.locator(f"#item-heading-{number}")).to_be_focused()
            where = f"part {part}, question {number}"
            await page.evaluate("() => window.scrollTo(0, 0)")
            await screenshot(page, where)  # first, so that a failure below has its picture
            await _question_first(page, number, where)
            await _answer(page.locator(f"#item-{number}"))
        await expect(page.locator("#save-state")).to_contain_text(
            re.compile("All answers saved|No changes yet"), timeout=10_000
        )
        await _page_checked(page, f"part {part}, answered")

        await page.click("#hand-in")
        await expect(page.locator("#hand-in-dialog")).to_be_visible()
        await _page_checked(page, f"part {part}, hand-in dialog")
        await page.click("#hand-in-confirm")
        await expect(page.locator(".receipts code")).to_have_count(part, timeout=30_000)
        await expect(page.locator(".receipts code").last).to_have_text(
            re.compile(r"^[0-9a-f]{64}$")
        )

    await expect(page.locator(".success")).to_contain_text("You have handed in every part")
    await _page_checked(page, "receipts")
    assert not errors, errors
    await context.close()

    receipts = (
        await session.scalars(
            select(AttemptPart.receipt_digest)
            .join(Attempt, Attempt.id == AttemptPart.attempt_id)
            .where(Attempt.registration_id == exam.registration_id)
        )
    ).all()
    assert len(receipts) == len(PARTS) and all(receipts)


@pytest.mark.asyncio
async def test_a_long_part_on_a_phone_still_shows_the_question_first(
    browser: Browser,
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    screenshot: Screenshot,
) -> None:
    """Forty questions: the overview is one row of tiles that scrolls sideways, not a block of
    ten rows above the question, and it shows the tile of the question on screen."""
    scheme = await schemes.create_scheme(session, code="LANG", name="Lang prøve", actor_id=None)
    await set_proctoring(session, scheme.id, None)  # not proctored: the row alone is tested
    for number in range(LONG_PART):
        await approved_item(session, users, scheme.id, single_choice(f"LANG-{number}"))
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="LANG", name="Lang prøve", language="nb",
        actor_id=None, definition=blueprints.parse_blueprint({"parts": [
            {"key": "mc", "title": "Flervalg", "kind": "multiple_choice",
             "duration_minutes": 60, "rules": [{"item_type": "single_choice", "count": LONG_PART}]},
        ]}),
    )  # fmt: skip
    _, registration = await sitting_with_candidate(
        session, users, blueprint_id=blueprint.id, scheme_id=scheme.id, name="Lang",
        opens=utcnow() - timedelta(hours=1), hours=8,
    )  # fmt: skip
    await accept_declaration(
        session, registration_id=registration.id, candidate=users["candidate"],
        text_version=declarations.TEXT_VERSION, text_digest="0" * 64, language="en",
        now=utcnow(),
    )  # fmt: skip
    await session.commit()
    context = await browser.new_context(
        locale="en-GB", viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True
    )
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "candidate")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await page.goto(f"{live_server}/exam/{registration.id}/take")
    await page.click("text=Start Flervalg")
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    await page.evaluate("() => window.scrollTo(0, 0)")
    await screenshot(page, "question 1")
    await _question_first(page, 1, "question 1 of a long part")

    # The candidate swipes along the row to the last tile and opens that question.
    row = page.locator("#overview-list")
    last = page.locator(f".overview-link[data-item='{LONG_PART}']")
    await last.scroll_into_view_if_needed()
    await last.tap()
    await expect(page.locator(f"#item-heading-{LONG_PART}")).to_be_focused()
    await _question_first(page, LONG_PART, "the last question of a long part")
    # The row scrolled back to its start, "Previous question" brings the new tile into it.
    await row.evaluate("row => { row.scrollLeft = 0; }")
    await page.locator(f"#item-{LONG_PART} [data-go='{LONG_PART - 1}']").tap()
    await expect(page.locator(f"#item-heading-{LONG_PART - 1}")).to_be_focused()
    tile, row_box = await _box(page.locator(".overview-link[aria-current]")), await _box(row)
    assert (
        row_box["x"] <= tile["x"] and tile["x"] + tile["width"] <= row_box["x"] + row_box["width"]
    )
    await _question_first(page, LONG_PART - 1, "a question near the end of a long part")
    await screenshot(page, f"question {LONG_PART - 1}")
    await _page_checked(page, "long part")
    await context.close()
