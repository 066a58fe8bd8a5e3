"""The candidate's appeal in chromium: My page shows the deadline and the form, a too short
appeal (with a file chosen) comes back with the error at the field, the text kept and the
request to choose the file again, a valid one with a PDF attached is registered with its number
and lists the file. axe-core checks My page, the form with its error and the appeal's page."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from certification import decisions
from certification.independence import NO_PARTICIPANTS
from certification.schemas import DecisionOutcome
from exam.timing import Clock, FixedClock
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from tests.certification.factories import DECIDED_AT, ToldReviews, ready_for_decision
from tests.conftest import PASSWORD
from vakt.accounts import User

GROUNDS = "Essayet ble vurdert etter feil kriterier."
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def server_clock() -> Clock | None:
    return FixedClock(DECIDED_AT)


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page.locator("h1")).to_contain_text("Welcome")


@pytest.mark.asyncio
async def test_the_candidate_appeals_from_my_page(
    browser: Browser,
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    tmp_path: Path,
) -> None:
    evidence = tmp_path / "sensurvedtak.pdf"
    evidence.write_bytes(PDF)
    ready = await ready_for_decision(session, users)
    await decisions.decide(
        session, registration_id=ready.passed, outcome=DecisionOutcome.REFUSED,
        grounds="Refused for the test.", decider=users["decision_maker"], now=DECIDED_AT,
        reviews=ToldReviews(), participants=NO_PARTICIPANTS, timezone="Europe/Oslo",
    )  # fmt: skip
    await session.commit()
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await _sign_in(page, live_server, "candidate")
    await page.goto(f"{live_server}/my")
    await page.get_by_text("Appeal against this result").click()
    hint = page.locator(f"#appeal-hint-{ready.passed}")
    await expect(hint).to_contain_text("You can appeal until and including")
    await check_accessibility(page, "My page with the appeal form", BOTH_WIDTHS)
    await page.fill(f"#appeal-grounds-{ready.passed}", "Too short")
    await page.set_input_files(f"#appeal-attachments-{ready.passed}", str(evidence))
    await page.get_by_role("button", name="File the appeal").click()
    await expect(page.locator("#appeal-error")).to_contain_text("at least 10 characters")
    await expect(page.locator("#appeal-error")).to_contain_text("Choose the files to attach")
    await expect(page.locator("#appeal-grounds")).to_have_value("Too short")
    await expect(page.locator("#appeal-grounds")).to_have_attribute("aria-invalid", "true")
    await check_accessibility(page, "the appeal form with an error", BOTH_WIDTHS)
    await page.fill("#appeal-grounds", GROUNDS)
    await page.set_input_files("#appeal-attachments", str(evidence))
    await page.get_by_role("button", name="File the appeal").click()
    await expect(page.locator("h1")).to_have_text(re.compile(r"^Appeal K-\d{4}-0001$"))
    await expect(page.locator("[role=status]")).to_contain_text("registered as K-")
    attached = page.locator("ul.attachments a")
    await expect(attached).to_have_text("sensurvedtak.pdf")
    async with page.expect_download() as downloading:
        await attached.click()
    download = await downloading.value
    assert download.suggested_filename == "sensurvedtak.pdf"
    saved = Path(await download.path())
    assert await asyncio.to_thread(saved.read_bytes) == PDF
    await check_accessibility(page, "the candidate's appeal", BOTH_WIDTHS)
    await context.close()
