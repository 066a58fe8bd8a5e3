"""A synthetic camera and microphone for live-channel tests: aiortc tracks a client peer
connection sends (a face photo or black frames; a tone or digital silence)."""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import cv2
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from numpy.typing import NDArray

from tests.conftest import shared_testdata


def face_image() -> NDArray[np.uint8]:
    """The face photo, letterboxed into 640x480."""
    photo = cv2.imread(str(shared_testdata("faces", "obama.jpg")))
    assert photo is not None
    height, width = photo.shape[:2]
    scale = min(640 / width, 480 / height)
    resized = cv2.resize(photo, (int(width * scale), int(height * scale)))
    canvas = np.full((480, 640, 3), 90, dtype=np.uint8)
    top = (480 - resized.shape[0]) // 2
    left = (640 - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return canvas


class CameraTrack(MediaStreamTrack):
    """640x480 frames of a photo at 10 fps; black frames while ``dark`` is set."""

    kind = "video"

    def __init__(self, image: NDArray[np.uint8]) -> None:
        super().__init__()
        self.image = image
        self.black = np.zeros_like(image)
        self.dark = False
        self.count = 0
        self.start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self.start + self.count / 10 - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(self.black if self.dark else self.image, format="bgr24")
        frame.pts = self.count * 9000
        frame.time_base = fractions.Fraction(1, 90000)
        self.count += 1
        return frame


class MicrophoneTrack(MediaStreamTrack):
    """48 kHz mono 20 ms frames: a tone, or zeros while ``muted`` (as a muted microphone sends)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.muted = False
        self.count = 0
        self.start: float | None = None
        t = np.arange(960) / 48000
        self.tone = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        self.silence = np.zeros((1, 960), dtype=np.int16)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self.start + self.count * 0.02 - time.monotonic()))
        samples = self.silence if self.muted else self.tone
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self.count * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self.count += 1
        return frame
