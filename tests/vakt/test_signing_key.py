"""The body's signing key in the settings: read and checked when the settings are read, so that
a wrong passphrase, an unreadable file or an unusable key stops Vakt at start with a message
that says what is wrong (and never the passphrase), not a traceback at a holder's download."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from tests.vakt.test_cli import vakt
from vakt.settings import Settings
from vakt.signing_key import SigningKey, create_self_signed

PASSPHRASE = "riktig passord"


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SigningKey]:
    path = tmp_path_factory.mktemp("keys") / "body.p12"
    return path, create_self_signed("Norsk Sertifisering AS", path, PASSPHRASE, now=_now())


def _now() -> datetime:
    return datetime.now(UTC)


def _refused(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        _settings(**values)
    message = str(caught.value)
    assert "riktig" not in message and "feil passord" not in message  # no passphrase shown
    return message


def test_no_key_means_unsigned() -> None:
    assert _settings().signing_key is None


def test_a_pkcs12_file_is_read_at_start(key_file: tuple[Path, SigningKey]) -> None:
    path, made = key_file
    assert path.stat().st_mode & 0o777 == 0o600
    key = _settings(signing_key_file=path, signing_key_passphrase=PASSPHRASE).signing_key
    assert key is not None and key.subject_name == "Norsk Sertifisering AS"
    assert key.certificate == made.certificate


def test_a_wrong_passphrase_or_a_missing_file_is_refused_clearly(
    key_file: tuple[Path, SigningKey], tmp_path: Path
) -> None:
    path, _ = key_file
    message = _refused(signing_key_file=path, signing_key_passphrase="feil passord")
    assert f"The signing key file {path} cannot be opened" in message
    assert "VAKT_SIGNING_KEY_PASSPHRASE" in message
    missing = tmp_path / "missing.p12"
    message = _refused(signing_key_file=missing, signing_key_passphrase=PASSPHRASE)
    assert f"The signing key file {missing} cannot be read" in message
    garbage = tmp_path / "garbage.p12"
    garbage.write_bytes(b"not a key")
    assert "cannot be opened" in _refused(signing_key_file=garbage)
    assert "VAKT_SIGNING_KEY_FILE is required" in _refused(signing_cert_file=garbage)


def test_a_pem_key_and_certificate(key_file: tuple[Path, SigningKey], tmp_path: Path) -> None:
    _, made = key_file
    pem_key = tmp_path / "key.pem"
    pem_key.write_bytes(
        made.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    pem_cert = tmp_path / "cert.pem"
    pem_cert.write_bytes(made.certificate.public_bytes(serialization.Encoding.PEM))
    key = _settings(
        signing_key_file=pem_key, signing_cert_file=pem_cert, signing_key_passphrase=PASSPHRASE
    ).signing_key
    assert key is not None and key.certificate == made.certificate
    message = _refused(
        signing_key_file=pem_key, signing_cert_file=pem_cert, signing_key_passphrase="feil passord"
    )
    assert "passphrase (VAKT_SIGNING_KEY_PASSPHRASE) is wrong" in message
    # Another body's certificate with this key.
    other = create_self_signed("Andre", tmp_path / "other.p12", "", now=_now())
    pem_cert.write_bytes(other.certificate.public_bytes(serialization.Encoding.PEM))
    message = _refused(
        signing_key_file=pem_key, signing_cert_file=pem_cert, signing_key_passphrase=PASSPHRASE
    )
    assert "does not belong to the key" in message
    pem_cert.write_text("no certificate here")
    message = _refused(
        signing_key_file=pem_key, signing_cert_file=pem_cert, signing_key_passphrase=PASSPHRASE
    )
    assert "is not a PEM certificate" in message


def test_an_ecdsa_key_is_refused(key_file: tuple[Path, SigningKey], tmp_path: Path) -> None:
    """ECDSA signatures are randomised: the same certificate would give other bytes each time."""
    _, made = key_file
    pem_key = tmp_path / "ec.pem"
    pem_key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pem_cert = tmp_path / "cert.pem"
    pem_cert.write_bytes(made.certificate.public_bytes(serialization.Encoding.PEM))
    message = _refused(signing_key_file=pem_key, signing_cert_file=pem_cert)
    assert "use an RSA or Ed25519 key" in message


def test_the_command_line_says_what_is_wrong_in_one_line(
    key_file: tuple[Path, SigningKey], tmp_path: Path
) -> None:
    path, _ = key_file
    env = {
        "VAKT_DATA_DIR": str(tmp_path),
        "VAKT_SECRET_KEY": "x" * 48,
        "VAKT_SIGNING_KEY_FILE": str(path),
        "VAKT_SIGNING_KEY_PASSPHRASE": "feil passord",
    }
    for command in (["serve", "--port", "1"], ["audit", "verify"]):
        result = vakt(*command, env=env)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr and "feil passord" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert f"The signing key file {path} cannot be opened" in lines[0]


def test_signing_key_command_makes_a_key_vakt_accepts(tmp_path: Path) -> None:
    output = tmp_path / "keys" / "body.p12"
    env = {"VAKT_DATA_DIR": str(tmp_path), "VAKT_BODY_NAME": "Norsk Sertifisering AS"}
    made = vakt("certificates", "signing-key", str(output), "--passphrase-stdin",
                env=env, stdin=PASSPHRASE + "\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "VAKT_SIGNING_KEY_FILE" in made.stdout and PASSPHRASE not in made.stdout
    key = _settings(signing_key_file=output, signing_key_passphrase=PASSPHRASE).signing_key
    assert key is not None and key.subject_name == "Norsk Sertifisering AS"
    before = output.read_bytes()
    again = vakt("certificates", "signing-key", str(output), "--body", "Annen", "--passphrase-stdin",
                 env=env, stdin=PASSPHRASE + "\n")  # fmt: skip
    assert again.returncode == 1 and "exists already" in again.stderr
    assert output.read_bytes() == before
    short = vakt("certificates", "signing-key", str(tmp_path / "short.p12"), "--passphrase-stdin",
                 env=env, stdin="kort\n")  # fmt: skip
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    assert not (tmp_path / "short.p12").exists()
