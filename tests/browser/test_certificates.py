"""Certificates in chromium: the holder finds the certificate on My page and downloads its PDF;
the PDF is signed with the body's key and its QR code still opens the public verification
page, which says "valid"; the public
register lists it; staff suspend it and the verification page says "suspended" at once.
axe-core checks the public pages, My page's certificate section and the staff's page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pypdfium2
import pytest
from playwright.async_api import Browser, Page, expect
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import Clock, FixedClock
from tests.browser.conftest import BOTH_WIDTHS
from tests.browser.test_candidate_exam import check_accessibility
from tests.certification.factories import certify
from tests.conftest import PASSWORD
from tests.exam.factories import OPENS, build_exam
from vakt.accounts import User
from vakt.settings import Settings
from vakt.signing_key import create_self_signed

DECIDED = OPENS + timedelta(days=5)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The test settings with a signing key: the body signs its certificates."""
    key_file = tmp_path / "body.p12"
    create_self_signed("Vakt test body", key_file, "body passphrase", now=datetime.now(UTC))
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + "x" * 32,
        signing_key_file=key_file,
        signing_key_passphrase="body passphrase",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def server_clock() -> Clock | None:
    return FixedClock(DECIDED + timedelta(days=1))


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit].primary")
    await expect(page.locator("h1")).to_contain_text("Welcome")


def _qr_text(pdf: Path) -> str:
    page = pypdfium2.PdfDocument(pdf.read_bytes())[0]
    image = np.ascontiguousarray(page.render(scale=3).to_numpy()[:, :, :3])
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return str(text)


@pytest.mark.asyncio
@pytest.mark.browser
async def test_download_verify_register_and_suspend(
    browser: Browser,
    settings: Settings,
    live_server: str,
    session: AsyncSession,
    users: dict[str, User],
    tmp_path: Path,
) -> None:
    exam = await build_exam(session, users)
    certificate = await certify(session, exam.registration_id, users["decision_maker"], DECIDED)
    # The QR code points at the configured public address; here, the test server.
    settings.public_url = live_server

    holder_context = await browser.new_context(
        locale="en-GB", accept_downloads=True, bypass_csp=True
    )
    holder = await holder_context.new_page()
    await _sign_in(holder, live_server, "candidate")
    await holder.goto(f"{live_server}/my")
    section = holder.locator("section", has=holder.locator("#certificates-heading"))
    await expect(section).to_contain_text(certificate.number)
    await expect(section.locator(".status")).to_have_text("Valid")
    await check_accessibility(holder, "My page with a certificate", BOTH_WIDTHS)
    async with holder.expect_download() as download_info:
        await section.get_by_role("link", name=f"Download the PDF of {certificate.number}").click()
    download = await download_info.value
    pdf = tmp_path / "certificate.pdf"
    await download.save_as(pdf)
    with pdf.open("rb") as signed:
        [signature] = PdfFileReader(signed, strict=False).embedded_signatures
        assert signature.signer_cert.subject.human_friendly == "Common Name: Vakt test body"
    url = _qr_text(pdf)
    assert url == f"{live_server}/verify/{certificate.number}"

    public_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    public = await public_context.new_page()
    await public.goto(url)
    await expect(public.locator("h1")).to_have_text(f"Certificate {certificate.number}")
    await expect(public.locator(".cert-verdict")).to_have_text("This certificate is valid.")
    await check_accessibility(public, "verification page", BOTH_WIDTHS)
    await public.goto(f"{live_server}/register/DM")
    await public.fill("#q", exam.candidate.full_name)
    await public.click("form[role=search] button")
    await expect(public.locator("table.data tbody tr")).to_have_count(1)
    await expect(public.locator("table.data tbody")).to_contain_text(certificate.number)
    await check_accessibility(public, "public register", BOTH_WIDTHS)
    await public.goto(f"{live_server}/verify")
    await public.fill("#number", "DM-00000-00000")
    await public.click("button[type=submit].primary")
    await expect(public.locator(".error-message")).to_contain_text("No certificate has the number")
    await check_accessibility(public, "unknown number", BOTH_WIDTHS)

    staff_context = await browser.new_context(locale="en-GB", bypass_csp=True)
    staff = await staff_context.new_page()
    await _sign_in(staff, live_server, "administrator")
    await staff.goto(f"{live_server}/staff/schemes/{certificate.scheme_id}/certificates")
    await staff.get_by_role("link", name=certificate.number).click()
    await staff.fill("#suspend-grounds", "Suspended while a complaint is investigated.")
    await staff.get_by_role("button", name="Suspend").click()
    await expect(staff.locator(".success")).to_have_text("The certificate has been suspended.")
    await check_accessibility(staff, "staff certificate page")

    await public.goto(url)
    await expect(public.locator(".cert-verdict")).to_contain_text("This certificate is suspended")
    await expect(public.locator("main")).not_to_contain_text("complaint")
    await holder.goto(f"{live_server}/my")
    await expect(section.locator(".status")).to_have_text("Suspended")
    for context in (holder_context, public_context, staff_context):
        await context.close()
