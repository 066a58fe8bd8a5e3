"""The demo body's signing key: a self-signed certificate made on the demo's first run and
kept in its data folder, so that the demo's certificate PDFs are signed like a real body's.
Self-signed, it proves nothing about who signed: for demonstration only."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from vakt.signing_key import create_self_signed

KEY_FILE = "signing-key.p12"
PASSPHRASE_FILE = "signing-key-passphrase"  # noqa: S105 - a file name, not a secret


def demo_signing_key(data_dir: Path, body_name: str, now: datetime) -> tuple[Path, str]:
    """The demo's PKCS#12 key file and its passphrase, made (for ``body_name``) if missing."""
    key_file = data_dir / KEY_FILE
    passphrase_file = data_dir / PASSPHRASE_FILE
    if not key_file.exists() or not passphrase_file.exists():
        passphrase = secrets.token_urlsafe(24)
        passphrase_file.touch(mode=0o600)
        passphrase_file.write_text(passphrase)
        create_self_signed(body_name, key_file, passphrase, now=now)
    return key_file, passphrase_file.read_text().strip()
