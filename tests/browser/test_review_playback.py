"""Playing a part's recording from a flag in chromium. The recordings are real MediaRecorder-like
WebM (VP8 and Opus, no duration, no cues) uploaded in five-second pieces. "Play from here" on a
flag in a later piece puts the player at the flag's moment and it plays on: across a lost piece
(shown as a gap among the recording's stretches), and after the candidate's recorder started
again (a second WebM file, with a player of its own). axe-core checks the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Locator, Page, expect
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
from tests.proctoring.reviewing import Flagged, flagged_attempt
from tests.proctoring.webm_sample import make_recording
from vakt.accounts import User
from vakt.settings import Settings

FLAG_AT = 22
"""Seconds into the recording: in the fifth piece (20–25 s)."""
FLAGS = [
    (FlagType.WINDOW_UNFOCUSED, OPENS + timedelta(seconds=3)),
    (FlagType.MULTIPLE_FACES, OPENS + timedelta(seconds=FLAG_AT)),
    (FlagType.PASTE, OPENS + timedelta(seconds=12)),
]


@pytest.fixture
def server_clock() -> Clock | None:
    return FixedClock(OPENS + timedelta(minutes=10))


async def _recorded(
    session: AsyncSession, users: dict[str, User], settings: Settings, pieces: dict[int, bytes]
) -> tuple[Flagged, int]:
    """A flagged attempt whose first part's recording holds these pieces: (attempt, recording
    id)."""
    exam = await build_exam(session, users)
    flagged = await flagged_attempt(session, exam.registration_id, exam.candidate, FLAGS)
    part = await session.get(AttemptPart, flagged.part_id)
    assert part is not None
    recording = await prepare_recording(session, part=part, is_answer=False, now=OPENS)
    store = MediaStore(settings.data_dir / "media")
    for index, data in pieces.items():
        await accept_chunk(
            session, store, part=part, policy=Policy(), index=index, data=data,
            now=OPENS + timedelta(seconds=5 * index + 5),
        )  # fmt: skip
    await session.commit()
    return flagged, recording.id


async def _review(browser: Browser, base: str, attempt_id: int) -> Page:
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.fill("#username", "proctor")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page.locator("h1")).to_contain_text("Welcome")
    await page.goto(f"{base}/proctor/review/attempts/{attempt_id}")
    return page


async def _play_from(
    page: Page, flag_id: int, video: Locator, expected: float, at: int = FLAG_AT
) -> None:
    """Click the flag's "Play from here" (``at`` seconds into the recording): the player lands
    within a second of ``expected`` and plays on, on this page (not loaded again)."""
    await video.evaluate(
        """(video) => video.addEventListener("seeked",
             () => { video.dataset.seekedTo = String(video.currentTime); }, { once: true })"""
    )
    await page.locator(f"#flag-{flag_id}").get_by_role("link", name="Play from here").click()
    video_id = await video.get_attribute("id")
    await expect(page.locator(f"#playing-{video_id}")).to_have_text(
        f"Starts {at} seconds into the recording."
    )
    await expect(video).to_have_attribute("data-seeked-to", re.compile(r"^\d"))
    landed = float(await video.evaluate("(video) => video.dataset.seekedTo"))
    assert abs(landed - expected) < 1, landed
    await page.wait_for_function(
        """([id, landed]) => {
            const video = document.getElementById(id);
            return !video.paused && video.currentTime > landed + 0.5 && !video.error;
        }""",
        arg=[video_id, landed],
    )
    assert "recording=" not in page.url


@pytest.mark.asyncio
async def test_play_from_a_flag_in_a_later_piece_across_a_gap(
    browser: Browser,
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    settings: Settings,
) -> None:
    pieces = make_recording(30, Policy().chunk_seconds)
    assert len(pieces) == 6
    lost = 2  # 10–15 s
    flagged, recording_id = await _recorded(
        session, users, settings, {i: data for i, data in enumerate(pieces) if i != lost}
    )
    page = await _review(browser, live_server, flagged.attempt_id)

    # The lost piece is a gap between two recorded stretches.
    stretches = page.locator(f"#recording-{recording_id} .recording-stretches li")
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

    videos = page.locator(f"#recording-{recording_id} video")
    await expect(videos).to_have_count(1)
    await _play_from(page, flagged.flags[1], videos.first, FLAG_AT)
    await page.context.close()


@pytest.mark.asyncio
async def test_play_from_a_flag_after_the_recorder_started_again(
    browser: Browser,
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    settings: Settings,
) -> None:
    # Pieces 0–2 are one WebM file; the recorder then started again: pieces 3–5 are another,
    # whose own time begins at 0 (a browser would play the first file only, were they one).
    before = make_recording(15, Policy().chunk_seconds)
    after = make_recording(15, Policy().chunk_seconds)
    assert len(before) == len(after) == 3
    flagged, recording_id = await _recorded(
        session, users, settings, dict(enumerate(before + after))
    )
    page = await _review(browser, live_server, flagged.attempt_id)
    videos = page.locator(f"#recording-{recording_id} video")
    await expect(videos).to_have_count(2)
    await expect(page.locator(f"#recording-{recording_id} .restart")).to_contain_text("0:15")
    await expect(page.locator(f"#recording-{recording_id} .recording-stretches li")).to_have_count(
        1
    )
    await check_accessibility(page, "a recording in two files")
    # The flag 22 s into the recording is 7 s into the second file.
    await _play_from(page, flagged.flags[1], videos.nth(1), FLAG_AT - 15)
    # One from the first file plays in the first player (and the other stops).
    await _play_from(page, flagged.flags[0], videos.first, 3, at=3)
    await expect(videos.nth(1)).to_have_js_property("paused", True)
    await page.context.close()
