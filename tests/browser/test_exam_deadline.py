"""The deadline in chromium with the connection lost: a candidate goes offline 90 s before a short
part ends and keeps typing until 00:00; the page then takes no more, says what is saved and what
waits, and when the connection is back 30 s later every word typed before 00:00 reaches the
server, counts, and is covered by the part's receipt.

Time is moved, not waited for: the server's clock and the page's (Playwright's) both run and
the test moves both forward by the same amount. The deadline task is run by the test (its
background loop is off) so the hand-in happens at a known moment: before the connection is back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, Route, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import handin
from exam.models import Answer, AnswerSave, Attempt, AttemptPart, SubmittedBy
from tests.conftest import PASSWORD
from tests.exam.factories import build_essay_exam
from vakt.accounts import User
from vakt.db import utcnow
from vakt.settings import Settings

pytestmark = pytest.mark.browser

ONLINE = "Mangfold er en ressurs. "
OFFLINE = ["Uten nett ", "skriver jeg ", "videre til ", "siste sekund."]


@dataclass
class MovableClock:
    """The real time, moved forward by the test: it runs as the page's clock does."""

    shift: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return utcnow() + self.shift

    def advance(self, delta: timedelta) -> None:
        self.shift += delta


@pytest.fixture
def server_clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The test hands in overdue parts itself, at the moment it chooses.
    return settings.model_copy(update={"auto_submit_interval_seconds": 0})


async def _move(page: Page, clock: MovableClock, seconds: float) -> None:
    """Move the server's clock and the page's forward by the same amount."""
    clock.advance(timedelta(seconds=seconds))
    await page.clock.fast_forward(int(seconds * 1000))


def _until(clock: MovableClock, moment: datetime) -> float:
    return (moment - clock.now()).total_seconds()


@pytest.mark.asyncio
async def test_words_typed_offline_before_the_deadline_count(
    browser: Browser,
    live_server: str,
    server_clock: MovableClock,
    session: AsyncSession,
    users: dict[str, User],
) -> None:
    exam = await build_essay_exam(
        session, users, opens=server_clock.now() - timedelta(minutes=5), minutes=2
    )
    context = await browser.new_context(locale="en-GB")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.clock.install()
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "candidate")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await page.goto(f"{live_server}/exam/{exam.registration_id}/take")
    await page.click("text=Start Kunnskapsprøve")
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#time-left")).to_have_text(re.compile(r"^(02:00|01:5\d)$"))
    deadline = await session.scalar(
        select(AttemptPart.deadline)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .where(Attempt.registration_id == exam.registration_id)
    )
    assert deadline is not None

    essay = page.locator("#item-1 textarea")
    await essay.click()
    await page.keyboard.type(ONLINE)
    await expect(page.locator("#save-state")).to_contain_text("All answers saved")

    await _move(page, server_clock, _until(server_clock, deadline - timedelta(seconds=90)))
    await expect(page.locator("#time-left")).to_have_text(re.compile(r"^01:(30|2\d)$"))
    await context.set_offline(True)
    for words in OFFLINE:
        await page.keyboard.type(words)
        await expect(page.locator("#save-state")).to_contain_text("Offline: 1 answers waiting")
        await _move(page, server_clock, 20)
    await _move(page, server_clock, _until(server_clock, deadline) + 0.5)  # 00:00

    # The time is up: nothing more is taken, and the page says what is saved and what waits.
    await expect(page.locator("#time-left")).to_have_text("00:00")
    await expect(essay).to_have_attribute("readonly", "")
    await expect(page.locator("#exam-alert")).to_contain_text("The time is up")
    await expect(page.locator("#save-state")).to_contain_text("Waiting to be sent: 1 answers")
    await page.keyboard.type(" Etter fristen.")
    await expect(essay).to_have_value(ONLINE + "".join(OFFLINE))

    # The server hands the part in at its deadline with what it had.
    await _move(page, server_clock, 10)
    assert await handin.submit_overdue_parts(session, now=server_clock.now()) == 1
    await session.commit()
    part = await session.scalar(
        select(AttemptPart)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .where(Attempt.registration_id == exam.registration_id)
    )
    assert part is not None and part.submitted_by == SubmittedBy.DEADLINE.value
    first_receipt = part.receipt_digest

    # The connection is back 30 s after the deadline.
    await _move(page, server_clock, 20)
    await context.set_offline(False)
    await expect(page.locator(".receipts code")).to_have_text(
        re.compile(r"^[0-9a-f]{64}$"), timeout=15_000
    )
    await expect(page.locator(".receipts")).to_contain_text("issued again")

    session.expunge_all()
    answer = await session.scalar(select(Answer).where(Answer.attempt_part_id == part.id))
    assert answer is not None and answer.value == ONLINE + "".join(OFFLINE)
    late = (
        await session.scalars(select(AnswerSave).where(AnswerSave.delivered_late.is_(True)))
    ).all()
    assert late and all(save.applied for save in late)
    assert all(save.changed_at is not None and save.changed_at <= part.deadline for save in late)
    reissued = await session.get(AttemptPart, part.id)
    assert reissued is not None and reissued.receipt_digest != first_receipt
    assert await handin.verify_receipt(session, part.id)
    assert await page.locator(".receipts code").inner_text() == reissued.receipt_digest
    assert not errors, errors
    await context.close()


@pytest.mark.asyncio
async def test_answers_left_on_the_computer_are_sent_after_a_reload(
    browser: Browser,
    live_server: str,
    server_clock: MovableClock,
    session: AsyncSession,
    users: dict[str, User],
) -> None:
    """The page is reloaded after the deadline while answers still wait in the browser: the
    part is handed in by then, and the page with the receipt sends them."""
    exam = await build_essay_exam(
        session, users, opens=server_clock.now() - timedelta(minutes=5), minutes=2
    )
    context = await browser.new_context(locale="en-GB")
    page = await context.new_page()
    await page.clock.install()
    await page.goto(f"{live_server}/login")
    await page.fill("#username", "candidate")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await page.goto(f"{live_server}/exam/{exam.registration_id}/take")
    await page.click("text=Start Kunnskapsprøve")
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    deadline = await session.scalar(
        select(AttemptPart.deadline)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .where(Attempt.registration_id == exam.registration_id)
    )
    assert deadline is not None

    async def unreachable(route: Route) -> None:
        await route.abort("internetdisconnected")

    await page.route("**/api/parts/*/answers/**", unreachable)
    await page.locator("#item-1 textarea").click()
    await page.keyboard.type(ONLINE)
    await expect(page.locator("#save-state")).to_contain_text("Saving")
    await _move(page, server_clock, _until(server_clock, deadline) + 10)
    await expect(page.locator("#save-state")).to_contain_text("Waiting to be sent: 1 answers")
    assert await handin.submit_overdue_parts(session, now=server_clock.now()) == 1
    await session.commit()

    await page.reload()
    await expect(page.locator("#save-state")).to_contain_text("still on this computer")
    await page.unroute("**/api/parts/*/answers/**", unreachable)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(page.locator(".receipts")).to_contain_text("issued again", timeout=15_000)
    session.expunge_all()
    answer = await session.scalar(select(Answer.value))
    assert answer == ONLINE
    await context.close()
