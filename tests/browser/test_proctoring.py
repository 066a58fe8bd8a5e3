"""Proctoring in Debian's chromium with a fake camera that plays a video made here from the test
photos: a candidate takes a profile photo, checks in, takes every part with the live channel and
the recording on (the oral part too), and switches tab once. Afterwards the server holds a WebM
per part that PyAV can decode, the identity score, and the flags; a video with nobody in it and
one with two people are flagged."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route, async_playwright, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import AttemptPart
from proctoring.models import Flag, IdentityVerification, LiveChannel, Recording, RecordingChunk
from proctoring.schemas import Policy
from proctoring.storage import MediaStore
from tests.browser.conftest import BOTH_WIDTHS, CHROMIUM_ARGS
from tests.browser.test_candidate_exam import check_accessibility, expect_exam_mode, expect_step
from tests.conftest import PASSWORD, shared_testdata
from tests.exam.factories import Exam, build_full_exam
from vakt.accounts import User
from vakt.db import utcnow
from vakt.settings import Settings

pytestmark = pytest.mark.browser

FAST = Policy(
    sample_interval_seconds=1,
    identity_interval_seconds=3,
    no_face_seconds=2,
    multiple_faces_seconds=1,
    media_off_seconds=3,
    chunk_seconds=1,
)
"""Thresholds short enough for a test (a scheme would use the defaults)."""
HIDE_TAB = """() => {
    Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
    Object.defineProperty(document, "hidden", { value: true, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW_TAB = """() => {
    delete document.visibilityState;
    delete document.hidden;
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10, seconds: int = 2) -> Path:
    """A raw YUV 4:2:0 video (what chromium's fake camera plays, looping) from BGR images."""
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W640 H480 F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(fps * seconds):
            frame = frames[index % len(frames)]
            handle.write(b"FRAME\n")
            handle.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def fit_640x480(image: np.ndarray) -> np.ndarray:
    """The photo scaled into a 640x480 frame on a grey background, as a webcam would show it."""
    height, width = image.shape[:2]
    scale = min(640 / width, 480 / height)
    resized = cv2.resize(image, (int(width * scale), int(height * scale)))
    frame = np.full((480, 640, 3), 128, dtype=np.uint8)
    top, left = (480 - resized.shape[0]) // 2, (640 - resized.shape[1]) // 2
    frame[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return frame


def face_video(tmp_path: Path, photo: str) -> Path:
    image = cv2.imread(str(shared_testdata("faces", photo)))
    assert image is not None
    frame = fit_640x480(image)
    # A little movement, as from a person breathing: two frames a pixel apart.
    moved = np.roll(frame, 2, axis=1)
    return write_y4m(tmp_path / f"{Path(photo).stem}.y4m", [frame, moved])


def empty_room_video(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    wall = np.full((480, 640, 3), 150, dtype=np.uint8)
    cv2.rectangle(wall, (400, 120), (560, 400), (90, 110, 140), -1)  # a door, not a person
    noisy = np.clip(wall + rng.integers(-6, 6, wall.shape), 0, 255).astype(np.uint8)
    return write_y4m(tmp_path / "empty.y4m", [wall, noisy])


@pytest_asyncio.fixture
async def camera(chromium_path: Path) -> AsyncIterator[Callable[[Path], Any]]:
    """Launches chromium whose fake camera plays the given video."""
    async with async_playwright() as playwright:
        launched: list[Browser] = []

        async def launch(video: Path) -> Browser:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium_path),
                headless=True,
                args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
            )
            launched.append(browser)
            return browser

        try:
            yield launch
        finally:
            for browser in launched:
                await browser.close()


async def _sign_in(page: Page, live_server: str, username: str = "candidate") -> None:
    await page.goto(f"{live_server}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")


async def _through_the_rules(page: Page, live_server: str, exam: Exam) -> None:
    await page.goto(f"{live_server}/exam/{exam.registration_id}/rules")
    await page.check("#conduct")
    await page.check("#declaration")
    await page.click("button.primary")


async def _check_in(page: Page) -> None:
    await expect(page.locator("h1")).to_have_text("Identity check")
    await page.click("#take-photo")
    await expect(page.locator("#photo-submit")).to_be_enabled()
    await page.click("#photo-submit")


async def _start_when_live(page: Page, part: str) -> None:
    start = page.locator("#start-part")
    await expect(start).to_be_enabled(timeout=30_000)
    await expect(page.locator("#media-status")).to_contain_text("Camera and microphone are on")
    await start.click()
    await expect(page.locator("#exam")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#part-title")).to_have_text(part)


async def _hand_in(page: Page) -> None:
    await page.click("#hand-in")
    await page.click("#hand-in-confirm")
    await expect(page.locator(".receipts code").last).to_be_visible(timeout=30_000)


async def _wait_for(
    session: AsyncSession, condition: Callable[[], Any], seconds: float = 30
) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        session.expire_all()
        result = await condition()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.5)


async def _flag_types(session: AsyncSession, exam: Exam) -> set[str]:
    rows = await session.scalars(
        select(Flag.type).where(Flag.registration_id == exam.registration_id)
    )
    return set(rows)


@pytest.mark.asyncio
async def test_recorded_and_identified_through_every_part(
    camera: Callable[[Path], Any],
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    settings: Settings,
    tmp_path: Path,
) -> None:
    exam = await build_full_exam(
        session, users, opens=utcnow() - timedelta(hours=1), proctoring=FAST
    )
    browser = await camera(face_video(tmp_path, "obama.jpg"))
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _sign_in(page, live_server)

    # The profile photo, taken with the camera.
    await page.goto(f"{live_server}/my/photo")
    await check_accessibility(page, "profile photo", BOTH_WIDTHS)
    await expect(page.locator("#photo-submit")).to_be_disabled()
    await page.click("#take-photo")
    await page.click("#photo-submit")
    await expect(page.locator(".success")).to_contain_text("Your profile photo has been saved")

    # Check-in: the live photo is compared with the profile photo and passes.
    await _through_the_rules(page, live_server, exam)
    await expect_step(page, "identity", done=("check", "rules"))
    await check_accessibility(page, "identity check", BOTH_WIDTHS)
    await _check_in(page)
    verification = await session.scalar(
        select(IdentityVerification).where(
            IdentityVerification.registration_id == exam.registration_id
        )
    )
    assert verification is not None
    assert verification.outcome == "passed", (verification.reason, verification.distance)
    assert verification.distance is not None and verification.distance < 0.6

    titles = ["Flervalgsprøve", "Kunnskapsprøve", "Analyseprøve", "Muntlig eksamen"]
    for number, title in enumerate(titles):
        if number == 0:
            await check_accessibility(page, "before a proctored part", BOTH_WIDTHS)
        await _start_when_live(page, title)
        if number == 0:
            await check_accessibility(page, "proctored exam page", BOTH_WIDTHS)
            await expect_step(page, "exam", done=("check", "rules", "identity"))
            await expect_exam_mode(page, running=True)
            # The candidate switches to another tab and back. Headless chromium keeps every tab
            # "visible" (it has no screen to hide one from), so the page is told what a desktop
            # browser would tell it; the exam page's own handler reports it to the server.
            await page.evaluate(HIDE_TAB)
            await page.wait_for_timeout(1500)
            await page.evaluate(SHOW_TAB)
        await page.wait_for_timeout(3500)  # a few chunks of recording
        await _hand_in(page)
    await expect(page.locator(".success")).to_contain_text("You have handed in every part")
    assert not errors, errors

    parts = (
        await session.execute(
            select(AttemptPart.id, AttemptPart.part_index)
            .join(Recording, Recording.attempt_part_id == AttemptPart.id)
            .order_by(AttemptPart.part_index)
        )
    ).all()
    assert len(parts) == 4
    store = MediaStore(settings.data_dir / "media")
    for part_id, part_index in parts:

        async def finished(part_id: int = part_id) -> Recording | None:
            recording = await session.scalar(
                select(Recording).where(Recording.attempt_part_id == part_id)
            )
            return recording if recording and recording.last_index is not None else None

        recording = await _wait_for(session, finished)
        assert recording is not None, f"part {part_index} has no finished recording"
        chunks = list(
            await session.scalars(
                select(RecordingChunk)
                .where(RecordingChunk.recording_id == recording.id)
                .order_by(RecordingChunk.index)
            )
        )
        assert [c.index for c in chunks] == list(range(recording.last_index + 1))
        assert recording.is_answer == (part_index == 3)
        webm = tmp_path / f"part-{part_index}.webm"
        webm.write_bytes(
            b"".join(
                store.chunk_path(recording.storage_key, c.index, c.sha256).read_bytes()
                for c in chunks
            )
        )
        with av.open(str(webm)) as container:
            assert container.format.name.startswith("matroska")
            video = container.streams.video[0]
            assert video.codec_context.name == "vp8"
            decoded = sum(1 for _ in container.decode(video))
        assert decoded >= 10, f"part {part_index}: only {decoded} frames"

    flags = await _wait_for(session, lambda: _flag_types(session, exam), seconds=5)
    assert "tab_hidden" in flags or "window_unfocused" in flags, flags
    assert "no_face" not in flags and "multiple_faces" not in flags, flags

    # A proctor reviews: the identity photos and score, the flags, and a playable recording.
    proctor = await (await browser.new_context(locale="en-GB", bypass_csp=True)).new_page()
    await _sign_in(proctor, live_server, "proctor")
    await proctor.click("nav >> text=Proctoring")
    await check_accessibility(proctor, "proctoring overview")
    await proctor.click("table tbody a")
    await expect(proctor.locator("tr[data-flag-type=tab_hidden]")).to_contain_text(
        "Exam tab hidden"
    )
    await expect(proctor.locator(".identity-check")).to_contain_text("confirmed")
    await check_accessibility(proctor, "proctor's view of a candidate")
    playable = await proctor.evaluate(
        """() => new Promise((resolve) => {
            const video = document.querySelector(".recording video");
            video.addEventListener("loadeddata", () => resolve(video.videoWidth), { once: true });
            video.addEventListener("error", () => resolve(-1), { once: true });
            video.preload = "auto";
            video.load();
        })"""
    )
    assert playable == 640

    # An administrator changes the scheme's thresholds; a bad value is refused with the reason.
    admin = await (await browser.new_context(locale="en-GB", bypass_csp=True)).new_page()
    await _sign_in(admin, live_server, "administrator")
    await admin.goto(f"{live_server}/staff/sittings")
    await admin.click("text=FULL: Mangfold")
    await check_accessibility(admin, "proctoring settings")
    await admin.fill("#no_face_seconds", "lots")
    await admin.click("button.primary")
    await expect(admin.locator("#policy-error")).to_contain_text("Flag no face after (seconds)")
    await expect(admin.locator("#no_face_seconds")).to_have_value("lots")
    await admin.fill("#no_face_seconds", "20")
    await admin.click("button.primary")
    await expect(admin.locator(".success")).to_contain_text("saved")
    await expect(admin.locator("#no_face_seconds")).to_have_value("20.0")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("video", "expected"),
    [("empty", "no_face"), ("two_people.jpg", "multiple_faces")],
)
async def test_nobody_or_two_people_on_camera_are_flagged(
    video: str,
    expected: str,
    camera: Callable[[Path], Any],
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    tmp_path: Path,
) -> None:
    exam = await build_full_exam(
        session, users, opens=utcnow() - timedelta(hours=1), proctoring=FAST
    )
    path = empty_room_video(tmp_path) if video == "empty" else face_video(tmp_path, video)
    browser = await camera(path)
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    await _sign_in(page, live_server)
    await _through_the_rules(page, live_server, exam)
    await _check_in(page)
    # Without a profile photo the check cannot pass: the candidate goes on, a proctor decides.
    await expect(page.locator(".notice")).to_contain_text("a proctor will look at the photos")
    await page.click("#identity-continue")
    await _start_when_live(page, "Flervalgsprøve")

    async def flagged() -> bool:
        return expected in await _flag_types(session, exam)

    assert await _wait_for(session, flagged, seconds=30), await _flag_types(session, exam)
    flag = await session.scalar(
        select(Flag).where(Flag.registration_id == exam.registration_id, Flag.type == expected)
    )
    assert flag is not None and flag.source == "live"
    assert flag.evidence.get("snapshot_id"), "the frame that showed it is kept as evidence"
    assert "identity_doubtful" in await _flag_types(session, exam)


CAMERA_BUSY_ONCE = """(() => {
    if (!sessionStorage.getItem("camera-busy-once")) return;
    sessionStorage.removeItem("camera-busy-once");
    const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    let refused = false;
    navigator.mediaDevices.getUserMedia = (constraints) => {
        if (refused) return real(constraints);
        refused = true;
        return Promise.reject(new DOMException("Could not start video source", "NotReadableError"));
    };
})();"""
"""A webcam often is still held by the page being left when the reloaded page asks for it; the
fake camera never is, so the reloaded page's first request is refused as a real one would be
(a test double for that one refusal only)."""


async def _live_row(session: AsyncSession, exam: Exam) -> LiveChannel | None:
    return await session.get(LiveChannel, exam.registration_id, populate_existing=True)


async def _into_the_first_part(page: Page, live_server: str, exam: Exam) -> None:
    await _sign_in(page, live_server)
    await _through_the_rules(page, live_server, exam)
    await _check_in(page)
    await page.click("#identity-continue")  # no profile photo: a proctor decides
    await _start_when_live(page, "Flervalgsprøve")
    # The part's page is a new page: it asks for the camera again, and a test that acts on the
    # camera must wait until this page has it.
    await expect(page.locator("#media-status")).to_contain_text("Camera and microphone are on")


@pytest.mark.asyncio
async def test_a_reload_during_a_part_is_no_incident(
    camera: Callable[[Path], Any],
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    tmp_path: Path,
) -> None:
    """The reloaded page finds the camera busy and the candidate tries again; its connection's
    answer comes late, so the server gets no picture or sound on it for a while. All of it is
    back within the reconnect grace: nothing is flagged."""
    policy = FAST.model_copy(update={"live_reconnect_grace_seconds": 60})
    exam = await build_full_exam(
        session, users, opens=utcnow() - timedelta(hours=1), proctoring=policy
    )
    browser = await camera(face_video(tmp_path, "obama.jpg"))
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    await context.add_init_script(CAMERA_BUSY_ONCE)
    page = await context.new_page()
    await _into_the_first_part(page, live_server, exam)

    async def receiving() -> LiveChannel | None:
        row = await _live_row(session, exam)
        return row if row and row.video_live and row.audio_live else None

    before = await _wait_for(session, receiving)
    assert before is not None, "the exam page's camera never arrived"
    old_connection = before.connection_id

    async def late_answer(route: Route) -> None:
        # A slow network: the server has answered, the browser hears it only later.
        if route.request.method != "POST":
            await route.continue_()
            return
        response = await route.fetch()
        await asyncio.sleep(2 * policy.media_off_seconds)
        await route.fulfill(response=response)

    await page.route(f"**/api/registrations/{exam.registration_id}/live", late_answer)
    await page.evaluate("() => sessionStorage.setItem('camera-busy-once', '1')")
    await page.reload()
    await expect(page.locator("#media-alert")).to_contain_text("in use by another program")
    await page.click("#media-retry")

    async def back() -> bool:
        row = await _live_row(session, exam)
        return bool(
            row
            and row.connection_id != old_connection
            and row.connection_state == "connected"
            and row.video_live
            and row.audio_live
        )

    assert await _wait_for(session, back, seconds=60), "the new page's camera never arrived"
    await expect(page.locator("#media-status")).to_contain_text("Camera and microphone are on")
    incidents = {"camera_off", "microphone_off", "live_channel_lost"}
    assert not incidents & await _flag_types(session, exam)


@pytest.mark.asyncio
async def test_a_camera_that_stays_off_is_flagged(
    camera: Callable[[Path], Any],
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    tmp_path: Path,
) -> None:
    policy = FAST.model_copy(update={"live_reconnect_grace_seconds": 2})
    exam = await build_full_exam(
        session, users, opens=utcnow() - timedelta(hours=1), proctoring=policy
    )
    browser = await camera(face_video(tmp_path, "obama.jpg"))
    page = await (await browser.new_context(locale="en-GB", bypass_csp=True)).new_page()
    await _into_the_first_part(page, live_server, exam)
    await page.evaluate(
        "() => document.getElementById('self-view').srcObject.getVideoTracks()[0].stop()"
    )

    async def camera_off() -> Flag | None:
        return await session.scalar(
            select(Flag).where(
                Flag.registration_id == exam.registration_id, Flag.type == "camera_off"
            )
        )

    flag = await _wait_for(session, camera_off, seconds=60)
    assert flag is not None, await _flag_types(session, exam)
    assert flag.ended_at is None, "the camera is still off"
    assert flag.severity == "high"
    row = await _live_row(session, exam)
    assert row is not None and not row.video_live and row.audio_live
