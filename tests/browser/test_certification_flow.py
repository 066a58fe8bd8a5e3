"""Certification end to end in chromium, after grading: the decision maker certifies the
candidate; the candidate gets the e-mail (through a real SMTP server, aiosmtpd), sees "Bestått"
on My page and downloads the certificate's PDF; the QR code in the PDF (decoded with OpenCV)
opens the public verification page, which says valid; staff suspend the certificate and the page
says suspended; on day 20 after the decision the candidate's appeal is accepted, the appeal
handler has the essay graded again, and a grader who has not seen it gets it without the earlier
marks. axe-core checks every candidate and public page on the way."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import Clock, FixedClock
from grading import graders
from grading.models import Script
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from tests.browser.test_certificates import _qr_text
from tests.certification.factories import DECIDED_AT, ready_for_decision
from tests.certification.test_pages import confirmed_identities
from tests.conftest import PASSWORD, free_port
from vakt.accounts import Role, User, create_user
from vakt.settings import Settings

pytestmark = pytest.mark.browser
ADDRESS = "kandidat@example.org"
APPEAL = "Essayet ble vurdert etter feil kriterier, og poengene er for lave."


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it is sent and tells who waits for it."""

    received: list[EmailMessage] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        self.arrived.set()
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free port."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def server_clock(settings: Settings, mailbox: tuple[Mailbox, int]) -> Clock | None:
    """The served app at the decision's moment, mailing through the test's SMTP server (set
    here because the server is started from these settings)."""
    settings.smtp_host, settings.smtp_port, settings.smtp_tls = "127.0.0.1", mailbox[1], "none"
    settings.mail_from = "Vakt <vakt@example.org>"
    settings.mail_interval_seconds = 0.2
    return FixedClock(DECIDED_AT)


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page).not_to_have_url(f"{base}/login")


@pytest.mark.asyncio
async def test_certify_mail_verify_suspend_appeal_and_regrade_blindly(
    browser: Browser,
    settings: Settings,
    server_clock: FixedClock,
    live_server: str,
    mailbox: tuple[Mailbox, int],
    session: AsyncSession,
    users: dict[str, User],
    tmp_path: Path,
) -> None:
    ready = await ready_for_decision(session, users)
    await confirmed_identities(session, ready, users["proctor"])
    candidate = ready.built.candidates[0]
    candidate.email, candidate.language = ADDRESS, "nb"
    earlier_codes = set(await session.scalars(select(Script.code)))
    await session.commit()
    settings.public_url = live_server  # the QR code points at the test server

    # The decision maker certifies.
    staff_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    decider = await staff_context.new_page()
    await _sign_in(decider, live_server, "decision_maker")
    await decider.goto(f"{live_server}/decisions")
    await decider.get_by_role("link", name=candidate.full_name).click()
    await decider.get_by_role("radio", name="Certify").check()
    await decider.get_by_role("button", name="Record the decision").click()
    await expect(decider.locator("#done")).to_contain_text("The candidate is certified")
    await staff_context.close()

    # The e-mail, in the candidate's language.
    box = mailbox[0]
    assert await asyncio.to_thread(box.arrived.wait, 30), "no e-mail arrived"
    subjects = [m["Subject"] for m in box.received if m["To"].endswith(ADDRESS)]
    assert "Du er sertifisert" in subjects

    # My page: "Bestått", the certificate and its PDF.
    holder_context = await browser.new_context(
        locale="nb-NO", accept_downloads=True, bypass_csp=True
    )
    holder = await holder_context.new_page()
    await _sign_in(holder, live_server, candidate.username)
    await holder.goto(f"{live_server}/my")
    result = holder.locator("dd").filter(has_text="Bestått").first
    await expect(result.locator("strong")).to_have_text("Bestått")
    section = holder.locator("section", has=holder.locator("#certificates-heading"))
    await expect(section.locator(".status")).to_have_text("Gyldig")
    await check_accessibility(holder, "My page with the result and the certificate", BOTH_WIDTHS)
    async with holder.expect_download() as download_info:
        await section.get_by_role("link", name=re.compile("^Last ned PDF-en av ")).click()
    pdf = tmp_path / "certificate.pdf"
    await (await download_info.value).save_as(pdf)

    # The QR code opens the public verification page.
    url = _qr_text(pdf)
    assert url.startswith(f"{live_server}/verify/")
    public_context = await browser.new_context(locale="nb-NO", bypass_csp=True)
    public = await public_context.new_page()
    await public.goto(url)
    await expect(public.locator(".cert-verdict")).to_have_text("Dette sertifikatet er gyldig.")
    await check_accessibility(public, "the verification page, valid", BOTH_WIDTHS)

    # Staff suspend it: the verification page says so at once.
    admin_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    admin = await admin_context.new_page()
    await _sign_in(admin, live_server, "administrator")
    await admin.goto(f"{live_server}/staff/schemes/{ready.built.scheme_id}/certificates")
    await admin.get_by_role("link", name=url.rsplit("/", 1)[1]).click()
    await admin.fill("#suspend-grounds", "Suspended while a complaint is investigated.")
    await admin.get_by_role("button", name="Suspend").click()
    await expect(admin.locator(".success")).to_have_text("The certificate has been suspended.")
    await public.goto(url)
    await expect(public.locator(".cert-verdict")).to_contain_text(
        "Dette sertifikatet er suspendert"
    )
    await expect(public.locator("main")).not_to_contain_text("complaint")
    await check_accessibility(public, "the verification page, suspended", BOTH_WIDTHS)

    # Day 20 after the decision: the appeal is accepted.
    server_clock.set(DECIDED_AT + timedelta(days=20))
    await holder.goto(f"{live_server}/my")
    await holder.get_by_text("Klag på dette resultatet").click()
    await check_accessibility(holder, "My page with the appeal form open", BOTH_WIDTHS)
    await holder.locator("textarea[id^=appeal-grounds-]").fill(APPEAL)
    await holder.get_by_role("button", name="Send klagen").click()
    await expect(holder.locator("[role=status]")).to_contain_text("Klagen din er registrert som")
    await check_accessibility(holder, "the candidate's appeal", BOTH_WIDTHS)
    appeal_number = (await holder.locator("h1").inner_text()).split()[-1]

    # The appeal handler has the essay graded again, blindly.
    await admin.goto(f"{live_server}/appeals")
    await admin.get_by_role("link", name=appeal_number).click()
    await admin.get_by_role("button", name=re.compile("again, blindly$")).click()
    await expect(admin.locator("[role=status]")).to_contain_text("graded again, blindly")
    await expect(admin.locator("table")).to_contain_text("Being graded again (round 2)")
    await check_accessibility(admin, "the appeal's page during the re-grading")

    # The graders who marked it do not get it again; a grader who has not seen it does, with
    # nothing of the earlier marks.
    fresh = await create_user(
        session, username="sensor3", full_name="Tredje Sensor", password=PASSWORD,
        roles={Role.GRADER},
    )  # fmt: skip
    await graders.qualify(
        session, grader_id=fresh.id, scheme_id=ready.built.scheme_id,
        actor=users["administrator"], now=DECIDED_AT,
    )  # fmt: skip
    await session.commit()
    [new_code] = set(await session.scalars(select(Script.code))) - earlier_codes
    grader_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    grader = await grader_context.new_page()
    await _sign_in(grader, live_server, ready.built.first_grader.username)
    await grader.goto(f"{live_server}/grading")
    await expect(grader.locator("#waiting")).to_have_text("0 scripts are waiting for you.")
    await grader_context.close()
    grader_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    grader = await grader_context.new_page()
    await _sign_in(grader, live_server, "sensor3")
    await grader.goto(f"{live_server}/grading")
    await grader.click("#claim-next")
    await expect(grader.locator("h1")).to_contain_text(f"Script {new_code}")
    await expect(grader.locator("#mark-0")).to_have_value("")
    content = await grader.content()
    assert not any(code in content for code in earlier_codes)
    for context in (holder_context, public_context, admin_context, grader_context):
        await context.close()
