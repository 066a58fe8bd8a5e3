"""What a serving process needs for live proctoring: the hub with the real analysis behind it.

Face presence runs in a thread pool (the detectors release the GIL). The identity comparison
runs in a separate process: dlib's face network holds the GIL for ~75 ms a face, which in a
thread would stall the event loop, and with it every candidate's saves, for that long.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from proctoring import analysis
from proctoring.identity import face_identifier
from proctoring.live import FrameAnalysis, LiveHub

_local = threading.local()


def _detector() -> analysis.FaceDetector:
    # One detector per worker thread; dlib's HOG detector counted every test photo right without
    # tuning, where the Haar cascade needed it (bench/README.md).
    detector: analysis.FaceDetector | None = getattr(_local, "detector", None)
    if detector is None:
        detector = _local.detector = analysis.DlibFaceDetector()
    return detector


def describe_face(image: NDArray[np.uint8], box: analysis.FaceBox) -> tuple[float, ...] | None:
    """The descriptor of the face in ``box`` (run in the identity process)."""
    return face_identifier().describe(image, box=box).descriptor


class LiveAnalysis:
    """Analyses one sampled live frame: faces here, identity in ``identity_pool``."""

    def __init__(self, identity_pool: Executor) -> None:
        self.identity_pool = identity_pool

    def __call__(
        self, image: NDArray[np.uint8], want_distance: bool, reference: tuple[float, ...] | None
    ) -> FrameAnalysis:
        """Faces on the frame and, when asked, the distance of the one face to ``reference``."""
        boxes = _detector().detect(image)
        if not want_distance or reference is None or len(boxes) != 1:
            return analysis.FrameResult(face_count=len(boxes))
        descriptor = self.identity_pool.submit(describe_face, image, boxes[0]).result()
        distance = None if descriptor is None else analysis.face_distance(descriptor, reference)
        return analysis.FrameResult(face_count=len(boxes), distance=distance)


def create_live_hub(
    executor: Executor, identity_pool: Executor, clock: Callable[[], datetime]
) -> LiveHub:
    """The process's live hub, analysing sampled frames in ``executor``."""
    return LiveHub(executor, clock, LiveAnalysis(identity_pool), analysis.SpeechDetector)
