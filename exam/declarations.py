"""The code of conduct and the self-declaration a candidate accepts before the exam.

The acceptance stores the text's version and a SHA-256 digest of the exact paragraphs shown, in
the candidate's language, so the body can later show what was accepted. Change ``TEXT_VERSION``
whenever the wording changes in substance: candidates then accept the new text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from vakt.i18n import LazyText, _l

TEXT_VERSION = "2026-11-1"

CODE_OF_CONDUCT: tuple[LazyText, ...] = (
    _l("I take the exam alone, without help from anyone, in a room where I am not disturbed."),
    _l(
        "I use only the aids the exam allows. I keep phones and other communication devices "
        "switched off and out of reach."
    ),
    _l(
        "I keep the camera and the microphone on for the whole exam, and my face visible to the "
        "camera."
    ),
    _l("I do not copy, record, photograph or pass on the questions, during or after the exam."),
    _l(
        "I understand that cheating or attempted cheating ends the exam at once with the result "
        "\u201cIkke bestått\u201d (not passed), and that further sanctions may follow."
    ),
)

SELF_DECLARATION: tuple[LazyText, ...] = (
    _l(
        "I accept the rules of the digital exam, including control by camera, microphone, "
        "photos and video recording during the exam."
    ),
    _l(
        "I know that the recordings are confidential, used only to verify my identity and to "
        "prevent cheating, and deleted when the result and any appeal are final."
    ),
    _l(
        "I consent to the processing of my personal data for the exam, its grading and the "
        "certification decision, as the certification body's privacy statement describes."
    ),
    _l("I am the person registered for this exam, and I answer on my own."),
)


def text_digest(paragraphs: Sequence[str]) -> str:
    """SHA-256 of the paragraphs exactly as shown (canonical JSON of the list)."""
    canonical = json.dumps(list(paragraphs), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
