"""Live monitoring in Debian's chromium, two browsers: a candidate takes a proctored part with the
fake camera; the proctor's grid shows them with their newest still frame, a new flag appears
(and is announced) without a reload, a message the proctor sends shows on the candidate's page
at once and is marked read when dismissed, and the proctor watches the candidate's live video.
The proctor pauses and resumes the clock, and the candidate's countdown follows within seconds;
the proctor proposes ending the attempt for cheating, a second proctor confirms it, and the
candidate's exam page shows the ended exam by itself. axe-core checks the grid and the report."""

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
from tests.proctoring.reviewing import proctors
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
    attempt_id = attempt.id
    part = await session.scalar(
        select(AttemptPart).where(
            AttemptPart.attempt_id == attempt_id, AttemptPart.submitted_at.is_(None)
        )
    )
    assert part is not None
    await raise_flag(
        session, policy=FAST, flag_type=FlagType.SECOND_SCREEN, source=FlagSource.BROWSER,
        registration_id=exam.registration_id, attempt_id=attempt_id, attempt_part_id=part.id,
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

    # The proctor pauses the clock for an incident: the candidate's page stops its countdown
    # at once (told by the messages poll, not the clock's minute-by-minute check), and runs it
    # again when the proctor resumes.
    timer = candidate.locator("#time-left")
    await card.locator("summary", has_text="Pause the clock").click()
    await card.locator("form[data-action=pause] textarea[name=grounds]").fill("Kameraet falt ned")
    await card.locator("form[data-action=pause] button").click()
    await expect(timer).to_have_text("Paused", timeout=30_000)
    await expect(candidate.locator("#announcer")).to_have_text(
        "The proctor has paused your exam. The clock is stopped and your time is kept."
    )
    card = proctor.locator(f"#card-{exam.registration_id}")
    await card.locator("form[data-action=resume] button").click()
    await expect(timer).to_have_text(re.compile(r"^\d\d:\d\d$"), timeout=30_000)

    # From the card the proctor proposes ending the attempt for cheating; a second proctor, in
    # another browser, confirms it; the candidate's exam page shows the ended exam by itself.
    await (
        proctor.locator(f"#card-{exam.registration_id}").locator('a[data-field="cheating"]').click()
    )
    await proctor.get_by_role("button", name="Claim the review").click()
    flag_row = proctor.locator("tr[id^=flag-]").first
    await flag_row.get_by_role("button", name="Confirm").click()
    await expect(proctor.locator("tr[id^=flag-]").first).to_contain_text("Confirmed")
    await proctor.locator("#propose-grounds").fill("Kandidaten brukte en skjerm til.")
    await proctor.locator("input[name=evidence]").first.check()
    await proctor.get_by_role("button", name="Propose cheating").click()
    await expect(proctor.locator(".notice")).to_contain_text("another proctor must confirm")
    assert await candidate.locator("#time-left").is_visible()  # not yet: four eyes

    (second,) = await proctors(session, 1)
    second_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    confirmer = await second_context.new_page()
    confirmer.on("pageerror", lambda exc: errors.append(f"second proctor: {exc}"))
    await confirmer.goto(f"{live_server}/login")
    await confirmer.fill("#username", second.username)
    await confirmer.fill("#password", "x" * 12)
    await confirmer.click("button[type=submit].primary")
    await expect(confirmer.locator("h1")).to_contain_text("Welcome")
    await confirmer.goto(f"{live_server}/proctor/review/attempts/{attempt_id}")
    await confirmer.get_by_role("button", name="Confirm cheating").click()
    await expect(confirmer.locator(".success")).to_contain_text("Cheating is confirmed")
    await expect(candidate.locator(".error-message")).to_contain_text(
        "The exam staff ended your exam", timeout=30_000
    )
    await expect(candidate.locator("#time-left")).to_have_count(0)
    await second_context.close()

    await proctor.goto(f"{live_server}/proctor/sittings/{exam.sitting_id}/report")
    await expect(proctor.locator("h1")).to_contain_text("Proctoring report")
    await check_accessibility(proctor, "proctoring report")
    assert not errors, errors
