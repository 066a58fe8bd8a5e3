"""A real WebM made with PyAV (VP8), for tests that need recording bytes."""

from __future__ import annotations

import io

import av
import numpy as np


def make_webm(frames: int = 20, width: int = 160, height: int = 120) -> bytes:
    """A short VP8 WebM video of moving noise."""
    output = io.BytesIO()
    with av.open(output, "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        rng = np.random.default_rng(1)
        for _ in range(frames):
            image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return output.getvalue()


def split(data: bytes, sizes: list[int]) -> list[bytes]:
    """Cut ``data`` into pieces of these sizes (the rest is the last piece), as MediaRecorder
    cuts its stream wherever it happens to be."""
    pieces, at = [], 0
    for size in sizes:
        pieces.append(data[at : at + size])
        at += size
    pieces.append(data[at:])
    return [piece for piece in pieces if piece]
