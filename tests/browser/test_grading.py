"""Blind grading end to end in Debian's chromium, a browser for each person.

A candidate takes a proctored exam in the browser with the fake camera and microphone: an essay
part (typed and autosaved on the exam page) and the oral part, whose recording (uploaded in
chunks by the exam page, as in production) is the answer. To keep the test fast the sitting and
its bank are seeded with services and the photo identity check is left out of this server
(``identity_check=None``; tests/browser/test_proctoring.py covers it); everything after that is
the real pages and API. Two graders then claim the essay and the oral video: the second one
uses the keyboard only (Tab, typing, Space, Enter). The video plays and seeks (Range requests).
Their essay totals differ beyond the tolerance, so the lead grader reconciles it with grounds,
and the administrator's sitting page shows both parts' computed results. axe-core checks every
grader page on the way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grading.models import Script, ScriptKind, ScriptStatus
from itembank import blueprints, schemes, versions
from itembank.files import FileUpload
from proctoring.models import Recording
from proctoring.schemas import Policy
from tests.browser.test_candidate_exam import check_accessibility
from tests.browser.test_proctoring import _hand_in, _start_when_live, _through_the_rules, _wait_for
from tests.conftest import PASSWORD, serve
from tests.exam.factories import Exam, approved_item, set_proctoring, sitting_with_candidate
from tests.web.grading_world import ATTACHMENT, SECRETS, essay_item, grading_team
from vakt.accounts import User
from vakt.db import utcnow
from vakt.demo.seed import demo_items
from vakt.settings import Settings

pytestmark = pytest.mark.browser

POLICY = Policy(
    sample_interval_seconds=1,
    identity_interval_seconds=0,
    no_face_seconds=0,
    multiple_faces_seconds=0,
    speech_seconds=0,
    media_off_seconds=3,
    chunk_seconds=1,
)
ESSAY = "Mangfold i ledelsen gir bedre beslutninger og et tryggere arbeidsmiljø for alle."


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The application served by uvicorn, as tests/conftest.py serves it, without the photo
    identity step (see the module's docstring)."""
    from web.app import create_app

    yield from serve(create_app(settings, identity_check=None))


async def _seed(session: AsyncSession, users: dict[str, User]) -> Exam:
    """A proctored two-part exam (an essay, then the oral task) open now, the candidate with
    distinctive details registered, and three graders (the third leads the scheme)."""
    admin = users["administrator"]
    scheme = await schemes.create_scheme(session, code="SENS", name="Sensur", actor_id=None)
    await set_proctoring(session, scheme.id, POLICY)
    await approved_item(session, users, scheme.id, essay_item(), [FileUpload(*ATTACHMENT)])
    oral = next(data for data in demo_items() if data["type"] == "oral")
    await approved_item(session, users, scheme.id, versions.parse_document(oral))
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="SENS", name="Sensurprøve", language="nb",
        actor_id=None, definition=blueprints.parse_blueprint({"parts": [
            {"key": "kunnskap", "title": "Kunnskapsprøve", "kind": "knowledge",
             "duration_minutes": 60, "rules": [{"item_type": "essay", "count": 1}]},
            {"key": "muntlig", "title": "Muntlig eksamen", "kind": "oral",
             "duration_minutes": 15, "rules": [{"item_type": "oral", "count": 1}]},
        ]}),
    )  # fmt: skip
    sitting, registration = await sitting_with_candidate(
        session, users, blueprint_id=blueprint.id, scheme_id=scheme.id, name="Sensur",
        opens=utcnow() - timedelta(hours=1), hours=8,
    )  # fmt: skip
    candidate = users["candidate"]
    candidate.full_name, candidate.email = SECRETS["full_name"], SECRETS["email"]
    candidate.employer = SECRETS["employer"]
    await grading_team(session, users, scheme_id=scheme.id, now=utcnow())
    await session.commit()
    return Exam(sitting.id, registration.id, candidate, candidate, admin)


async def _page(browser: Browser, live_server: str, username: str) -> tuple[Page, list[str]]:
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{live_server}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page.locator("nav")).to_be_visible()
    return page, errors


async def _tab_to(page: Page, element_id: str) -> None:
    """Press Tab until the element has the focus (as a keyboard user moves through a page)."""
    for _ in range(80):
        if await page.evaluate("() => document.activeElement && document.activeElement.id") == (
            element_id
        ):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} never got the focus by Tab")


async def _saved(page: Page) -> None:
    await expect(page.locator("#save-state")).to_have_text(re.compile(r"^Saved \d\d:\d\d$"))


async def _video_plays_and_seeks(page: Page) -> dict[str, float]:
    return dict(
        await page.evaluate(
            """() => new Promise((resolve, reject) => {
                const video = document.getElementById("answer-video");
                const done = () => resolve({ readyState: video.readyState, currentTime: video.currentTime });
                video.addEventListener("error", () => reject(new Error("video error " + (video.error && video.error.code))), { once: true });
                const seek = () => {
                    video.addEventListener("seeked", done, { once: true });
                    video.currentTime = 1.5;
                };
                if (video.readyState >= 1) seek(); else video.addEventListener("loadedmetadata", seek, { once: true });
                video.muted = true;
                video.play().catch(() => {});
            })"""
        )
    )


@pytest.mark.asyncio
async def test_two_graders_and_a_lead_grade_a_candidates_essay_and_oral_answer_blindly(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    exam = await _seed(session, users)

    # The candidate writes the essay and answers the oral task on camera.
    candidate, candidate_errors = await _page(browser, live_server, "candidate")
    await _through_the_rules(candidate, live_server, exam)
    await _start_when_live(candidate, "Kunnskapsprøve")
    await candidate.locator("#item-1 textarea").fill(ESSAY)
    await expect(candidate.locator("#save-state")).to_contain_text(
        "All answers saved", timeout=10_000
    )
    await _hand_in(candidate)
    await _start_when_live(candidate, "Muntlig eksamen")
    # A few seconds of answer: wait until the server holds several of its one-second chunks.

    async def chunks_received() -> bool:
        recording = await session.scalar(select(Recording).where(Recording.is_answer.is_(True)))
        return recording is not None and recording.chunk_count >= 4

    assert await _wait_for(session, chunks_received)
    await _hand_in(candidate)
    assert not candidate_errors, candidate_errors

    async def answer_complete() -> bool:
        recording = await session.scalar(select(Recording).where(Recording.is_answer.is_(True)))
        scripts = list(await session.scalars(select(Script)))
        return recording is not None and recording.last_index is not None and len(scripts) == 2

    assert await _wait_for(session, answer_complete)
    scripts = {s.kind: s for s in await session.scalars(select(Script))}
    essay, oral = scripts[ScriptKind.ESSAY], scripts[ScriptKind.ORAL]

    # The first grader, with the mouse: claims the essay, then the oral answer.
    first, first_errors = await _page(browser, live_server, "grader")
    await first.click("nav >> text=Grading")
    await expect(first.locator("#waiting")).to_have_text("2 scripts are waiting for you.")
    await check_accessibility(first, "grader's home")
    await first.click("#claim-next")
    await expect(first.locator("h1")).to_contain_text(f"Script {essay.code}")
    await expect(first.locator("#answer-text")).to_have_text(ESSAY)
    await check_accessibility(first, "grading screen")
    await first.fill("#mark-0", "6")
    await first.fill("#mark-1", "4")
    await first.fill("#comment", "Presist og godt strukturert.")
    await _saved(first)
    await first.check("#confirm")
    await first.click("#submit-marks")
    await expect(first.locator("#submitted-total")).to_have_text("10 of 10")
    await first.goto(f"{live_server}/grading")
    await first.click("#claim-next")
    await expect(first.locator("h1")).to_contain_text(f"Script {oral.code}")
    state = await _video_plays_and_seeks(first)
    assert state["readyState"] >= 1 and state["currentTime"] > 0, state
    for index, mark in enumerate(("3", "2", "2")):
        await first.fill(f"#mark-{index}", mark)
    await _saved(first)
    await first.check("#confirm")
    await first.click("#submit-marks")
    await expect(first.locator("#submitted-total")).to_have_text("7 of 10")

    # The second grader, with the keyboard only.
    second, second_errors = await _page(browser, live_server, "grader_two")
    await second.goto(f"{live_server}/grading")
    await _tab_to(second, "claim-next")
    await second.keyboard.press("Enter")
    await expect(second.locator("h1")).to_contain_text(f"Script {essay.code}")
    await _tab_to(second, "mark-0")
    await second.keyboard.type("9")
    await _tab_to(second, "mark-1")
    await second.keyboard.type("1")
    await expect(second.locator("#mark-0")).to_have_attribute("aria-invalid", "true")
    await expect(second.locator("#mark-0-error")).to_have_text(
        "Criterion 1: the mark must be from 0 to 6."
    )
    await second.locator("#mark-0").focus()  # back to the refused field (Shift+Tab would do)
    await second.keyboard.press("Control+A")
    await second.keyboard.type("1")
    await _saved(second)
    await expect(second.locator("#mark-0")).not_to_have_attribute("aria-invalid", "true")
    await _tab_to(second, "comment")
    await second.keyboard.type("Lite drøfting.")
    await _tab_to(second, "confirm")
    await second.keyboard.press("Space")
    await _tab_to(second, "submit-marks")
    await second.keyboard.press("Enter")
    await expect(second.locator("#submitted-total")).to_have_text("2 of 10")
    await second.goto(f"{live_server}/grading")
    await _tab_to(second, "claim-next")
    await second.keyboard.press("Enter")
    await expect(second.locator("h1")).to_contain_text(f"Script {oral.code}")
    for index, mark in enumerate(("3", "2", "1")):
        await _tab_to(second, f"mark-{index}")
        await second.keyboard.type(mark)
    await _saved(second)
    await _tab_to(second, "confirm")
    await second.keyboard.press("Space")
    await _tab_to(second, "submit-marks")
    await second.keyboard.press("Enter")
    await expect(second.locator("#submitted-total")).to_have_text("6 of 10")
    await second.goto(f"{live_server}/grading/conflicts")
    await check_accessibility(second, "conflicts of interest")

    # 10 and 2 of 10 are further apart than the 20 % tolerance; 7 and 6 are not.
    await session.refresh(essay)
    await session.refresh(oral)
    assert essay.status == ScriptStatus.RECONCILIATION
    assert oral.status == ScriptStatus.FINAL and oral.final_points == 6.5

    lead, lead_errors = await _page(browser, live_server, "lead_grader")
    await lead.click("nav >> text=Grading")
    await lead.click(f"text=Reconcile script {essay.code}")
    await expect(lead.locator("#markings")).to_contain_text("Grader 1")
    await expect(lead.locator("#markings")).to_contain_text("Grader 2")
    await check_accessibility(lead, "reconciliation")
    await lead.fill("#final-points", "6")
    await lead.click("#reconcile-submit")
    await expect(lead.locator(".error-message")).to_contain_text("Give the grounds")
    await expect(lead.locator("#grounds")).to_have_attribute("aria-invalid", "true")
    await lead.fill("#grounds", "Drøftingen er presis, men mangler motargumenter.")
    await lead.click("#reconcile-submit")
    await expect(lead.locator("#grading-message")).to_have_text("The final mark is set.")

    for page in (first, second, lead):
        text = await page.content()
        for secret in SECRETS.values():
            assert secret not in text
    assert not first_errors and not second_errors and not lead_errors

    staff, _ = await _page(browser, live_server, "administrator")
    await staff.goto(f"{live_server}/staff/sittings/{exam.sitting_id}")
    results = staff.locator("table")
    await expect(results).to_contain_text(re.compile(r"6 of 10 points: (passed|not passed)"))
    await expect(results).to_contain_text(re.compile(r"6\.5 of 10 points: (passed|not passed)"))
