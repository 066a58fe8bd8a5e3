"""A candidate takes a whole exam in Debian's chromium: system check, rules, every item type in
every part, the network lost while typing, a reload, and the hand-ins. Afterwards the server
holds the final text of every keystroke. axe-core checks every candidate page on the way."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, Route, ViewportSize, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Answer, AnswerSave, Attempt, AttemptPart
from tests.browser.conftest import BOTH_WIDTHS, save_screenshot
from tests.conftest import PASSWORD
from tests.exam.factories import build_full_exam
from vakt.accounts import User
from vakt.db import utcnow

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ESSAY_ONLINE = "Mangfold er en ressurs. "
ESSAY_OFFLINE = "Uten nett skriver jeg videre, og ingenting går tapt. "
ESSAY_RESTORED = "Etter omstart fortsetter teksten."


async def check_accessibility(
    page: Page, label: str, viewports: Sequence[ViewportSize] = ()
) -> None:
    """Run axe-core (from npm) in the page; fail on any serious or critical WCAG violation.

    With ``viewports`` (candidate pages: ``BOTH_WIDTHS``) the same page is resized to each, checked
    there and kept as a screenshot (a test artifact); then it gets its own size back."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is missing: .ci/run installs it with npm")
        pytest.skip("axe-core is not installed (npm ci)")
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    original = page.viewport_size
    serious: list[str] = []
    for viewport in viewports or [None]:
        if viewport is not None:
            await page.set_viewport_size(viewport)
        violations: list[dict[str, Any]] = await page.evaluate(
            """async () => {
                const result = await axe.run(document, {
                    runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
                });
                return result.violations.map((v) => ({
                    id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")),
                }));
            }"""
        )
        width = f" at {viewport['width']}x{viewport['height']}" if viewport else ""
        serious += [
            f"{v['id']} ({v['impact']}){width}: {v['nodes']}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        if viewport is not None:
            await save_screenshot(page, label)
            # WCAG 1.4.10 (reflow): on a phone too the page does not scroll sideways.
            wide: int = await page.evaluate("() => document.documentElement.scrollWidth")
            if wide > viewport["width"]:
                serious.append(f"the page is {wide} px wide{width}")
    if viewports and original is not None:
        await page.set_viewport_size(original)
    assert not serious, f"{label}: {serious}"


async def expect_step(page: Page, key: str, done: tuple[str, ...] = ()) -> None:
    """The step indicator marks ``key`` as the current step, and ``done`` as done."""
    steps = page.get_by_role("navigation", name="Steps to the exam")
    current = steps.locator("[aria-current=step]")
    await expect(current).to_have_count(1)
    await expect(current).to_have_attribute("data-step", key)
    await expect(current).to_contain_text("(current)")
    for step in done:
        await expect(steps.locator(f"[data-step={step}]")).to_contain_text("(done)")
    await expect(steps.locator(".step-done")).to_have_count(len(done))


async def expect_exam_mode(page: Page, running: bool) -> None:
    """While a part runs the header has no way out (no menu, My page, sign-out), only the
    language switch; otherwise the site's navigation is there."""
    header = page.locator("header.site-header")
    await expect(header.locator("#language-select")).to_be_visible()
    ways_out = [
        header.get_by_role("navigation", name="Main menu"),
        header.get_by_role("link", name="My page"),
        header.get_by_role("button", name="Sign out"),
        header.get_by_role("link", name="Vakt"),
    ]
    for way_out in ways_out:
        await expect(way_out).to_have_count(0 if running else 1)
    await expect(header.locator("#exam-mode-note")).to_have_count(1 if running else 0)


async def _hand_in(page: Page) -> None:
    await page.click("#hand-in")
    await expect(page.locator("#hand-in-dialog")).to_be_visible()
    await page.click("#hand-in-confirm")
    await expect(page.locator(".receipts code").last).to_have_text(re.compile(r"^[0-9a-f]{64}$"))


async def _answer(item: Locator, text: str = "Svar.") -> None:
    """Answer every question of an item, whatever its type."""
    for question in await item.locator(".question").all():
        kind = await question.get_attribute("data-type")
        if kind == "single_choice":
            await question.locator("input[type=radio]").first.check()
        elif kind == "multiple_response":
            boxes = question.locator("input[type=checkbox]")
            await boxes.nth(0).check()
            await boxes.nth(1).check()
        elif kind == "essay":
            await question.locator("textarea").fill(text)


async def _ready(page: Page) -> None:
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")


async def _all_saved(page: Page) -> None:
    await expect(page.locator("#save-state")).to_contain_text("All answers saved", timeout=10_000)


@pytest.mark.asyncio
async def test_a_candidate_takes_the_whole_exam(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    exam = await build_full_exam(session, users, opens=utcnow() - timedelta(hours=1))
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    await page.goto(f"{live_server}/login")
    await page.fill("#username", "candidate")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await page.click("nav >> text=My page")
    await expect(page.locator("h1")).to_have_text("My page")
    await check_accessibility(page, "my page", BOTH_WIDTHS)

    await page.click("text=Go to the exam")
    await expect(page.locator("h1")).to_have_text("System check")
    await expect_step(page, "check")
    await expect_exam_mode(page, running=False)
    await expect(page.locator("#check-continue")).to_be_visible(timeout=15_000)
    await check_accessibility(page, "system check", BOTH_WIDTHS)
    await page.click("#check-continue")

    await expect(page.locator("h1")).to_have_text("Code of conduct and self-declaration")
    await expect_step(page, "rules", done=("check",))
    await check_accessibility(page, "rules", BOTH_WIDTHS)
    await page.click("button.primary")
    await expect(page.locator(".error-message")).to_contain_text("Tick both boxes")
    await page.check("#conduct")
    await page.check("#declaration")
    await page.click("button.primary")

    # Part 1: single choice and multiple response; a flag; keyboard navigation.
    await expect(page.locator("h2#next-heading")).to_contain_text("Flervalgsprøve")
    # The sitting is not proctored: no identity step on the way.
    await expect_step(page, "exam", done=("check", "rules"))
    await expect_exam_mode(page, running=False)
    await check_accessibility(page, "before the first part", BOTH_WIDTHS)
    await page.click("text=Start Flervalgsprøve")
    await _ready(page)
    await expect(page.locator("#time-left")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await expect_step(page, "exam", done=("check", "rules"))
    await expect_exam_mode(page, running=True)
    await check_accessibility(page, "exam page", BOTH_WIDTHS)
    # Full screen on the candidate's click; a refusal would be no error either.
    await page.click("#fullscreen")
    await expect(page.locator("#fullscreen")).to_be_hidden()
    await page.evaluate("document.fullscreenElement && document.exitFullscreen()")
    first = page.locator("#item-1")
    await _answer(first)
    await first.locator("button.flag").click()
    await expect(first.locator("button.flag")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator(".overview-link[data-item='1']")).to_contain_text("flagged")
    await expect(
        page.get_by_role("navigation", name="Overview").get_by_role(
            "link", name=re.compile(r"^Question 1\s*answered\s*flagged$")
        )
    ).to_have_attribute("aria-current", "step")
    await expect(page.locator("#part-position")).to_have_text("Part 1 of 4")
    await first.locator("[data-go='2']").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#item-heading-2")).to_be_focused()
    await _answer(page.locator("#item-2"))
    await _all_saved(page)
    await page.reload()
    await _ready(page)
    # After a reload the page says the answers are saved (not "no changes yet").
    await _all_saved(page)
    await expect(page.locator("#item-1 input:checked").first).to_be_checked()
    await expect(page.locator("#item-1 button.flag")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator(".overview-link[data-item='1']")).to_contain_text("flagged")
    await page.click("#hand-in")
    await expect(page.locator("#hand-in-text")).to_contain_text("All questions are answered")
    await check_accessibility(page, "hand-in dialog", BOTH_WIDTHS)
    await page.click("#hand-in-cancel")
    await expect(page.locator("#hand-in-dialog")).to_be_hidden()
    await _hand_in(page)

    # Part 2: an essay, typed key by key, partly without network, then restored after a reload.
    await page.click("text=Start Kunnskapsprøve")
    await _ready(page)
    await expect(page.locator("#part-position")).to_have_text("Part 2 of 4")
    essay = page.locator("#item-1 textarea")
    await essay.click()
    await page.keyboard.type(ESSAY_ONLINE, delay=15)
    await _all_saved(page)
    await context.set_offline(True)
    await page.keyboard.type(ESSAY_OFFLINE, delay=15)
    await expect(page.locator("#save-state")).to_contain_text(
        "Offline: 1 answers waiting", timeout=10_000
    )
    await context.set_offline(False)
    await _all_saved(page)

    # The server is unreachable for saves (as in a crash): the reload restores from IndexedDB.
    async def refuse(route: Route) -> None:
        await route.abort("internetdisconnected")

    await page.route("**/api/parts/*/answers/**", refuse)
    await page.keyboard.type(ESSAY_RESTORED, delay=15)
    await page.wait_for_timeout(1500)
    await page.reload()
    await _ready(page)
    await expect(page.locator("#item-1 textarea")).to_have_value(
        ESSAY_ONLINE + ESSAY_OFFLINE + ESSAY_RESTORED
    )
    await page.unroute("**/api/parts/*/answers/**", refuse)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await _all_saved(page)
    await expect(page.locator("#item-1 .word-count")).to_contain_text("words")
    await _hand_in(page)

    # Part 3: a case with its sub-questions.
    await page.click("text=Start Analyseprøve")
    await _ready(page)
    case = page.locator("#item-1")
    await expect(case.locator(".stem")).not_to_be_empty()
    await _answer(case, "Casesvar.")
    await _all_saved(page)
    await check_accessibility(page, "case part", BOTH_WIDTHS)
    await _hand_in(page)

    # Part 4: the oral task is shown (recording belongs to proctoring).
    await page.click("text=Start Muntlig eksamen")
    await _ready(page)
    await expect(page.locator(".oral-task")).to_be_visible()
    await _hand_in(page)
    await expect(page.locator(".success")).to_contain_text("You have handed in every part")
    await expect_exam_mode(page, running=False)
    left_behind = await page.evaluate(
        """() => new Promise((resolve) => {
            const request = indexedDB.open("vakt-exam", 1);
            request.onsuccess = () => {
                const read = request.result.transaction("pending").objectStore("pending").count();
                read.onsuccess = () => resolve(read.result + window.localStorage.length);
            };
        })"""
    )
    assert left_behind == 0  # nothing of the answers stays on a possibly shared computer
    await check_accessibility(page, "finished", BOTH_WIDTHS)
    assert not errors, errors

    attempt_id = await session.scalar(
        select(Attempt.id).where(Attempt.registration_id == exam.registration_id)
    )
    essay_answers = (
        await session.scalars(
            select(Answer.value)
            .join(AttemptPart, AttemptPart.id == Answer.attempt_part_id)
            .where(AttemptPart.attempt_id == attempt_id, AttemptPart.part_key == "kunnskap")
        )
    ).all()
    assert essay_answers == [ESSAY_ONLINE + ESSAY_OFFLINE + ESSAY_RESTORED]
    saves = await session.scalar(select(func.count()).select_from(AnswerSave))
    assert saves and saves >= 5
    submitted = (
        await session.scalars(
            select(AttemptPart.receipt_digest).where(AttemptPart.attempt_id == attempt_id)
        )
    ).all()
    assert len(submitted) == 4 and all(submitted)
    await context.close()
