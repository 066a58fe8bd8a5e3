"""The guided oral task in Debian's chromium with the fake camera: the candidate starts the
preparation, its countdown runs, the recording starts by itself and stops by itself at the
longest answer allowed; the item counts as answered only once the server has the answer's
pieces. Afterwards the part's recording holds video frames between the answer's marks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import OralTake
from proctoring.models import Recording, RecordingChunk
from proctoring.schemas import Policy
from proctoring.storage import MediaStore
from tests.browser.test_candidate_exam import check_accessibility
from tests.browser.test_proctoring import (
    _check_in,
    _sign_in,
    _through_the_rules,
    _wait_for,
    camera,  # noqa: F401 (the fixture)
    face_video,
)
from tests.exam.factories import Exam, build_oral_exam
from vakt.accounts import User
from vakt.db import utcnow
from vakt.settings import Settings

pytestmark = pytest.mark.browser

CALM = Policy(
    chunk_seconds=1,
    media_off_seconds=60,
    sample_interval_seconds=10,
    identity_interval_seconds=0,
    live_reconnect_grace_seconds=120,
)
"""Recorded in one-second pieces (the marks fall close to a piece's edge); the camera counts as
off only after a minute, so a loaded machine's slow analysis does not hold the part back."""


# A busy computer: the recorder says it began ("start") only a while after it was started. The
# test holds that event back until it calls releaseRecorderStart(); a mark taken before it must
# still come before a later one.
LATE_RECORDER_START = """
(() => {
  const held = [];
  window.releaseRecorderStart = () => {
    window.recorderStartReleased = true;
    held.splice(0).forEach((fire) => fire());
  };
  const add = MediaRecorder.prototype.addEventListener;
  MediaRecorder.prototype.addEventListener = function (type, listener, options) {
    if (type !== "start") return add.call(this, type, listener, options);
    const late = (event) => {
      if (window.recorderStartReleased) listener.call(this, event);
      else held.push(() => listener.call(this, event));
    };
    return add.call(this, type, late, options);
  };
})();
"""


async def _into_the_oral_part(page: Page, live_server: str, exam: Exam) -> None:
    await _sign_in(page, live_server)
    await _through_the_rules(page, live_server, exam)
    await _check_in(page)
    await page.click("#identity-continue")  # no profile photo: a proctor decides
    # The part starts once the server receives picture and sound; on its page the recorder
    # runs once the camera is there again (the page is a new one).
    start = page.locator("#start-part")
    await expect(start).to_be_enabled(timeout=60_000)
    await start.click()
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#part-title")).to_have_text("Muntlig eksamen")
    await expect(page.locator("#proctoring")).to_have_attribute(
        "data-ready", "true", timeout=30_000
    )


@pytest.mark.asyncio
async def test_prepare_record_stop_at_the_maximum_and_the_answer_is_marked(
    camera: Callable[[Path], Any],  # noqa: F811
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    settings: Settings,
    tmp_path: Path,
) -> None:
    exam = await build_oral_exam(
        session, users, opens=utcnow() - timedelta(hours=1), preparation=2, longest=3,
        proctoring=CALM,
    )  # fmt: skip
    browser = await camera(face_video(tmp_path, "obama.jpg"))
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _into_the_oral_part(page, live_server, exam)

    oral = page.locator(".oral")
    phase = oral.locator(".oral-phase")
    tile = page.locator('.overview-link[data-item="1"] .tile-answer')
    await expect(phase).to_have_attribute("data-phase", "ready")
    await expect(tile).to_have_text("not answered")
    await check_accessibility(page, "oral task before the preparation")

    # The preparation: started by the candidate's button, from the keyboard.
    await oral.locator(".oral-prepare").focus()
    await page.keyboard.press("Enter")
    await expect(phase).to_have_attribute("data-phase", "preparing")
    await expect(phase).to_have_text("Preparing")
    await expect(oral.locator(".oral-clock")).to_contain_text("Preparation time left: 0:0")
    await expect(oral.locator(".oral-record")).to_have_text("Start answering now")
    await check_accessibility(page, "oral task preparing")

    # The recording starts by itself when the preparation ends.
    await expect(phase).to_have_attribute("data-phase", "recording", timeout=10_000)
    await expect(phase).to_have_text("Recording your answer")
    await expect(oral.locator(".oral-stop")).to_be_visible()
    await expect(oral.locator(".oral-clock")).to_contain_text("Answer time left: 0:0")
    await expect(tile).to_have_text("not answered")
    await check_accessibility(page, "oral task recording")

    # ... and stops by itself at the longest answer; the item counts once the server has it.
    await expect(phase).to_have_attribute("data-phase", "recorded", timeout=10_000)
    await expect(oral.locator(".oral-stop")).to_be_hidden()
    await expect(phase).to_have_text("Answer recorded and received by the server", timeout=30_000)
    await expect(oral.locator(".oral-upload-text")).to_have_text(
        "Answer recorded and received by the server"
    )
    await expect(tile).to_have_text("answered")
    await check_accessibility(page, "oral answer received")
    take = await session.scalar(select(OralTake))
    assert take is not None and take.state == "recorded" and take.take == 1
    assert take.end_ms is not None and take.end_chunk is not None and take.end_stream is not None
    assert take.end_stream == take.start_stream
    assert 0 < take.end_ms - take.start_ms <= 3000
    # No retake in this scheme: no button offers one.
    await expect(oral.locator(".oral-record")).to_be_hidden()

    await page.click("#hand-in")
    await expect(page.locator("#hand-in-text")).to_have_text("All questions are answered.")
    await page.click("#hand-in-confirm")
    await expect(page.locator(".receipts code").last).to_be_visible(timeout=30_000)
    assert not errors, errors

    async def finished() -> Recording | None:
        recording = await session.scalar(select(Recording))
        return recording if recording and recording.last_index is not None else None

    recording = await _wait_for(session, finished)
    assert recording is not None and recording.is_answer
    take = await session.scalar(select(OralTake))
    assert take is not None and take.end_ms is not None and take.end_chunk is not None
    chunks = list(
        await session.scalars(
            select(RecordingChunk)
            .where(RecordingChunk.recording_id == recording.id)
            .order_by(RecordingChunk.index)
        )
    )
    store = MediaStore(settings.data_dir / "media")
    # The WebM file the marks are in: from the piece that begins it, through the end mark.
    pieces = [c for c in chunks if take.start_stream <= c.index <= take.end_chunk]
    assert [c.index for c in pieces] == list(range(take.start_stream, take.end_chunk + 1))
    webm = tmp_path / "answer.webm"
    webm.write_bytes(
        b"".join(
            store.chunk_path(recording.storage_key, c.index, c.sha256).read_bytes() for c in pieces
        )
    )
    start, end = take.start_ms / 1000, take.end_ms / 1000
    with av.open(str(webm)) as container:
        video = container.streams.video[0]
        times = [frame.time for frame in container.decode(video) if frame.time is not None]
    between = [t for t in times if start <= t <= end]
    assert between, (start, end, times[:3], times[-3:])


@pytest.mark.asyncio
async def test_without_preparation_stopped_by_the_candidate_and_recorded_again(
    camera: Callable[[Path], Any],  # noqa: F811
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    tmp_path: Path,
) -> None:
    """No preparation time: the answer starts at once. The candidate stops it with the button;
    the scheme allows one retake, which replaces the answer; then no more."""
    exam = await build_oral_exam(
        session, users, opens=utcnow() - timedelta(hours=1), preparation=0, longest=120,
        retakes=1, proctoring=CALM,
    )  # fmt: skip
    browser = await camera(face_video(tmp_path, "obama.jpg"))
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    await context.add_init_script(LATE_RECORDER_START)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _into_the_oral_part(page, live_server, exam)
    oral = page.locator(".oral")
    phase = oral.locator(".oral-phase")
    record, stop = oral.locator(".oral-record"), oral.locator(".oral-stop")
    tile = page.locator('.overview-link[data-item="1"] .tile-answer')
    await expect(oral.locator(".oral-prepare")).to_have_count(0)
    await expect(record).to_have_text("Start answering")

    for take in (1, 2):
        await record.click()
        if take == 1:
            await page.evaluate("() => window.releaseRecorderStart()")
        # Recording begins once the recorder has closed its current piece (the page waits up
        # to 3 s for it) and the server has the start mark: more than expect's default 5 s on
        # a loaded machine, as for the first test's start.
        await expect(phase).to_have_attribute("data-phase", "recording", timeout=15_000)
        await expect(stop).to_be_focused()  # the keyboard stays on the next step
        await expect(tile).to_have_text("not answered")
        await page.keyboard.press("Enter")
        await expect(phase).to_have_text(
            "Answer recorded and received by the server", timeout=30_000
        )
        await expect(tile).to_have_text("answered")
        if take == 1:
            await expect(record).to_have_text("Record the answer again (1 left)")
    await expect(record).to_be_hidden()
    assert not errors, errors
    takes = list(await session.scalars(select(OralTake).order_by(OralTake.take)))
    assert [(t.take, t.state, t.clamped) for t in takes] == [
        (1, "recorded", False),
        (2, "recorded", False),
    ]
    assert takes[1].start_chunk > takes[0].end_chunk
