"""A real OpenID Connect provider for tests: oidc-provider-mock, run as its own process.

It issues real RS256-signed ID tokens from a real discovery document, token endpoint and key set,
so the app's Authlib client is tested against the protocol, not against a stub. Its sign-in page
is a form with a ``sub`` field, an "Authorize" button and a "Deny" button; the claims a subject
gets are set beforehand with ``PUT /users/{sub}``.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Provider:
    """A running provider: its issuer URL and its test controls."""

    issuer: str

    def register_client(self, redirect_uri: str) -> tuple[str, str]:
        """Register a client (dynamic registration) for one redirect URI: (client id, secret)."""
        response = httpx.post(
            f"{self.issuer}/oauth2/clients", json={"redirect_uris": [redirect_uri]}
        )
        response.raise_for_status()
        body = response.json()
        return str(body["client_id"]), str(body["client_secret"])

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        """The claims the provider puts in ``sub``'s ID token."""
        response = httpx.put(f"{self.issuer}/users/{quote(sub, safe='')}", json=claims)
        assert response.status_code == 204, response.text


@contextlib.contextmanager
def run_provider(log_file: Path, *, require_registration: bool) -> Iterator[Provider]:
    """Start oidc-provider-mock on a free port, wait for its discovery document, stop it after.

    ``require_registration``: only registered clients, with their secret and redirect URI, are
    accepted (otherwise any client id and secret will do).
    """
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port),
        "--require-nonce", "true",
        "--require-registration", "true" if require_registration else "false",
    ]  # fmt: skip
    with log_file.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"oidc-provider-mock did not start:\n{log_file.read_text()}")
            time.sleep(0.1)
        yield Provider(issuer)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
