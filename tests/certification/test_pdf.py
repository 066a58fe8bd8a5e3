"""The certificate's PDF: the same bytes every time, the number in its metadata, the dates in
the holder's language, and a QR code that opens the public verification page."""

from __future__ import annotations

import io
from datetime import timedelta

import cv2
import numpy as np
import pypdf
import pypdfium2
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from certification import holders
from tests.certification.factories import certify
from tests.exam.factories import OPENS, Exam
from vakt.accounts import User
from vakt.errors import NotFound

PUBLIC_URL = "https://sertifisering.example.no/"


async def _pdf(session: AsyncSession, holder: User, certificate_id: int) -> bytes:
    _, content = await holders.certificate_pdf(
        session, holder=holder, certificate_id=certificate_id,
        body_name="Norsk Sertifisering AS", public_url=PUBLIC_URL,
    )  # fmt: skip
    return content


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
