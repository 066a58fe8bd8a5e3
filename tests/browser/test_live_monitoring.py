"""Live monitoring in Debian's chromium, two browsers: a candidate takes a proctored part with the
fake camera; the proctor's grid shows them with their newest still frame, a new flag appears
(and is announced) without a reload, a message the proctor sends shows on the candidate's page
at once and is marked read when dismissed, and the proctor watches the candidate's live video.
axe-core checks the grid and the report."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart
from proctoring.flags import raise_flag
from proctoring.models import FlagSource, FlagType, ProctorMessage
from tests.browser.test_candidate_exam import check_accessibility
from tests.browser.test_proctoring import (
    FAST,
    _check_in,
    _sign_in,
    _start_when_live,
    _through_the_rules,
    _wait_for,
    camera,  # noqa: F401 - the fixture
    face_video,
)
from tests.exam.factories import build_full_exam
from vakt.accounts import User
from vakt.db import utcnow

pytestmark = pytest.mark.browser


@pytest.mark.asyncio
async def test_a_proctor_watches_flags_and_writes_to_a_live_candidate(
    camera: Callable[[Path], Any],  # noqa: F811
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    tmp_path: Path,
) -> None:
    exam = await build_full_exam(
        session, users, opens=utcnow() - timedelta(hours=1), proctoring=FAST
    )
    browser = await camera(face_video(tmp_path, "obama.jpg"))
    candidate_context = await browser.new_context(locale="en-GB")
    candidate = await candidate_context.new_page()
    errors: list[str] = []
    candidate.on("pageerror", lambda exc: errors.append(f"candidate: {exc}"))
    await _sign_in(candidate, live_server)
    await candidate.goto(f"{live_server}/my/photo")
    await candidate.click("#take-photo")
    await candidate.click("#photo-submit")
    await expect(candidate.locator(".success")).to_be_visible()
    await _through_the_rules(candidate, live_server, exam)
    await _check_in(candidate)
    await _start_when_live(candidate, "Flervalgsprøve")

    proctor_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    proctor = await proctor_context.new_page()
    proctor.on("pageerror", lambda exc: errors.append(f"proctor: {exc}"))
    await _sign_in(proctor, live_server, "proctor")
    grid_url = f"{live_server}/proctor/sittings/{exam.sitting_id}/live"
    await proctor.goto(grid_url)
    card = proctor.locator(f"#card-{exam.registration_id}")
    await expect(card).to_be_visible()
    await expect(card.locator('[data-field="connection"]')).to_have_text(
        "connected", timeout=30_000
    )
    # The newest still frame arrives over the stream (a frame is kept every few seconds).
    await expect(card.locator('img[data-field="frame"]')).to_be_visible(timeout=30_000)
    loaded = await card.locator('img[data-field="frame"]').evaluate(
        "(img) => img.complete && img.naturalWidth > 0"
    )
    assert loaded
    await check_accessibility(proctor, "live grid")

    # A new flag appears without a reload, and is announced politely.
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == exam.registration_id)
    )
    assert attempt is not None
    part = await session.scalar(
        select(AttemptPart).where(
            AttemptPart.attempt_id == attempt.id, AttemptPart.submitted_at.is_(None)
        )
    )
    assert part is not None
    await raise_flag(
        session, policy=FAST, flag_type=FlagType.SECOND_SCREEN, source=FlagSource.BROWSER,
        registration_id=exam.registration_id, attempt_id=attempt.id, attempt_part_id=part.id,
        started_at=utcnow(),
    )  # fmt: skip
    await session.commit()
    await expect(proctor.locator("#live-announcer")).to_contain_text("New flag for", timeout=30_000)
    await expect(card.locator('[data-field="flags"]')).to_contain_text(re.compile("high", re.I))

    # The proctor writes; the candidate's page shows it at once and marks it read on dismissal.
    await card.locator("summary", has_text="Write to the candidate").click()
    await card.locator("textarea[name=text]").fill("Turn the camera towards you, please.")
    await card.locator("form[data-action=message] button").click()
    await expect(proctor.locator(".notice")).to_have_text("Message sent.")
    alert = candidate.locator("#proctor-message-list")
    await expect(alert).to_have_text("Turn the camera towards you, please.", timeout=30_000)
    await expect(alert).to_have_attribute("role", "alert")
    await candidate.click("#proctor-messages-read")
    await expect(alert).to_be_empty()

    async def read() -> bool:
        message = await session.scalar(select(ProctorMessage))
        return message is not None and message.read_at is not None

    assert await _wait_for(session, read)

    # The proctor watches the candidate's live video, relayed by the server.
    card = proctor.locator(f"#card-{exam.registration_id}")
    await card.locator('button[data-field="watch"]').click()
    video = card.locator('video[data-field="video"]')
    await expect(video).to_be_visible(timeout=30_000)
    await proctor.wait_for_function(
        """(selector) => { const v = document.querySelector(selector); return v && v.videoWidth > 0; }""",
        arg=f'#card-{exam.registration_id} video[data-field="video"]',
        timeout=30_000,
    )
    await expect(card.locator('button[data-field="watch"]')).to_have_attribute(
        "aria-pressed", "true"
    )

    await proctor.goto(f"{live_server}/proctor/sittings/{exam.sitting_id}/report")
    await expect(proctor.locator("h1")).to_contain_text("Proctoring report")
    await check_accessibility(proctor, "proctoring report")
    assert not errors, errors
