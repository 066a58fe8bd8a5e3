"""Signing in with national e-ID works in a real browser against a real OpenID Connect provider."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from tests.web.oidc_provider import Provider, run_provider
from vakt.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """oidc-provider-mock as its own process. It accepts any client here: the app's callback
    URL has the live server's port, which is chosen only after the settings are made."""
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with run_provider(log, require_registration=False) as running:
        yield running


@pytest.fixture
def settings(settings: Settings, provider: Provider) -> Settings:
    """The live server's settings, with e-ID sign-in through the provider."""
    return settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": "vakt-browser-test",
            "oidc_client_secret": "browser-test-secret",
            "oidc_display_name": "BankID",
            # The exam job would query the database at every app start; not needed here, and
            # cancelling it mid-query in the many short app lifespans only makes noise.
            "auto_submit_interval_seconds": 0,
        }
    )


@pytest.mark.asyncio
async def test_e_id_sign_in_in_a_browser(
    browser: Browser, live_server: str, provider: Provider
) -> None:
    provider.set_user("kari-browser", {"name": "Kari Nordmann", "email": "kari@example.no"})
    page = await browser.new_page(locale="en-GB")
    await page.goto(f"{live_server}/login")
    button = page.get_by_role("link", name="Sign in with BankID")
    await expect(button).to_be_visible()
    await button.click()
    await page.wait_for_url(re.compile(re.escape(f"{provider.issuer}/oauth2/authorize?") + ".*"))
    await page.fill("input[name=sub]", "kari-browser")
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(f"{live_server}/")
    await expect(page.locator("h1")).to_have_text("Welcome, Kari Nordmann")
    await expect(page.locator(".who")).to_have_text("Kari Nordmann")
    await page.close()


@pytest.mark.asyncio
async def test_cancelling_at_the_provider_returns_to_sign_in(
    browser: Browser, live_server: str, provider: Provider
) -> None:
    page = await browser.new_page(locale="en-GB")
    await page.goto(f"{live_server}/login")
    await page.get_by_role("link", name="Sign in with BankID").click()
    await page.get_by_role("button", name="Deny").click()
    await page.wait_for_url(re.compile(re.escape(f"{live_server}/login/eid/callback?") + ".*"))
    await expect(page.locator("#login-error")).to_have_text("Sign-in with BankID was cancelled.")
    await expect(page.locator("#username")).to_be_visible()
    await page.close()
