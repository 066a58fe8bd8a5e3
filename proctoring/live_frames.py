"""What happens to a sampled live frame in the executor: is it dark, how many faces (and, when
asked, how far the one face is from the reference), and a small JPEG of it as evidence.

Module-level functions, so that the job can be sent to a process pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from proctoring.live_config import Analyze, LiveConfig


@dataclass(frozen=True, slots=True)
class Sample:
    """The analysis of one sampled frame, with the frame as evidence."""

    face_count: int
    distance: float | None
    dark: bool
    jpeg: bytes


def analyse_sample(
    image: NDArray[np.uint8],
    analyze: Analyze,
    want_distance: bool,
    reference: tuple[float, ...] | None,
    config: LiveConfig,
) -> Sample:
    """Analyse one sampled frame and keep it as evidence; runs in the executor."""
    probe = image[::4, ::4]
    dark = float(probe.mean()) < config.dark_level and float(probe.std()) < config.dark_level
    face_count = 0
    distance: float | None = None
    if not dark:
        # Nothing to find on a black frame: skip the detector.
        result = analyze(image, want_distance and reference is not None, reference)
        face_count = int(result.face_count)
        distance = None if result.distance is None else float(result.distance)
    return Sample(face_count, distance, dark, _jpeg(image, config))


def _jpeg(image: NDArray[np.uint8], config: LiveConfig) -> bytes:
    height, width = image.shape[:2]
    if width > config.evidence_max_width:
        scaled = (
            config.evidence_max_width,
            max(1, round(height * config.evidence_max_width / width)),
        )
        image = cast("NDArray[np.uint8]", cv2.resize(image, scaled, interpolation=cv2.INTER_AREA))
    ok, encoded = cv2.imencode(
        ".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, config.evidence_jpeg_quality]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return encoded.tobytes()
