"""Identity: dlib's face network describes a face with 128 numbers (a descriptor); two faces
whose descriptors are close enough are taken to be the same person. The models are loaded once
per process, on first use."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import dlib
import face_recognition_models
import numpy as np
from numpy.typing import NDArray

from proctoring.faces import DlibFaceDetector, FaceBox
from proctoring.images import Image, check_image, shrink, to_rgb

Descriptor = Sequence[float] | NDArray[np.floating[Any]]

DESCRIPTOR_SIZE: Final = 128

# dlib's documented operating point for its face descriptor: pairs of one person are at most this
# far apart (99.38 % on LFW). Test photos: same person 0.36-0.41, others 0.81-0.88.
DEFAULT_MATCH_THRESHOLD: Final = 0.6


@dataclass(frozen=True, slots=True)
class FaceDescription:
    """What ``FaceIdentifier.describe`` saw: how many faces, and for exactly one, its descriptor
    (128 numbers) and box."""

    face_count: int
    box: FaceBox | None = None
    descriptor: tuple[float, ...] | None = None

    def to_list(self) -> list[float] | None:
        """The descriptor as a JSON-friendly list, or None when there is none."""
        return None if self.descriptor is None else list(self.descriptor)


class _Models:
    def __init__(self) -> None:
        self.shape_predictor: Any = dlib.shape_predictor(
            face_recognition_models.pose_predictor_five_point_model_location()
        )
        self.encoder: Any = dlib.face_recognition_model_v1(
            face_recognition_models.face_recognition_model_location()
        )
        # The encoder is a dlib neural network, whose buffers are not safe for concurrent use; it
        # holds the GIL while it runs anyway, so serialising it costs no parallelism.
        self.encoder_lock = threading.Lock()


_models: _Models | None = None
_models_lock = threading.Lock()


def _load_models() -> _Models:
    global _models
    if _models is None:
        with _models_lock:
            if _models is None:
                _models = _Models()
    return _models


def _as_descriptor(value: Descriptor) -> NDArray[np.float64]:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (DESCRIPTOR_SIZE,):
        raise ValueError(f"a face descriptor has {DESCRIPTOR_SIZE} numbers, not {array.shape}")
    return array


def face_distance(a: Descriptor, b: Descriptor) -> float:
    """The Euclidean distance between two face descriptors (0 for the same picture)."""
    return float(np.linalg.norm(_as_descriptor(a) - _as_descriptor(b)))


def match(distance: float, threshold: float = DEFAULT_MATCH_THRESHOLD) -> bool:
    """Whether two descriptors this far apart are taken to be the same person."""
    return distance <= threshold


class FaceIdentifier:
    """Computes dlib's face descriptor (ResNet, 128 numbers) for the one face in an image.

    The face is found with dlib's HOG detector (the landmark model was trained on its boxes),
    the five landmarks align it, and the network describes it. The models (~30 MB) are loaded
    once per process, on the first ``describe`` or by ``load()`` (0.12 s on the benchmark
    machine; each thread's first detection also builds its HOG detector, 0.3 s).

    An instance may be shared between threads. The network runs one face at a time, and it holds
    the GIL while it does (about 75 ms a face on the benchmark machine): every other Python
    thread of the process, an event loop included, waits that long. Where that matters, describe
    faces in another process.
    """

    def __init__(self, *, detector: DlibFaceDetector | None = None, num_jitters: int = 0) -> None:
        # num_jitters > 0 describes that many randomly shifted copies and averages them: a
        # little more stable, proportionally slower.
        if num_jitters < 0:
            raise ValueError("num_jitters must not be negative")
        self.detector = detector or DlibFaceDetector()
        self.num_jitters = num_jitters

    @staticmethod
    def load() -> None:
        """Load the models now rather than on the first ``describe``."""
        _load_models()

    def describe(self, image_bgr: Image, box: FaceBox | None = None) -> FaceDescription:
        """Find the faces in a BGR image and describe the face when there is exactly one.

        ``box`` (in the image's coordinates) skips detection: it is taken as the only face.
        The landmark model was trained on dlib's boxes; boxes from ``HaarFaceDetector`` frame
        the face a little differently, which moved the test photos' descriptors by at most 0.07
        (against a 0.6 threshold), so they may be passed too.
        """
        check_image(image_bgr)
        models = _load_models()
        small, factor = shrink(image_bgr, self.detector.max_side)
        if box is None:
            boxes = self.detector.detect_scaled(small)
            if len(boxes) != 1:
                return FaceDescription(face_count=len(boxes))
            found = boxes[0]
            box = found.scaled(factor)
        else:
            found = box.scaled(1 / factor)
        rgb = to_rgb(small)
        rectangle = dlib.rectangle(found.left, found.top, found.right - 1, found.bottom - 1)
        shape = models.shape_predictor(rgb, rectangle)
        with models.encoder_lock:
            vector = models.encoder.compute_face_descriptor(rgb, shape, self.num_jitters)
        return FaceDescription(
            face_count=1,
            box=box,
            descriptor=tuple(float(value) for value in vector),
        )
