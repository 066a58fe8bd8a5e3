"""The body's key and certificate for signing certificate PDFs: read (and checked) when the
settings are read, so that a wrong passphrase or an unreadable file stops Vakt at start with a
clear message instead of failing when a holder downloads a PDF; and made, self-signed, for the
demo or a trial installation.

Only RSA (signed with PKCS#1 v1.5) and Ed25519 keys are accepted: their signatures are
deterministic, so the same certificate always gives the same PDF bytes. ECDSA signatures use a
random nonce and would differ on every download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

SigningPrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class SigningKeyError(ValueError):
    """The configured signing key or certificate cannot be used (the message says why)."""


@dataclass(frozen=True)
class SigningKey:
    """The body's private key, its certificate and the certificates above it (if any)."""

    private_key: SigningPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def subject_name(self) -> str:
        """The certificate's common name (or its whole subject when it has none)."""
        names = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else self.certificate.subject.rfc4514_string()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SigningKeyError(
            f"The signing {what} {path} cannot be read: {error.strerror or error}"
        ) from None


def load_signing_key(
    key_file: Path, passphrase: str = "", cert_file: Path | None = None
) -> SigningKey:
    """The key in ``key_file``: a PKCS#12 file (.p12/.pfx) with the key and its certificate, or,
    with ``cert_file``, a PEM private key and a PEM file with the certificate first and any
    intermediates after it. Raises SigningKeyError with a message an operator can act on."""
    password = passphrase.encode() or None
    data = _read(key_file, "key file")
    if cert_file is None:
        try:
            key, certificate, chain = pkcs12.load_key_and_certificates(data, password)
        except ValueError:
            raise SigningKeyError(
                f"The signing key file {key_file} cannot be opened: either the passphrase "
                "(VAKT_SIGNING_KEY_PASSPHRASE) is wrong or it is not a PKCS#12 file "
                "(for a PEM key, also set VAKT_SIGNING_CERT_FILE)."
            ) from None
        if key is None or certificate is None:
            raise SigningKeyError(
                f"The signing key file {key_file} must hold both the private key and its "
                "certificate."
            )
        intermediates = tuple(chain)
    else:
        try:
            key = serialization.load_pem_private_key(data, password)
        except (ValueError, TypeError):
            raise SigningKeyError(
                f"The signing key {key_file} cannot be opened: either the passphrase "
                "(VAKT_SIGNING_KEY_PASSPHRASE) is wrong or it is not a PEM private key."
            ) from None
        try:
            certificates = x509.load_pem_x509_certificates(_read(cert_file, "certificate"))
        except ValueError:
            raise SigningKeyError(
                f"The signing certificate {cert_file} is not a PEM certificate."
            ) from None
        certificate, intermediates = certificates[0], tuple(certificates[1:])
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise SigningKeyError(
            f"The signing key in {key_file} is a {type(key).__name__.removeprefix('_')}: "
            "use an RSA or Ed25519 key, whose signatures keep a certificate's PDF the same on "
            "every download."
        )
    if key.public_key() != certificate.public_key():
        raise SigningKeyError(f"The signing certificate does not belong to the key in {key_file}.")
    return SigningKey(key, certificate, intermediates)


def create_self_signed(
    body_name: str, path: Path, passphrase: str, *, now: datetime, years: int = 10
) -> SigningKey:
    """Make an RSA key and a self-signed certificate for ``body_name`` and write both to
    ``path`` as a PKCS#12 file protected by ``passphrase`` (readable by its owner only).

    A self-signed certificate proves only that a PDF was not changed since this key signed it;
    verifiers must be given the certificate to trust it. For demonstration and trials."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, body_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    content = pkcs12.serialize_key_and_certificates(
        body_name.encode(), key, certificate, None, encryption
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(content)
    return SigningKey(key, certificate)
