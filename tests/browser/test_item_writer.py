"""An item writer creates an item, previews it, submits it; a second user approves it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import schemes
from tests.browser.test_candidate_exam import check_accessibility
from tests.conftest import PASSWORD
from vakt.accounts import User

pytestmark = pytest.mark.browser


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page.locator("h1")).to_contain_text("Welcome")


async def _sign_out(page: Page) -> None:
    await page.click("form[action='/logout'] button")
    await expect(page.locator("#username")).to_be_visible()


@pytest.mark.asyncio
async def test_create_preview_submit_approve(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    await schemes.create_scheme(session, code="DM", name="Mangfoldsleder", actor_id=None)
    await session.commit()
    context = await browser.new_context(locale="en-GB")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    await _sign_in(page, live_server, "item_writer")
    await page.click("nav >> text=Item bank")
    await page.click("text=New item")
    await expect(page.locator("h1")).to_have_text("New item")
    await page.select_option("#scheme_id", label="DM – Mangfoldsleder")
    await page.fill("#external_id", "DM-UI-1")
    await page.fill("#title", "Aktivitetsplikten")
    await page.fill("#tags", "lovverk, grunnleggende")
    await page.fill("[name='q0.prompt_html']", "<p>Hvem har aktivitetsplikt?</p>")
    options = ["Alle arbeidsgivere", "Bare staten", "Ingen", "Bare kommuner"]
    for index, text in enumerate(options):
        await page.fill(f"[name='q0.c{index}.html']", text)
    await page.check("[name='q0.correct'][value='0']")
    await page.click("button[value=save]")

    await expect(page.locator(".success")).to_contain_text("Saved as version 1")
    await expect(page.locator(".status")).to_have_text("Draft")
    await expect(page.locator(".correct")).to_have_count(1)

    await page.click("text=Preview as candidate")
    await expect(page.locator(".item-title")).to_have_text("Aktivitetsplikten")
    await expect(page.locator(".item input[type=radio]")).to_have_count(4)
    content = await page.content()
    assert "correct" not in content.split('class="candidate-frame"')[1].lower()
    await page.go_back()

    await page.fill("#submit-comment", "Klar for kontroll")
    await page.click("text=Submit for review")
    await expect(page.locator(".status")).to_have_text("In review")
    await expect(page.locator("text=Approve")).to_have_count(0)
    await _sign_out(page)

    # The reviewer is a different person from the author.
    await _sign_in(page, live_server, "item_reviewer")
    await page.goto(f"{live_server}/items?status=in_review")
    await page.click("text=Aktivitetsplikten")
    await page.fill("#review-comment", "Godkjent")
    await page.click("button[value=approved]")
    await expect(page.locator(".status")).to_have_text("Approved")
    await expect(page.locator("table.data").last).to_contain_text("Godkjent")
    assert errors == []
    await context.close()


@pytest.mark.asyncio
async def test_author_sees_no_approve_button_and_bad_input_keeps_what_was_typed(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    await schemes.create_scheme(session, code="DM", name="Mangfoldsleder", actor_id=None)
    await session.commit()
    context = await browser.new_context(locale="en-GB")
    page = await context.new_page()
    await _sign_in(page, live_server, "writer_reviewer")
    await page.goto(f"{live_server}/items/new?type=essay")
    await page.select_option("#scheme_id", label="DM – Mangfoldsleder")
    await page.fill("#external_id", "9 not valid")
    await page.fill("#title", "Drøfting")
    await page.fill("[name='q0.prompt_html']", "<p>Drøft</p>")
    await page.fill("[name='q0.word_limit']", "many")
    await page.click("button[value=save]")
    summary = page.locator("#error-summary")
    await expect(summary).to_contain_text("Item id")
    await expect(summary).to_contain_text("Word limit")
    await expect(page.locator("#title")).to_have_value("Drøfting")
    await expect(page.locator("[name='q0.prompt_html']")).to_have_value("<p>Drøft</p>")

    await page.fill("#external_id", "DM-ES-9")
    await page.fill("[name='q0.word_limit']", "300")
    await page.click("button[value=save]")
    await page.click("text=Submit for review")
    await expect(page.locator(".status")).to_have_text("In review")
    await expect(page.locator("button[value=approved]")).to_have_count(0)
    await expect(page.locator(".notice")).to_contain_text("another reviewer")
    await context.close()


@pytest.mark.asyncio
async def test_case_and_oral_items_are_made_in_the_editor(
    browser: Browser, live_server: str, session: AsyncSession, users: dict[str, User]
) -> None:
    await schemes.create_scheme(session, code="DM", name="Mangfoldsleder", actor_id=None)
    await session.commit()
    # bypass_csp lets axe-core, added by the test, run in the page.
    context = await browser.new_context(locale="en-GB", bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    missing: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    await _sign_in(page, live_server, "item_writer")

    # A case: the type is chosen on the form; choosing it shows the case's fields at once.
    await page.goto(f"{live_server}/items/new")
    await page.fill("#title", "Rekruttering i kommunen")
    await page.select_option("#type", "case")
    await expect(page.locator("label[for=stem_html]")).to_have_text("Scenario")
    await expect(page.locator("#title")).to_have_value("Rekruttering i kommunen")
    # The question already on the form stays what it was, now as the case's first question.
    await expect(page.locator("[name='q0.type']")).to_have_value("single_choice")
    await page.select_option("[name='q0.type']", "essay")
    await expect(page.locator("[name='q0.word_limit']")).to_be_visible()
    await expect(page.locator("[name='q0.c0.html']")).to_have_count(0)
    await page.select_option("#scheme_id", label="DM – Mangfoldsleder")
    await page.fill("#external_id", "DM-CASE-UI")
    await page.fill("#stem_html", "<p>Kommunen vil rekruttere bredere.</p>")
    await page.fill("[name='q0.prompt_html']", "<p>Drøft tiltakene.</p>")
    await page.fill("[name='q0.points']", "4")
    await page.fill("[name='q0.g0.name']", "Analyse")
    await page.fill("[name='q0.g0.points']", "4")
    await page.click("button[value=add_question]")
    await page.select_option("[name='q1.type']", "single_choice")
    await expect(page.locator("[name='q1.c0.html']")).to_be_visible()
    await expect(page.locator("[name='q0.g0.name']")).to_have_value("Analyse")
    await check_accessibility(page, "case editor")
    await page.fill("[name='q1.prompt_html']", "<p>Hva er lovlig?</p>")
    await page.fill("[name='q1.c0.html']", "Positiv særbehandling etter loven")
    await page.fill("[name='q1.c1.html']", "Kvotering uten hjemmel")
    await page.check("[name='q1.correct'][value='0']")
    await page.click("button[value=save]")
    await expect(page.locator(".success")).to_contain_text("Saved as version 1")
    await expect(page.locator(".question-view")).to_have_count(2)
    await expect(page.locator(".correct")).to_have_count(1)

    # An oral task.
    await page.goto(f"{live_server}/items/new")
    await page.select_option("#type", "oral")
    await expect(page.locator("[name='q0.preparation_seconds']")).to_be_visible()
    await expect(page.locator("[name='q0.c0.html']")).to_have_count(0)
    await page.select_option("#scheme_id", label="DM – Mangfoldsleder")
    await page.fill("#external_id", "DM-ORAL-UI")
    await page.fill("#title", "Presentasjon")
    await page.fill("[name='q0.prompt_html']", "<p>Presenter en plan for mangfold.</p>")
    await page.fill("[name='q0.preparation_seconds']", "9999")
    await page.click("button[value=save]")
    await expect(page.locator("[id='q0.preparation_seconds-error']")).to_contain_text(
        "at most 3600"
    )
    await expect(page.locator("[name='q0.preparation_seconds']")).to_have_attribute(
        "aria-invalid", "true"
    )
    await check_accessibility(page, "editor with an error")
    await page.fill("[name='q0.preparation_seconds']", "90")
    await page.fill("[name='q0.max_duration_seconds']", "240")
    await page.fill("[name='q0.g0.name']", "Struktur")
    await page.fill("[name='q0.g0.points']", "1")
    await page.click("button[value=save]")
    await expect(page.locator(".success")).to_contain_text("Saved as version 1")
    await page.click("text=Preview as candidate")
    await expect(page.locator(".oral-task")).to_contain_text("90 seconds")

    assert errors == [] and missing == []
    await context.close()
