"""The certificate as a PDF: the body's name, the holder, the scheme, the number, the validity
dates (the body's dates, written in the holder's language), a signature line and a QR code
that opens the public verification page.

ReportLab in invariant mode writes no creation time and no random document id, and the QR code
is drawn as squares from segno's matrix, so the same certificate always gives the same bytes.
The number is in the document's title, subject and keywords, so a file found on its own says
which certificate it is. Bitstream Vera (shipped with ReportLab) is embedded: the text looks
the same everywhere and Norwegian letters need no system font.

When the body has a signing key, the rendered PDF is signed (PAdES baseline B-B, an invisible
signature field named after the body) in an incremental update: any later edit of the bytes
breaks the signature. The signature stays byte-stable too: the signing time is the
certificate's issue time, never the clock; the update's document id and modification date are
derived from the rendered PDF and that time instead of pyHanko's random id and the current
time; and RSA PKCS#1 v1.5 (or Ed25519) signatures are deterministic."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import reportlab
import segno
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from babel.dates import format_date
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from vakt.i18n import DEFAULT_LANGUAGE, LANGUAGES, _l, translations_for
from vakt.signing_key import SigningKey

FONT, BOLD = "VaktVera", "VaktVeraBold"
_FONT_DIR = Path(reportlab.__file__).parent / "fonts"
QR_SIZE = 40 * mm
SIGNATURE_FIELD = "Signature"

TITLE = _l("Certificate")
INTRO = _l("This is to certify that")
HAS_MET = _l("has met the requirements of the certification scheme")
NUMBER = _l("Certificate number: {number}")
VALID = _l("Valid from {start} to and including {end}")
SIGNATURE = _l("Signature on behalf of {body}")
VERIFY = _l("Verify this certificate at")


@dataclass(frozen=True)
class CertificateDocument:
    """Everything the PDF shows."""

    number: str
    holder_name: str
    scheme_name: str
    valid_from: date
    valid_until: date
    body_name: str
    verification_url: str
    language: str


def verification_url(public_url: str, number: str) -> str:
    """The public verification page of a certificate (what its QR code opens)."""
    return f"{public_url.rstrip('/')}/verify/{number}"


def _fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(_FONT_DIR / "Vera.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(_FONT_DIR / "VeraBd.ttf")))


def _qr(canvas: Canvas, url: str, x: float, y: float) -> None:
    """The QR code of ``url`` as filled squares, ``QR_SIZE`` wide with its bottom left at x, y."""
    code = segno.make_qr(url, error="m")
    matrix = [list(row) for row in code.matrix_iter(border=4)]
    module = QR_SIZE / len(matrix)
    canvas.setFillColorRGB(0, 0, 0)
    for row_index, row in enumerate(matrix):
        top = y + QR_SIZE - (row_index + 1) * module
        for column_index, dark in enumerate(row):
            if dark:
                canvas.rect(x + column_index * module, top, module, module, stroke=0, fill=1)


def render(document: CertificateDocument) -> bytes:
    """The certificate's PDF (one A4 page); the same document gives the same bytes."""
    _fonts()
    language = document.language if document.language in LANGUAGES else DEFAULT_LANGUAGE
    translations = translations_for(language)

    def text(message: object, **params: str) -> str:
        assert hasattr(message, "render")
        return str(message.render(translations, params or None))

    def day(value: date) -> str:
        return format_date(value, "long", locale=language)

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1, lang=language)
    canvas.setTitle(f"{text(TITLE)} {document.number}")
    canvas.setSubject(text(NUMBER, number=document.number))
    canvas.setKeywords(["certificate", document.number, document.scheme_name])
    canvas.setAuthor(document.body_name)
    canvas.setCreator("Vakt")
    width, height = A4
    middle = width / 2
    canvas.setFont(BOLD, 14)
    canvas.drawCentredString(middle, height - 35 * mm, document.body_name)
    canvas.setFont(BOLD, 32)
    canvas.drawCentredString(middle, height - 60 * mm, text(TITLE))
    canvas.setFont(FONT, 13)
    canvas.drawCentredString(middle, height - 80 * mm, text(INTRO))
    canvas.setFont(BOLD, 22)
    canvas.drawCentredString(middle, height - 95 * mm, document.holder_name)
    canvas.setFont(FONT, 13)
    canvas.drawCentredString(middle, height - 110 * mm, text(HAS_MET))
    canvas.setFont(BOLD, 16)
    canvas.drawCentredString(middle, height - 122 * mm, document.scheme_name)
    canvas.setFont(FONT, 12)
    canvas.drawCentredString(middle, height - 140 * mm, text(NUMBER, number=document.number))
    canvas.drawCentredString(
        middle,
        height - 148 * mm,
        text(VALID, start=day(document.valid_from), end=day(document.valid_until)),
    )
    canvas.setLineWidth(0.8)
    canvas.line(25 * mm, 75 * mm, 95 * mm, 75 * mm)
    canvas.setFont(FONT, 9)
    canvas.drawString(25 * mm, 70 * mm, text(SIGNATURE, body=document.body_name))
    _qr(canvas, document.verification_url, width - 25 * mm - QR_SIZE, 60 * mm)
    canvas.setFont(FONT, 8)
    canvas.drawRightString(width - 25 * mm, 55 * mm, text(VERIFY))
    canvas.drawRightString(width - 25 * mm, 50 * mm, document.verification_url)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


class _StableWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer without its two changing values: the second part of the
    document id (random) and the modification date (the clock)."""

    def __init__(self, content: bytes, modified: datetime) -> None:
        super().__init__(io.BytesIO(content))
        self._modified = modified

    @classmethod
    def _handle_id(cls, prev: PdfFileReader) -> generic.ArrayObject:
        # Still a new id for the new revision, as the PDF standard asks, but one that the
        # rendered bytes decide.
        ids: generic.ArrayObject = super()._handle_id(prev)  # type: ignore[no-untyped-call]
        prev.stream.seek(0)
        digest = hashlib.sha256(prev.stream.read()).digest()[:16]
        ids[1] = generic.ByteStringObject(digest)
        return ids

    def _update_meta(self) -> None:
        super()._update_meta()  # type: ignore[no-untyped-call]
        if self._info is not None:
            info = self._info.get_object()  # type: ignore[no-untyped-call]
            info["/ModDate"] = generic.pdf_date(self._modified)


class _KeySigner(SimpleSigner):
    """pyHanko's signer with the key loaded once: its own re-reads the key for every signature,
    and loading (and checking) an RSA key costs more than the rest of the signing together."""

    def __init__(self, key: SigningKey) -> None:
        def der(certificate: Any) -> asn1_x509.Certificate:
            return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))

        private_der = key.private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        super().__init__(
            signing_cert=der(key.certificate),
            signing_key=asn1_keys.PrivateKeyInfo.load(private_der),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [der(c) for c in key.chain]
            ),
        )
        self._private_key = key.private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """Sign with the loaded key (RSA: PKCS#1 v1.5, deterministic)."""
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if (
            mechanism == "rsassa_pkcs1v15"
            and digest_algorithm == "sha256"
            and isinstance(self._private_key, rsa.RSAPrivateKey)
        ):
            return self._private_key.sign(data, PKCS1v15(), hashes.SHA256())
        result: bytes = super().sign_raw(data, digest_algorithm)
        return result


class _TimedSigner(PdfSigner):
    """pyHanko's PDF signer with a given signing time instead of the clock's."""

    def __init__(self, meta: PdfSignatureMetadata, signer: SimpleSigner, at: datetime) -> None:
        super().__init__(meta, signer)
        self._at = at

    def init_signing_session(
        self, pdf_out: Any, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        """The signing session, at the given time (the signature's /M)."""
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._at
        return session


def sign(content: bytes, key: SigningKey, *, signer_name: str, at: datetime) -> bytes:
    """``content`` (a PDF) signed with ``key`` as ``signer_name`` at ``at`` (PAdES B-B, an
    invisible field): the same arguments give the same bytes. Not on a running event loop
    (pyHanko runs its own): call it in a thread from async code.

    A certificate issued before the key's certificate became valid (an older certificate
    downloaded after the body renewed its key) is signed as at that start instead: a reader
    that checks the key at the signing time would otherwise find it not yet valid."""
    at = max(at, key.certificate.not_valid_before_utc)
    meta = PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        name=signer_name,
    )
    writer = _StableWriter(content, at)
    output = _TimedSigner(meta, _KeySigner(key), at).sign_pdf(writer)
    return bytes(output.getvalue())
