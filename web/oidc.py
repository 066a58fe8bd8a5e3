"""The national e-ID client (OpenID Connect through Authlib), built from the settings.

One client per application, made in the lifespan and kept in the app's state (never a module
global), so two apps with different settings in one process, as in the tests, never share it.
Authlib keeps each sign-in's state, nonce and PKCE verifier in the signed session cookie, and caches
the provider's discovery document and keys in the client.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.starlette_client import OAuth
from starlette.requests import Request

from vakt.i18n import _l
from vakt.settings import Settings
from web.i18n import translate

CLIENT_NAME = "eid"
DISCOVERY_PATH = "/.well-known/openid-configuration"
HTTP_TIMEOUT_SECONDS = 10.0
SIGN_IN_WITH = _l("Sign in with {name}")


def requested_scopes(settings: Settings) -> str:
    """The configured scopes, always with ``openid``: without it there is no ID token, and
    Authlib would neither send a nonce nor verify one."""
    scopes = settings.oidc_scopes.split()
    return " ".join(["openid", *(scope for scope in scopes if scope != "openid")])


def create_oidc_client(settings: Settings) -> Any:
    """The e-ID client for these settings, or None when e-ID sign-in is not configured."""
    if not settings.oidc_enabled:
        return None
    registry = OAuth()
    return registry.register(
        name=CLIENT_NAME,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret or None,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + DISCOVERY_PATH,
        client_kwargs={
            "scope": requested_scopes(settings),
            "code_challenge_method": "S256",
            # A public client (no secret) relies on PKCE alone.
            "token_endpoint_auth_method": (
                "client_secret_basic" if settings.oidc_client_secret else "none"
            ),
            "timeout": HTTP_TIMEOUT_SECONDS,
        },
    )


def eid_button_label(request: Request) -> str | None:
    """The e-ID button's text in the reader's language ("Sign in with BankID"), or None when
    e-ID sign-in is off."""
    settings: Settings = request.state.settings
    if not settings.oidc_enabled:
        return None
    return translate(request, SIGN_IN_WITH, {"name": settings.oidc_display_name})
