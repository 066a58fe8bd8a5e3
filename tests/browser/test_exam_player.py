"""The exam player in chromium: flags for review kept on the server (they follow the candidate
to another computer, and wait in the browser while the network is gone)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import declarations, devices
from exam.checkin import accept_declaration
from exam.models import Attempt, ItemFlag
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import _answer, check_accessibility
from tests.conftest import PASSWORD
from tests.exam.factories import Exam, build_full_exam
from vakt.accounts import User
from vakt.db import utcnow

pytestmark = pytest.mark.browser


async def _checked_in_exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    exam = await build_full_exam(session, users, opens=utcnow() - timedelta(hours=1))
    await accept_declaration(
        session, registration_id=exam.registration_id, candidate=exam.candidate,
        text_version=declarations.TEXT_VERSION, text_digest="0" * 64, language="en",
        now=utcnow(),
    )  # fmt: skip
    await session.commit()
    return exam


async def _signed_in(browser: Browser, live_server: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "candidate")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    return context, page


async def _ready(page: Page) -> None:
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")


async def _flags_on_server(session: AsyncSession) -> dict[int, bool]:
    await session.commit()  # a fresh read: the server wrote them
    rows = (await session.execute(select(ItemFlag.item_version_id, ItemFlag.flagged))).all()
    return {version: flagged for version, flagged in rows}


@pytest.mark.asyncio
async def test_a_flag_follows_the_candidate_to_another_computer(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    exam = await _checked_in_exam(session, users)
    context, page = await _signed_in(browser, live_server)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{live_server}/exam/{exam.registration_id}/take")
    await page.click("text=Start Flervalgsprøve")
    await _ready(page)
    flag = page.locator("#item-1 button.flag")
    async with page.expect_response(lambda r: "/flags/" in r.url and r.status == 200):
        await flag.click()
    await expect(flag).to_have_attribute("aria-pressed", "true")
    version = int(await page.locator("#item-1").get_attribute("data-item-version") or 0)
    assert await _flags_on_server(session) == {version: True}

    # Offline, the second item's flag waits in the browser and is sent when the network is back.
    await context.set_offline(True)
    await page.locator("#item-1 [data-go='2']").click()
    await page.locator("#item-2 button.flag").click()
    await expect(page.locator("#item-2 button.flag")).to_have_attribute("aria-pressed", "true")
    second = int(await page.locator("#item-2").get_attribute("data-item-version") or 0)
    async with page.expect_response(lambda r: f"/flags/{second}" in r.url and r.status == 200):
        await context.set_offline(False)
        await page.evaluate("window.dispatchEvent(new Event('online'))")
    assert await _flags_on_server(session) == {version: True, second: True}
    await check_accessibility(page, "exam page with flags", BOTH_WIDTHS)
    assert not errors, errors

    # The computer breaks down; the proctor lets the candidate go on on another one.
    attempt_id = await session.scalar(
        select(Attempt.id).where(Attempt.registration_id == exam.registration_id)
    )
    assert attempt_id is not None
    await devices.allow_resume(
        session, attempt_id=attempt_id, actor=users["proctor"], reason="Maskinen frøs",
        now=utcnow(),
    )  # fmt: skip
    await session.commit()
    await context.close()
    elsewhere, page = await _signed_in(browser, live_server)
    await page.goto(f"{live_server}/exam/{exam.registration_id}/take")
    await _ready(page)
    await expect(page.locator("#item-1 button.flag")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#item-2 button.flag")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator(".overview-link[data-item='1']")).to_contain_text("flagged")

    # Taking a flag away there reaches the server too.
    async with page.expect_response(lambda r: f"/flags/{version}" in r.url and r.status == 200):
        await page.locator("#item-1 button.flag").click()
    await expect(page.locator("#item-1 button.flag")).to_have_attribute("aria-pressed", "false")
    assert await _flags_on_server(session) == {version: False, second: True}
    await elsewhere.close()


@pytest.mark.asyncio
async def test_the_question_tiles_say_their_state_and_work_with_the_keyboard(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    exam = await _checked_in_exam(session, users)
    context, page = await _signed_in(browser, live_server)
    await page.goto(f"{live_server}/exam/{exam.registration_id}/take")
    await page.click("text=Start Flervalgsprøve")
    await _ready(page)
    await expect(page.locator("#part-position")).to_have_text("Part 1 of 4")
    nav = page.get_by_role("navigation", name="Overview")
    first = nav.get_by_role("link", name=re.compile(r"^Question 1\b"))
    second = nav.get_by_role("link", name=re.compile(r"^Question 2\b"))
    # The state is in the tile's words (and so in its accessible name), not in its colour.
    await expect(first).to_have_accessible_name(re.compile(r"^Question 1\s*not answered$"))
    await expect(first).to_have_attribute("aria-current", "step")
    await expect(first).to_contain_text("showing")
    await expect(second).not_to_have_attribute("aria-current", re.compile(".*"))

    await _answer(page.locator("#item-1"))
    await page.locator("#item-1 button.flag").click()
    await expect(first).to_have_accessible_name(re.compile(r"^Question 1\s*answered\s*flagged$"))
    await expect(first).to_contain_text("flagged")

    # Keyboard: arrows move between the tiles, Enter opens the question and focuses its heading.
    await first.focus()
    await page.keyboard.press("ArrowRight")
    await expect(second).to_be_focused()
    await page.keyboard.press("Home")
    await expect(first).to_be_focused()
    await page.keyboard.press("End")
    await expect(second).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#item-heading-2")).to_be_focused()
    await expect(second).to_have_attribute("aria-current", "step")
    await expect(first).not_to_have_attribute("aria-current", re.compile(".*"))
    await expect(page.locator("#item-1")).to_be_hidden()
    await _answer(page.locator("#item-2"))
    await expect(second).to_have_accessible_name(re.compile(r"^Question 2\s*answered$"))
    await check_accessibility(page, "question tiles", BOTH_WIDTHS)

    # The server refuses the flag (here: as while the proctor has paused the part): the page
    # says so and shows the flag as it was.
    async def refuse(route: Route) -> None:
        await route.fulfill(
            status=409,
            content_type="application/json",
            body='{"error": {"code": "conflict", "message": "The exam is paused."}}',
        )

    await page.route("**/api/parts/*/flags/**", refuse)
    flag = page.locator("#item-2 button.flag")
    await flag.click()
    await expect(page.locator("#exam-alert")).to_have_text(
        "A flag for review was not saved: The exam is paused."
    )
    await expect(flag).to_have_attribute("aria-pressed", "false")
    await expect(second).to_have_accessible_name(re.compile(r"^Question 2\s*answered$"))

    # A newer change made on another computer wins: the page shows the server's flag.
    async def newer_elsewhere(route: Route) -> None:
        await route.fulfill(
            status=200,
            content_type="application/json",
            body='{"applied": false, "flagged": false, "sequence": 9999999999999}',
        )

    await page.unroute("**/api/parts/*/flags/**", refuse)
    await page.route("**/api/parts/*/flags/**", newer_elsewhere)
    await flag.click()
    await expect(flag).to_have_attribute("aria-pressed", "false")
    await context.close()
