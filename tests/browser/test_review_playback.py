"""Playing a part's recording from a flag in chromium: the recording is real MediaRecorder-like
WebM (no duration, no cues) uploaded in five-second pieces, one of them lost. "Play from here"
on a flag in a later piece puts the player at the flag's moment and it plays on; the lost piece
is shown as a gap among the recording's stretches. axe-core checks the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import AttemptPart
from exam.timing import Clock, FixedClock
from proctoring.models import FlagType
from proctoring.recordings import accept_chunk, prepare_recording
from proctoring.schemas import Policy
from proctoring.storage import MediaStore
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from tests.exam.factories import OPENS, build_exam
from tests.proctoring.reviewing import flagged_attempt
from tests.proctoring.webm_sample import make_recording
from vakt.accounts import User
from vakt.settings import Settings

FLAG_AT = 22
"""Seconds into the recording: in the fifth piece (20–25 s), after the lost third (10–15 s)."""
LOST = 2


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page.locator("h1")).to_contain_text("Welcome")


@pytest.fixture
def server_clock() -> Clock | None:
    return FixedClock(OPENS + timedelta(minutes=10))


@pytest.mark.asyncio
async def test_play_from_a_flag_in_a_later_piece_across_a_gap(
    browser: Browser,
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    settings: Settings,
) -> None:
    exam = await build_exam(session, users)
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate,
        [(FlagType.WINDOW_UNFOCUSED, OPENS + timedelta(seconds=3)),
         (FlagType.MULTIPLE_FACES, OPENS + timedelta(seconds=FLAG_AT)),
         (FlagType.PASTE, OPENS + timedelta(seconds=12))],
    )  # fmt: skip
    part = await session.get(AttemptPart, flagged.part_id)
    assert part is not None
    recording = await prepare_recording(session, part=part, is_answer=False, now=OPENS)
    store = MediaStore(settings.data_dir / "media")
    pieces = make_recording(30, Policy().chunk_seconds)
    assert len(pieces) == 6
    for index, data in enumerate(pieces):
        if index != LOST:
            await accept_chunk(
                session, store, part=part, policy=Policy(), index=index, data=data,
                now=OPENS + timedelta(seconds=5 * index + 5),
            )  # fmt: skip
    await session.commit()

    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await _sign_in(page, live_server, "proctor")
    await page.goto(f"{live_server}/proctor/review/attempts/{flagged.attempt_id}")

    # The lost piece is a gap between two recorded stretches.
    stretches = page.locator(f"#recording-{recording.id} .recording-stretches li")
    await expect(stretches).to_have_count(3)
    await expect(stretches.nth(0)).to_have_class("recorded")
    await expect(stretches.nth(1)).to_have_class("gap")
    await expect(stretches.nth(1)).to_contain_text("Gap")
    await expect(stretches.nth(1)).to_contain_text("0:10–0:15")
    await expect(stretches.nth(1)).to_have_attribute("data-from", "10")
    await expect(stretches.nth(1)).to_have_attribute("data-until", "15")
    await expect(stretches.nth(2)).to_contain_text("0:15–0:30")
    # A flag raised during the lost piece says so; the others do not.
    await expect(page.locator(f"#flag-{flagged.flags[2]} .gap-note")).to_contain_text("a gap here")
    await expect(page.locator(".gap-note")).to_have_count(1)
    await check_accessibility(page, "an attempt's review with a recording")

    video = page.locator(f"#recording-{recording.id} video")
    await video.evaluate(
        """(video) => video.addEventListener("seeked",
             () => { video.dataset.seekedTo = String(video.currentTime); }, { once: true })"""
    )
    flag_row = page.locator(f"#flag-{flagged.flags[1]}")
    await flag_row.get_by_role("link", name="Play from here").click()
    await expect(page.locator(f"#playing-{recording.id}")).to_have_text(
        f"Starts {FLAG_AT} seconds into the recording."
    )
    await expect(video).to_have_attribute("data-seeked-to", re.compile(r"^\d"))
    landed = float(await video.evaluate("(video) => video.dataset.seekedTo"))
    assert abs(landed - FLAG_AT) < 1, landed
    # It plays on from there (the page was not loaded again: the script did it).
    await page.wait_for_function(
        f"""() => {{
            const video = document.querySelector("#recording-{recording.id} video");
            return !video.paused && video.currentTime > {landed + 0.5} && !video.error;
        }}"""
    )
    assert "recording=" not in page.url
    await context.close()
