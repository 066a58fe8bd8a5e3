"""``vakt certificates``: the certificates' commands (kept apart from vakt/cli.py, which
registers them)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click


@click.group()
def certificates() -> None:
    """Certificates issued to holders."""


@certificates.command("signing-key")
@click.argument("output", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--body", "body_name", default=None, help="The name in the certificate "
              "(default: VAKT_BODY_NAME).")  # fmt: skip
@click.option("--years", default=10, show_default=True, type=click.IntRange(1, 30),
              help="How long the certificate is valid.")  # fmt: skip
@click.option("--passphrase-stdin", is_flag=True, help="Read the passphrase from standard input.")
def certificates_signing_key(
    output: Path, body_name: str | None, years: int, passphrase_stdin: bool
) -> None:
    """Make an RSA key and a self-signed certificate for signing certificate PDFs, as a PKCS#12
    file protected by a passphrase (asked for, or read from stdin).

    A self-signed certificate shows that a PDF is unchanged only to those who trust this
    certificate: for trials. In production use a certificate from a certificate authority.
    """
    from vakt.cli import _settings
    from vakt.db import utcnow
    from vakt.signing_key import create_self_signed

    if output.exists():
        raise click.ClickException(f"{output} exists already; nothing was written.")
    name = body_name or _settings().body_name
    if passphrase_stdin:
        passphrase = sys.stdin.readline().rstrip("\n")
    else:
        passphrase = getpass.getpass("Passphrase: ")
        if getpass.getpass("Repeat the passphrase: ") != passphrase:
            raise click.ClickException("The passphrases differ.")
    if len(passphrase) < 8:
        raise click.ClickException("The passphrase must have at least 8 characters.")
    create_self_signed(name, output, passphrase, now=utcnow(), years=years)
    click.echo(f"Wrote a signing key for {name} to {output}.")
    click.echo(
        f"Sign certificate PDFs with it: VAKT_SIGNING_KEY_FILE={output.resolve()} and "
        "VAKT_SIGNING_KEY_PASSPHRASE set to the passphrase."
    )
