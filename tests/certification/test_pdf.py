"""The certificate's PDF: the same bytes every time, the number in its metadata, the dates in
the holder's language, and a QR code that opens the public verification page; signed with the
body's key when it has one, so that a verifier trusting the body's certificate detects edits."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pypdf
import pypdfium2
import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from sqlalchemy.ext.asyncio import AsyncSession

from certification import holders
from tests.certification.factories import certify
from tests.exam.factories import OPENS, Exam
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.signing_key import SigningKey, create_self_signed

PUBLIC_URL = "https://sertifisering.example.no/"


BODY = "Norsk Sertifisering AS"


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    path = tmp_path_factory.mktemp("keys") / "body.p12"
    return create_self_signed(BODY, path, "et langt passord", now=datetime.now(UTC))


async def _pdf(
    session: AsyncSession, holder: User, certificate_id: int, key: SigningKey | None = None
) -> bytes:
    _, content = await holders.certificate_pdf(
        session, holder=holder, certificate_id=certificate_id,
        body_name=BODY, public_url=PUBLIC_URL, signing_key=key,
    )  # fmt: skip
    return content


def _trusting(key: SigningKey) -> ValidationContext:
    """A verifier that trusts the body's certificate (and nothing else)."""
    der = key.certificate.public_bytes(serialization.Encoding.DER)
    return ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)])


async def _validate(content: bytes, key: SigningKey) -> PdfSignatureStatus:
    reader = PdfFileReader(io.BytesIO(content), strict=False)
    [signature] = reader.embedded_signatures
    return await async_validate_pdf_signature(signature, _trusting(key))


def _qr_text(content: bytes) -> str:
    page = pypdfium2.PdfDocument(content)[0]
    image = np.ascontiguousarray(page.render(scale=3).to_numpy()[:, :, :3])
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return str(text)


@pytest.mark.asyncio
async def test_the_pdf_is_stable_and_carries_the_number(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    certificate = await certify(
        session, exam.registration_id, users["decision_maker"], OPENS + timedelta(days=5)
    )
    holder = exam.candidate
    holder.full_name, holder.language = "Åse Ødegård", "nb"
    await session.commit()
    first = await _pdf(session, holder, certificate.id)
    second = await _pdf(session, holder, certificate.id)
    assert first == second
    reader = pypdf.PdfReader(io.BytesIO(first))
    metadata = reader.metadata
    assert metadata is not None
    assert certificate.number in str(metadata.title)
    assert certificate.number in str(metadata.subject)
    assert certificate.number in str(metadata["/Keywords"])
    assert metadata["/Author"] == "Norsk Sertifisering AS"
    text = reader.pages[0].extract_text()
    assert "Norsk Sertifisering AS" in text and "Åse Ødegård" in text and "Mangfold" in text
    assert "Gyldig fra 15. desember 2026 til og med 14. desember 2029" in text
    assert "Signatur på vegne av Norsk Sertifisering AS" in text
    expected = f"https://sertifisering.example.no/verify/{certificate.number}"
    assert _qr_text(first) == expected
    holder.language = "en"
    await session.commit()
    english = pypdf.PdfReader(io.BytesIO(await _pdf(session, holder, certificate.id)))
    assert "Valid from December 15, 2026 to and including December 14, 2029" in (
        english.pages[0].extract_text()
    )


@pytest.mark.asyncio
async def test_only_the_holder_gets_the_pdf(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    certificate = await certify(
        session, exam.registration_id, users["decision_maker"], OPENS + timedelta(days=5)
    )
    with pytest.raises(NotFound):
        await _pdf(session, exam.other, certificate.id)
    with pytest.raises(NotFound):
        await _pdf(session, exam.candidate, certificate.id + 1)


@pytest.mark.asyncio
async def test_a_signed_pdf_validates_and_stays_the_same(
    session: AsyncSession, exam: Exam, users: dict[str, User], signing_key: SigningKey
) -> None:
    certificate = await certify(
        session, exam.registration_id, users["decision_maker"], OPENS + timedelta(days=5)
    )
    unsigned = await _pdf(session, exam.candidate, certificate.id)
    first = await _pdf(session, exam.candidate, certificate.id, signing_key)
    assert first == await _pdf(session, exam.candidate, certificate.id, signing_key)
    # The rendered PDF is kept whole: the signature is an incremental update after it.
    assert first.startswith(unsigned) and len(first) > len(unsigned)
    status = await _validate(first, signing_key)
    assert status.bottom_line and status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.modification_level.name == "NONE"
    assert status.signer_reported_dt == certificate.issued_at
    reader = PdfFileReader(io.BytesIO(first), strict=False)
    signature = reader.embedded_signatures[0]
    assert signature.field_name == "Signature"
    assert signature.sig_object["/Name"] == BODY
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    # Still the same certificate to read: metadata, text and QR code.
    metadata = pypdf.PdfReader(io.BytesIO(first)).metadata
    assert metadata is not None and certificate.number in str(metadata.title)
    assert BODY in pypdf.PdfReader(io.BytesIO(first)).pages[0].extract_text()
    assert _qr_text(first) == f"https://sertifisering.example.no/verify/{certificate.number}"


@pytest.mark.asyncio
async def test_an_edited_signed_pdf_is_detected(
    session: AsyncSession,
    exam: Exam,
    users: dict[str, User],
    signing_key: SigningKey,
    tmp_path: Path,
) -> None:
    certificate = await certify(
        session, exam.registration_id, users["decision_maker"], OPENS + timedelta(days=5)
    )
    signed = await _pdf(session, exam.candidate, certificate.id, signing_key)
    # Another number written over the signed bytes (same length, so the file still parses).
    number = certificate.number.encode()
    forged_number = number[:-1] + (b"8" if number[-1:] == b"9" else b"9")
    edited = signed.replace(number, forged_number)
    assert edited != signed
    status = await _validate(edited, signing_key)
    assert not status.intact and not status.bottom_line
    # A new page content added after the signature, as an incremental update.
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0]
    forged = generic.StreamObject(stream_data=b"BT /F1 30 Tf 100 400 Td (Forged) Tj ET")
    page["/Contents"] = writer.add_object(forged)
    writer.update_container(page)
    appended = io.BytesIO()
    writer.write(appended)
    status = await _validate(appended.getvalue(), signing_key)
    assert not status.bottom_line
    assert status.coverage.name != "ENTIRE_FILE"
    assert status.modification_level.name == "OTHER"
    # A verifier that trusts only another body's certificate does not trust this signature.
    stranger = create_self_signed(BODY, tmp_path / "other.p12", "", now=datetime.now(UTC))
    reader = PdfFileReader(io.BytesIO(signed), strict=False)
    status = await async_validate_pdf_signature(reader.embedded_signatures[0], _trusting(stranger))
    assert status.intact and not status.trusted and not status.bottom_line


@pytest.mark.asyncio
async def test_without_a_key_the_pdf_is_unsigned(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    certificate = await certify(
        session, exam.registration_id, users["decision_maker"], OPENS + timedelta(days=5)
    )
    content = await _pdf(session, exam.candidate, certificate.id)
    assert PdfFileReader(io.BytesIO(content)).embedded_signatures == []
    assert b"/Sig" not in content


@pytest.mark.asyncio
async def test_a_key_newer_than_the_certificate_signs_as_at_its_own_start(
    session: AsyncSession, exam: Exam, users: dict[str, User], tmp_path: Path
) -> None:
    certificate = await certify(
        session, exam.registration_id, users["decision_maker"], OPENS + timedelta(days=5)
    )
    renewed = create_self_signed(
        BODY, tmp_path / "renewed.p12", "", now=certificate.issued_at + timedelta(days=400)
    )
    content = await _pdf(session, exam.candidate, certificate.id, renewed)
    assert content == await _pdf(session, exam.candidate, certificate.id, renewed)
    status = await _validate(content, renewed)
    assert status.bottom_line
    assert status.signer_reported_dt == renewed.certificate.not_valid_before_utc
