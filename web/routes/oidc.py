"""Signing in with national e-ID through OpenID Connect (authorization code flow with PKCE).

``GET /login/eid`` sends the browser to the provider with a fresh state, nonce and PKCE challenge
(kept by Authlib in the signed session cookie); ``GET /login/eid/callback`` exchanges the code,
has Authlib verify the ID token (signature, issuer, audience, expiry, nonce) and signs the person
in exactly as a password does. Whatever goes wrong, the reader gets the sign-in page back with a
plain explanation and a 4xx status, never a server error.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError
from authlib.integrations.starlette_client import OAuthError
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from vakt.errors import Conflict, Forbidden, VaktError
from vakt.i18n import LazyText, _l
from vakt.oidc import sign_in_external
from vakt.settings import Settings
from web.dbsession import COMMIT_ON_ERROR
from web.endpoints import db, page, safe_next
from web.i18n import translate
from web.oidc import eid_button_label
from web.rendering import render
from web.signin import start_session

logger = logging.getLogger(__name__)

NEXT_KEY = "eid_next"
"""Session key for where to go after signing in (the provider's redirect cannot carry it)."""

CANCELLED = _l("Sign-in with {name} was cancelled.")
REFUSED = _l("{name} did not confirm who you are. Please try again.")
EXPIRED = _l("The sign-in with {name} expired or was started in another window. Please try again.")
UNREACHABLE = _l("{name} cannot be reached right now. Try again in a few minutes.")
UNVERIFIED = _l("The answer from {name} could not be verified. Please try again.")
RETRY = _l("Signing in did not work this time. Please try again.")

# What a provider that is down, misconfigured or answering nonsense makes Authlib raise.
_PROVIDER_FAILURES = (httpx2.HTTPError, httpx2.InvalidURL, ValueError, RuntimeError)


def _client(request: Request) -> Any:
    client = request.state.oidc
    if client is None:
        # e-ID sign-in is off: these pages do not exist.
        raise HTTPException(status_code=404)
    return client


def _failed(request: Request, message: LazyText, status_code: int, next_url: str = "/") -> Response:
    """The sign-in page again, with what went wrong."""
    settings: Settings = request.state.settings
    return render(
        request,
        "login.html",
        {
            "next": next_url,
            "error": translate(request, message, {"name": settings.oidc_display_name}),
            "eid_label": eid_button_label(request),
        },
        status_code=status_code,
    )


async def eid_start(request: Request) -> Response:
    """Send the browser to the e-ID provider."""
    client = _client(request)
    next_url = safe_next(request.query_params.get("next"))
    try:
        response: Response = await client.authorize_redirect(
            request, str(request.url_for("eid_callback"))
        )
    except (*_PROVIDER_FAILURES, AuthlibBaseError) as exc:
        logger.warning("e-ID provider unusable at sign-in start: %r", exc)
        return _failed(request, UNREACHABLE, 400, next_url)
    request.session[NEXT_KEY] = next_url
    return response


async def eid_callback(request: Request) -> Response:
    """The provider sends the browser back here with a code (or an error)."""
    client = _client(request)
    settings: Settings = request.state.settings
    next_url = safe_next(request.session.get(NEXT_KEY))
    error = request.query_params.get("error")
    if error:
        # The person said no at the provider, or the provider refused the request.
        logger.info("e-ID sign-in ended by the provider: %r", error[:80])
        return _failed(request, CANCELLED if error == "access_denied" else REFUSED, 401, next_url)
    try:
        token = await client.authorize_access_token(request)
    except MismatchingStateError:
        return _failed(request, EXPIRED, 400, next_url)
    except OAuthError as exc:
        logger.warning("e-ID token request refused: %s", exc.error)
        return _failed(request, REFUSED, 401, next_url)
    except (AuthlibBaseError, JoseError) as exc:
        logger.warning("e-ID token did not verify: %r", exc)
        return _failed(request, UNVERIFIED, 401, next_url)
    except _PROVIDER_FAILURES as exc:
        logger.warning("e-ID provider unusable at token exchange: %r", exc)
        return _failed(request, UNREACHABLE, 400, next_url)
    claims = token.get("userinfo")
    # Authlib checks the token's issuer against the discovery document; this ties that document
    # to the issuer we were configured with.
    if not claims or str(claims.get("iss", "")).rstrip("/") != settings.oidc_issuer.rstrip("/"):
        logger.warning("e-ID answer without a verified ID token from the configured issuer")
        return _failed(request, UNVERIFIED, 401, next_url)
    address = request.client.host if request.client else "unknown"
    session = db(request)
    for attempt in (1, 2):
        try:
            user = await sign_in_external(session, dict(claims), address=address)
            await session.flush()
            break
        except (IntegrityError, Conflict):
            # Someone got the same new username (or identity) a moment earlier: start again,
            # now seeing their row.
            await session.rollback()
            # The rollback expired every loaded object, a signed-in user's too.
            request.state.user = None
            if attempt == 2:
                return _failed(request, RETRY, 409, next_url)
        except VaktError as exc:
            if isinstance(exc, Forbidden):
                setattr(request.state, COMMIT_ON_ERROR, True)  # keep the refusal's audit entry
            return render(
                request,
                "login.html",
                {
                    "next": next_url,
                    "error": translate(request, exc.message, exc.params),
                    "eid_label": eid_button_label(request),
                },
                status_code=exc.status_code,
            )
    return await start_session(request, user, next_url)


def routes() -> list[BaseRoute]:
    """e-ID sign-in routes (they answer 404 when e-ID sign-in is not configured)."""
    return [
        page("/login/eid", eid_start, login=False),
        page("/login/eid/callback", eid_callback, login=False),
    ]
