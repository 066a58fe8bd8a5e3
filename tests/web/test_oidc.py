"""Sign-in with national e-ID over HTTP, against a real OpenID Connect provider process.

The app runs in-process (httpx over ASGI) and talks to the provider over real HTTP for the
discovery document, keys and token; a second httpx client plays the browser at the provider.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.web.oidc_provider import Provider, free_port, run_provider
from vakt.accounts import ExternalIdentity, Role, User
from vakt.settings import Settings
from web.app import create_app
from web.routes import oidc as oidc_routes

BASE_URL = "http://testserver"
CALLBACK = f"{BASE_URL}/login/eid/callback"
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """oidc-provider-mock as a separate process, only for registered clients."""
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with run_provider(log, require_registration=True) as running:
        yield running


@pytest.fixture
def settings(settings: Settings, provider: Provider) -> Settings:
    """The test settings with e-ID sign-in through the provider, as a registered client."""
    client_id, client_secret = provider.register_client(CALLBACK)
    return settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": client_id,
            "oidc_client_secret": client_secret,
            "oidc_display_name": "BankID",
            # The exam job would query the database at every app start; not needed here, and
            # cancelling it mid-query in the many short app lifespans only makes noise.
            "auto_submit_interval_seconds": 0,
        }
    )


@contextlib.asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Like the ``client`` fixture, for an app with other settings."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(
            app=manager.app, client=("127.0.0.1", 50000), raise_app_exceptions=False
        )
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            yield http


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """The person's browser at the provider (real HTTP)."""
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


async def _to_provider(client: httpx.AsyncClient, next_url: str = "/") -> httpx.URL:
    """Start e-ID sign-in at the app; the provider's authorization URL it redirects to."""
    response = await client.get("/login/eid", params={"next": next_url})
    assert response.status_code == 302, response.text
    return httpx.URL(response.headers["location"])


async def _authorize(browser: httpx.AsyncClient, url: httpx.URL, **form: str) -> httpx.URL:
    """Fill in and submit the provider's form; where it sends the browser back to."""
    page = await browser.get(url)
    assert page.status_code == 200 and 'name="sub"' in page.text, page.text
    answer = await browser.post(url, data=form)
    assert answer.status_code == 302, answer.text
    return httpx.URL(answer.headers["location"])


async def _sign_in_with_eid(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, sub: str, next_url: str = "/"
) -> httpx.Response:
    callback = await _authorize(browser, await _to_provider(client, next_url), sub=sub)
    return await client.get(str(callback))


@pytest.mark.asyncio
async def test_login_page_offers_e_id(client: httpx.AsyncClient) -> None:
    page = await client.get("/login?next=/items", headers=ENGLISH)
    assert page.status_code == 200
    assert "Sign in with BankID" in page.text
    assert 'href="/login/eid?next=/items"' in page.text


@pytest.mark.asyncio
async def test_authorization_request_uses_state_nonce_and_pkce(
    client: httpx.AsyncClient, provider: Provider, settings: Settings
) -> None:
    url = await _to_provider(client)
    assert str(url).startswith(f"{provider.issuer}/oauth2/authorize?")
    params = url.params
    assert params["response_type"] == "code"
    assert params["client_id"] == settings.oidc_client_id
    assert params["redirect_uri"] == CALLBACK
    assert params["scope"].split() == ["openid", "profile", "email"]
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) >= 43
    assert len(params["state"]) >= 20 and len(params["nonce"]) >= 20
    # Each sign-in gets its own.
    again = (await _to_provider(client)).params
    assert again["state"] != params["state"] and again["nonce"] != params["nonce"]


@pytest.mark.asyncio
async def test_e_id_sign_in_creates_a_candidate_and_signs_in(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    provider: Provider,
    settings: Settings,
    session: AsyncSession,
) -> None:
    provider.set_user(
        "19870512-kari",
        {"name": "Kari Nordmann", "email": "kari@example.no", "email_verified": True,
         "locale": "nb-NO"},
    )  # fmt: skip
    before = client.cookies.get("vakt_session")
    done = await _sign_in_with_eid(client, browser, "19870512-kari", next_url="/?from=eid")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/?from=eid"
    assert client.cookies.get("vakt_session") != before  # a fresh session
    home = await client.get("/")
    assert home.status_code == 200
    assert "Kari Nordmann" in home.text
    identity = await session.scalar(select(ExternalIdentity))
    assert identity is not None
    assert (identity.issuer, identity.subject) == (provider.issuer, "19870512-kari")
    user = await session.get(User, identity.user_id)
    assert user is not None and user.roles == {Role.CANDIDATE} and user.password_hash is None
    assert user.email == "kari@example.no" and user.language == "nb"

    # Signing out and in again reaches the same account.
    token = (await client.get("/")).text.split('name="csrf_token" value="')[1].split('"')[0]
    assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303
    assert (await client.get("/")).status_code == 303
    again = await _sign_in_with_eid(client, browser, "19870512-kari")
    assert again.status_code == 303 and again.headers["location"] == "/"
    assert "Kari Nordmann" in (await client.get("/")).text
    assert await session.scalar(select(func.count()).select_from(ExternalIdentity)) == 1


@pytest.mark.asyncio
async def test_unsafe_next_is_ignored(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    done = await _sign_in_with_eid(client, browser, "ola", next_url="//evil.example/x")
    assert done.status_code == 303 and done.headers["location"] == "/"


@pytest.mark.asyncio
async def test_cancelled_at_the_provider(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    callback = await _authorize(browser, await _to_provider(client, "/items"), action="deny")
    assert callback.params["error"] == "access_denied"
    page = await client.get(str(callback), headers=ENGLISH)
    assert page.status_code == 401
    assert "Sign-in with BankID was cancelled." in page.text
    assert 'name="next" value="/items"' in page.text  # the password form still leads on
    assert (await client.get("/")).status_code == 303  # not signed in


@pytest.mark.asyncio
async def test_tampered_or_missing_state_is_refused(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    callback = await _authorize(browser, await _to_provider(client), sub="tampered")
    code, state = callback.params["code"], callback.params["state"]
    # Another last character, whatever the random state ends with ("xx" could be its own end).
    tampered = state[:-1] + ("A" if state[-1] != "A" else "B")
    for params in ({"code": code, "state": tampered}, {"code": code}):
        page = await client.get("/login/eid/callback", params=params, headers=ENGLISH)
        assert page.status_code == 400
        assert "expired or was started in another window" in page.text
    assert (await client.get("/")).status_code == 303
    # The forged requests did not use up the real one.
    assert (await client.get(str(callback))).status_code == 303
    # …which works once only.
    replay = await client.get(str(callback), headers=ENGLISH)
    assert replay.status_code == 400


@pytest.mark.asyncio
async def test_code_from_another_sign_in_fails_the_nonce_check(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    # The victim starts a sign-in; an attacker slips in a code issued for their own sign-in.
    victim_url = await _to_provider(client)
    victim_cookies = httpx.Cookies(client.cookies)
    client.cookies.clear()
    attacker_callback = await _authorize(browser, await _to_provider(client), sub="attacker")
    client.cookies = victim_cookies
    page = await client.get(
        "/login/eid/callback",
        params={"code": attacker_callback.params["code"], "state": victim_url.params["state"]},
        headers=ENGLISH,
    )
    assert page.status_code == 401
    assert "The answer from BankID could not be verified" in page.text
    assert (await client.get("/")).status_code == 303


@pytest.mark.asyncio
@pytest.mark.parametrize("collisions", [1, 2])
async def test_a_colliding_first_sign_in_is_tried_again(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    collisions: int,
) -> None:
    # Two first sign-ins at the same moment can clash on a unique constraint; simulate it.
    real = oidc_routes.sign_in_external
    calls = 0

    async def clashing(session: AsyncSession, claims: dict[str, Any], *, address: str) -> User:
        nonlocal calls
        calls += 1
        user = await real(session, claims, address=address)
        if calls <= collisions:
            await session.flush()
            raise IntegrityError("INSERT …", {}, Exception("duplicate key"))
        return user

    monkeypatch.setattr(oidc_routes, "sign_in_external", clashing)
    callback = await _authorize(browser, await _to_provider(client), sub=f"clash-{collisions}")
    done = await client.get(str(callback), headers=ENGLISH)
    if collisions == 1:
        assert done.status_code == 303
        assert "Welcome" in (await client.get("/", headers=ENGLISH)).text
    else:
        assert done.status_code == 409
        assert "Signing in did not work this time" in done.text
        assert (await client.get("/")).status_code == 303
    assert calls == 2


@pytest.mark.asyncio
async def test_wrong_client_secret_is_a_clear_refusal(
    settings: Settings, browser: httpx.AsyncClient
) -> None:
    wrong = settings.model_copy(update={"oidc_client_secret": "not-the-secret"})
    async with app_client(wrong) as client:
        callback = await _authorize(browser, await _to_provider(client), sub="kari")
        page = await client.get(str(callback), headers=ENGLISH)
        assert page.status_code == 401
        assert "BankID did not confirm who you are" in page.text


@pytest.mark.asyncio
async def test_provider_down_is_a_clear_error(settings: Settings) -> None:
    down = settings.model_copy(update={"oidc_issuer": f"http://127.0.0.1:{free_port()}"})
    async with app_client(down) as client:
        page = await client.get("/login/eid", headers=ENGLISH)
        assert page.status_code == 400
        assert "BankID cannot be reached right now" in page.text
        callback = await client.get("/login/eid/callback?code=x&state=y", headers=ENGLISH)
        assert callback.status_code == 400


@pytest.mark.asyncio
async def test_e_id_off_means_no_button_and_no_pages(settings: Settings) -> None:
    off = settings.model_copy(update={"oidc_issuer": "", "oidc_client_id": ""})
    async with app_client(off) as client:
        login = await client.get("/login", headers=ENGLISH)
        assert login.status_code == 200
        assert "/login/eid" not in login.text and "BankID" not in login.text
        for path in ("/login/eid", "/login/eid/callback?code=x&state=y"):
            assert (await client.get(path)).status_code == 404


def test_issuer_without_client_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="VAKT_OIDC_CLIENT_ID"):
        Settings(oidc_issuer="https://auth.example", data_dir=tmp_path, _env_file=None)
