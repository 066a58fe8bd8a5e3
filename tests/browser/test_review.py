"""The proctor review in chromium: proctor A claims an attempt, confirms its flag and proposes
cheating; A is refused confirming it; proctor B (another browser) confirms it; the candidate's
My page shows the ended exam as not passed with the grounds. Another attempt's flag is dismissed
with a reason (refused without one, the error at the field). axe-core checks the review pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import Clock, FixedClock
from proctoring.models import FlagType
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from tests.exam.factories import OPENS, build_exam
from tests.proctoring.reviewing import flagged_attempt, proctors, registration_of
from vakt.accounts import User

GROUNDS = "Kandidaten leste fra en lapp under hele del 1."


@pytest.fixture
def server_clock() -> Clock | None:
    return FixedClock(OPENS + timedelta(minutes=10))


async def _sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("button[type=submit].primary")
    await expect(page.locator("h1")).to_contain_text("Welcome")


@pytest.mark.asyncio
async def test_four_eyes_cheating_and_a_dismissed_flag(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    exam = await build_exam(session, users)
    cheat = await flagged_attempt(
        session, exam.registration_id, exam.candidate,
        [(FlagType.MULTIPLE_FACES, OPENS + timedelta(minutes=2))],
    )  # fmt: skip
    other = await flagged_attempt(
        session, await registration_of(session, exam.other), exam.other,
        [(FlagType.WINDOW_UNFOCUSED, OPENS + timedelta(minutes=3))],
    )  # fmt: skip
    (second,) = await proctors(session, 1)

    context_a = await browser.new_context(locale="en-GB", bypass_csp=True)
    a = await context_a.new_page()
    await _sign_in(a, live_server, "proctor")
    await a.goto(f"{live_server}/proctor/review")
    await expect(a.locator("h1")).to_have_text("Review queue")
    await expect(a.locator("tr.queue-row")).to_have_count(2)
    # The most severe open flag first.
    await expect(a.locator("tr.queue-row").first).to_have_attribute(
        "data-attempt", str(cheat.attempt_id)
    )
    await check_accessibility(a, "review queue")
    await a.get_by_role("button", name=f"Claim the review of {exam.candidate.full_name}").click()
    await expect(a.locator("h1")).to_contain_text(f"Review of {exam.candidate.full_name}")
    await check_accessibility(a, "an attempt's review")
    flag_row = a.locator(f"#flag-{cheat.flags[0]}")
    await flag_row.get_by_role("button", name="Confirm").click()
    await expect(a.locator(f"#flag-{cheat.flags[0]}")).to_contain_text("Confirmed")
    await a.locator("#propose-grounds").fill(GROUNDS)
    await a.get_by_label("More than one face", exact=False).check()
    await a.get_by_role("button", name="Propose cheating").click()
    await expect(a.locator(".success")).to_contain_text("Cheating is proposed")
    await expect(a.locator(".notice")).to_contain_text("another proctor must confirm")
    await check_accessibility(a, "a proposal of cheating")

    context_b = await browser.new_context(locale="en-GB", bypass_csp=True)
    b = await context_b.new_page()
    await _sign_in(b, live_server, second.username, "x" * 12)
    await b.goto(f"{live_server}/proctor/review?state=four_eyes")
    await b.get_by_role("link", name=exam.candidate.full_name).click()
    await expect(b.locator(".proposal")).to_contain_text(GROUNDS)
    await b.get_by_role("button", name="Confirm cheating").click()
    await expect(b.locator(".success")).to_contain_text("Cheating is confirmed")
    await expect(b.locator("#review-outcome")).to_contain_text("Cheating confirmed by")

    # Another attempt: dismissing needs a reason; the error sits at the field.
    await b.goto(f"{live_server}/proctor/review/attempts/{other.attempt_id}")
    await b.get_by_role("button", name="Claim the review").click()
    row = b.locator(f"#flag-{other.flags[0]}")
    await row.get_by_role("button", name="Dismiss").click()
    reason = b.locator(f"#reason-{other.flags[0]}")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(b.locator(f"#flag-{other.flags[0]}-error")).to_be_visible()
    await check_accessibility(b, "a refused dismissal")
    await reason.fill("Kandidaten åpnet hjelpeteksten til eksamen")
    await b.locator(f"#flag-{other.flags[0]}").get_by_role("button", name="Dismiss").click()
    await expect(b.locator(f"#flag-{other.flags[0]}")).to_contain_text("Dismissed")
    await expect(b.locator(f"#flag-{other.flags[0]}")).to_contain_text("hjelpeteksten")
    await context_b.close()
    await context_a.close()

    context_c = await browser.new_context(locale="en-GB", bypass_csp=True)
    candidate = await context_c.new_page()
    await _sign_in(candidate, live_server, "candidate")
    await candidate.goto(f"{live_server}/my")
    result = candidate.locator(".cheating")
    await expect(result).to_contain_text("Not passed")
    await expect(result).to_contain_text(GROUNDS)
    await check_accessibility(candidate, "My page after cheating", BOTH_WIDTHS)
    await context_c.close()


@pytest.mark.asyncio
async def test_the_countdown_stands_still_while_paused(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    from exam import declarations, pauses
    from exam.checkin import accept_declaration
    from exam.models import Attempt, AttemptPart
    from tests.exam.factories import build_full_exam

    now = OPENS + timedelta(minutes=10)
    exam = await build_full_exam(session, users, opens=now - timedelta(hours=1))
    await accept_declaration(
        session, registration_id=exam.registration_id, candidate=exam.candidate,
        text_version=declarations.TEXT_VERSION, text_digest="0" * 64, language="en", now=now,
    )  # fmt: skip
    await session.commit()
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await _sign_in(page, live_server, "candidate")
    await page.goto(f"{live_server}/exam/{exam.registration_id}/take")
    await page.click("text=Start Flervalgsprøve")
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    timer = page.locator("#time-left")
    await expect(timer).to_have_text(re.compile(r"^\d\d:\d\d$"))

    part_id = await session.scalar(
        select(AttemptPart.id)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .where(Attempt.registration_id == exam.registration_id)
    )
    assert part_id is not None
    await pauses.pause_part(
        session, attempt_part_id=part_id, registration_id=exam.registration_id,
        actor=users["proctor"], grounds="Kameraet falt ned",
        now=now,
    )  # fmt: skip
    await session.commit()
    # The page learns of it from the part's clock (asked every minute, and when back online).
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(timer).to_have_text("Paused")
    await expect(timer).to_have_attribute("data-paused", "true")
    await expect(page.locator("#announcer")).to_have_text(
        "The proctor has paused your exam. The clock is stopped and your time is kept."
    )
    await check_accessibility(page, "a paused exam", BOTH_WIDTHS)
    # A reload while paused shows it at once.
    await page.reload()
    await expect(timer).to_have_text("Paused")

    await pauses.resume_part(
        session,
        attempt_part_id=part_id,
        registration_id=exam.registration_id,
        actor=users["proctor"],
        now=now,
    )
    await session.commit()
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(timer).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await expect(page.locator("#announcer")).to_have_text(
        "The exam goes on. The clock is running again."
    )
    await context.close()
