"""Analysis of proctoring media: faces in camera frames, identity, and speech in microphone audio.

Pure functions and small stateful helpers; nothing here touches the database or HTTP. Image work
is CPU-bound and meant to run in a thread pool. The work is split by job, and this module names
it all in one place:

- ``decode_image`` (``images``) turns uploaded bytes into a BGR image, refusing what is not a
  JPEG or PNG photo of a sane size (a ``VaktError`` with status 422).
- ``HaarFaceDetector`` and ``DlibFaceDetector`` (``faces``) count faces (the ``FaceDetector``
  protocol).
- ``FaceIdentifier`` (``descriptors``) computes dlib's 128-number face descriptor;
  ``face_distance`` and ``match`` compare two of them.
- ``analyze_frame`` (here) does the per-frame check of a sampled video frame: how many faces, and
  the distance to the candidate's reference descriptor when exactly one face is seen.
- ``SpeechDetector`` (``voice``) follows a PCM audio stream and reports when speaking starts and
  stops.
"""

from __future__ import annotations

from dataclasses import dataclass

from proctoring.descriptors import (
    DEFAULT_MATCH_THRESHOLD,
    DESCRIPTOR_SIZE,
    Descriptor,
    FaceDescription,
    FaceIdentifier,
    face_distance,
    match,
)
from proctoring.faces import DlibFaceDetector, FaceBox, FaceDetector, HaarFaceDetector
from proctoring.images import MAX_IMAGE_PIXELS, Image, decode_image
from proctoring.voice import SpeechChange, SpeechDetector, SpeechSegment, detect_speech

__all__ = [
    "DEFAULT_MATCH_THRESHOLD",
    "DESCRIPTOR_SIZE",
    "MAX_IMAGE_PIXELS",
    "DlibFaceDetector",
    "FaceBox",
    "FaceDescription",
    "FaceDetector",
    "FaceIdentifier",
    "FrameResult",
    "HaarFaceDetector",
    "SpeechChange",
    "SpeechDetector",
    "SpeechSegment",
    "analyze_frame",
    "decode_image",
    "detect_speech",
    "face_distance",
    "match",
]


@dataclass(frozen=True, slots=True)
class FrameResult:
    """The check of one video frame: the number of faces, and when exactly one face was seen
    and a reference was given, its distance to the reference descriptor."""

    face_count: int
    distance: float | None = None


def analyze_frame(
    image_bgr: Image,
    detector: FaceDetector,
    identifier: FaceIdentifier | None = None,
    reference_descriptor: Descriptor | None = None,
) -> FrameResult:
    """Count the faces in a frame and, when asked, compare the one face with a reference.

    The distance is computed only when ``identifier`` and ``reference_descriptor`` are given
    and ``detector`` sees exactly one face. The box of a ``DlibFaceDetector`` or a
    ``HaarFaceDetector`` is reused; with another detector the identifier looks for the face
    itself, and the distance stays None unless it finds exactly one. Safe to call from worker
    threads.
    """
    boxes = detector.detect(image_bgr)
    if identifier is None or reference_descriptor is None or len(boxes) != 1:
        return FrameResult(face_count=len(boxes))
    hint = boxes[0] if isinstance(detector, DlibFaceDetector | HaarFaceDetector) else None
    description = identifier.describe(image_bgr, box=hint)
    if description.descriptor is None:
        return FrameResult(face_count=len(boxes))
    return FrameResult(
        face_count=len(boxes),
        distance=face_distance(description.descriptor, reference_descriptor),
    )
