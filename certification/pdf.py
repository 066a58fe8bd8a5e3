"""The certificate as a PDF: the body's name, the holder, the scheme, the number, the validity
dates (the body's dates, written in the holder's language), a signature line and a QR code
that opens the public verification page.

ReportLab in invariant mode writes no creation time and no random document id, and the QR code
is drawn as squares from segno's matrix, so the same certificate always gives the same bytes.
The number is in the document's title, subject and keywords, so a file found on its own says
which certificate it is. Bitstream Vera (shipped with ReportLab) is embedded: the text looks
the same everywhere and Norwegian letters need no system font."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import reportlab
import segno
from babel.dates import format_date
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from vakt.i18n import DEFAULT_LANGUAGE, LANGUAGES, _l, translations_for

FONT, BOLD = "VaktVera", "VaktVeraBold"
_FONT_DIR = Path(reportlab.__file__).parent / "fonts"
QR_SIZE = 40 * mm

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
