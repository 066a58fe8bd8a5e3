"""Face presence: finding the faces in a camera frame or a photo (``FaceDetector``), with OpenCV's
Haar cascade or dlib's HOG detector. An instance may be shared between threads: each thread lazily
gets its own native detector.

OpenCV parallelises some calls over its own threads; a caller running many frames in a thread
pool may prefer ``cv2.setNumThreads(1)`` so that the two do not compete for the same cores.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol, cast

import cv2
import dlib

from proctoring.images import Image, check_image, shrink, to_grey, to_rgb


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A face's bounding box in image pixels; ``right`` and ``bottom`` are exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.bottom - self.top

    def scaled(self, factor: float) -> FaceBox:
        """The box with every coordinate multiplied by ``factor`` (rounded)."""
        return FaceBox(
            round(self.left * factor),
            round(self.top * factor),
            round(self.right * factor),
            round(self.bottom * factor),
        )


class FaceDetector(Protocol):
    """Finds the faces in an image."""

    def detect(self, image_bgr: Image) -> list[FaceBox]:
        """The faces in a BGR (or grey) image, in its pixel coordinates."""
        ...


class HaarFaceDetector:
    """OpenCV's Viola-Jones detector (``haarcascade_frontalface_default.xml``).

    The image is scaled down so that its longer side is at most ``max_side`` pixels (the cascade
    is no more accurate on more pixels, and its cost grows with them), and faces smaller than
    ``min_face`` times the shorter side are ignored. The defaults count every test photo right,
    as a 640x480 frame and at its own size, mirrored, darkened, blurred or re-compressed.
    Histogram equalisation is off by default: the cascade normalises each window's contrast
    itself, and equalising the whole frame made it see faces in shirt collars and ties.

    With the defaults a 640x480 frame is scanned at 400x300, and faces from about 58 pixels
    wide (an eighth of the frame's height) are found.

    An instance may be shared between threads: ``cv2.CascadeClassifier`` is not safe for
    concurrent use, so each thread loads its own (about 10 ms, once per thread).
    """

    def __init__(
        self,
        *,
        max_side: int = 400,
        scale_factor: float = 1.2,
        min_neighbors: int = 5,
        min_face: float = 0.12,
        equalize: bool = False,
        cascade_path: str | None = None,
    ) -> None:
        if max_side < 48 or scale_factor <= 1.0 or min_neighbors < 0 or not 0 < min_face < 1:
            raise ValueError("invalid Haar detector parameters")
        self.max_side = max_side
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_face = min_face
        self.equalize = equalize
        self.cascade_path = cascade_path or (
            cv2.data.haarcascades  # type: ignore[attr-defined]
            + "haarcascade_frontalface_default.xml"
        )
        self._local = threading.local()
        self._cascade()  # fail here, not in a worker, when the file is missing

    def _cascade(self) -> cv2.CascadeClassifier:
        cascade: cv2.CascadeClassifier | None = getattr(self._local, "cascade", None)
        if cascade is None:
            cascade = cv2.CascadeClassifier(self.cascade_path)
            if cascade.empty():
                raise RuntimeError(f"cannot load the Haar cascade {self.cascade_path}")
            self._local.cascade = cascade
        return cascade

    def detect(self, image_bgr: Image) -> list[FaceBox]:
        """The faces in a BGR (or grey) image, in its pixel coordinates."""
        check_image(image_bgr)
        # Scaling the grey image is cheaper than scaling three colour channels.
        grey, factor = shrink(to_grey(image_bgr), self.max_side)
        if self.equalize:
            grey = cast(Image, cv2.equalizeHist(grey))
        smallest = max(24, round(min(grey.shape[:2]) * self.min_face))
        if smallest > min(grey.shape[:2]):
            return []
        found = self._cascade().detectMultiScale(
            grey,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(smallest, smallest),
        )
        return [
            FaceBox(int(x), int(y), int(x + w), int(y + h)).scaled(factor) for x, y, w, h in found
        ]


_dlib_local = threading.local()


def _hog_detector() -> Any:
    # dlib's object detectors are not safe for concurrent use (their documentation says so), but
    # they release the GIL while scanning, so one per thread runs in parallel.
    detector = getattr(_dlib_local, "detector", None)
    if detector is None:
        detector = dlib.get_frontal_face_detector()
        _dlib_local.detector = detector
    return detector


class DlibFaceDetector:
    """dlib's HOG + linear SVM frontal face detector.

    Its 80x80 window finds faces from about 55 pixels wide in the image it scans; ``upsample``
    doubles the image that many times first (finding faces half as big each time, at about four
    times the cost). Images are first scaled down to at most ``max_side`` pixels on the longer
    side. With the defaults (640, no upsampling) a 640x480 frame is scanned as is, and every
    test photo is counted right.

    An instance may be shared between threads: each thread gets its own dlib detector, built on
    its first call (about 0.25 s). The scan releases the GIL, so threads run in parallel.
    """

    def __init__(self, *, max_side: int = 640, upsample: int = 0, threshold: float = 0.0) -> None:
        if max_side < 80 or upsample not in (0, 1, 2):
            raise ValueError("invalid dlib detector parameters")
        self.max_side = max_side
        self.upsample = upsample
        self.threshold = threshold

    def detect(self, image_bgr: Image) -> list[FaceBox]:
        """The faces in a BGR (or grey) image, in its pixel coordinates."""
        check_image(image_bgr)
        small, factor = shrink(image_bgr, self.max_side)
        return [box.scaled(factor) for box in self.detect_scaled(small)]

    def detect_scaled(self, image_bgr: Image) -> list[FaceBox]:
        """The faces in an image already no larger than ``max_side``, in its coordinates."""
        rectangles, _scores, _kinds = _hog_detector().run(
            to_rgb(image_bgr), self.upsample, self.threshold
        )
        height, width = image_bgr.shape[:2]
        # dlib's rectangles are inclusive and may reach past the edges for faces at the border.
        return [
            FaceBox(
                max(0, int(r.left())),
                max(0, int(r.top())),
                min(width, int(r.right()) + 1),
                min(height, int(r.bottom()) + 1),
            )
            for r in rectangles
        ]
