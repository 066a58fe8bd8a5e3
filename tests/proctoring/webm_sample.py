"""A real WebM made with PyAV (VP8), for tests that need recording bytes."""

from __future__ import annotations

import fractions
import io
import itertools
import math

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


CLUSTER_ID = b"\x1f\x43\xb6\x75"
_CONTAINERS = {0x18538067, 0x1F43B675}  # Segment, Cluster: their children are walked


def _vint(data: bytes, at: int, *, keep_marker: bool) -> tuple[int, int, bool]:
    """An EBML variable-size integer at ``at``: (value, its length, whether it is an unknown
    size: all value bits set)."""
    first = data[at]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    return value, length, not keep_marker and value == (1 << (7 * length)) - 1


def cluster_starts(data: bytes) -> list[tuple[int, int]]:
    """Where each Cluster begins and its timestamp (ms): (byte offset, timestamp)."""
    found, at = [], 0
    while at < len(data):
        element, id_length, _ = _vint(data, at, keep_marker=True)
        size, size_length, unknown = _vint(data, at + id_length, keep_marker=False)
        body = at + id_length + size_length
        if element == 0x1F43B675:
            timestamp, t_id, _ = _vint(data, body, keep_marker=True)
            assert timestamp == 0xE7, "a cluster begins with its timestamp"
            t_size, t_size_length, _ = _vint(data, body + t_id, keep_marker=False)
            start = body + t_id + t_size_length
            found.append((at, int.from_bytes(data[start : start + t_size], "big")))
        at = body if element in _CONTAINERS or unknown else body + size
    return found


def _encoded(seconds: int) -> bytes:
    """A live VP8 and Opus WebM as MediaRecorder writes it (no duration, no cues; clusters of a
    second): a moving bar at 10 frames a second and a 440 Hz tone."""
    output = io.BytesIO()
    options = {"live": "1", "cluster_time_limit": "1000"}
    with av.open(output, "w", format="webm", options=options) as container:
        video = container.add_stream("libvpx", rate=10, options={"g": "10"})
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        video.bit_rate = 200_000
        audio = container.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        tone = np.arange(960) / 48000
        for n in range(seconds * 10):
            image = np.full((120, 160, 3), (n * 7) % 255, dtype=np.uint8)
            image[:, (n * 4) % 160] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = n, fractions.Fraction(1, 10)
            for packet in video.encode(frame):
                container.mux(packet)
            for k in range(n * 5, n * 5 + 5):  # 20 ms of sound each
                wave = np.sin(2 * math.pi * 440 * (tone + k * 0.02)) * 8000
                sound = av.AudioFrame.from_ndarray(
                    wave.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
                )
                sound.sample_rate, sound.pts = 48000, k * 960
                sound.time_base = fractions.Fraction(1, 48000)
                for packet in audio.encode(sound):
                    container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)
    return output.getvalue()


def make_recording(seconds: int, chunk_seconds: int) -> list[bytes]:
    """A recording as a browser uploads it: ``_encoded`` cut into one chunk per
    ``chunk_seconds``, as Chromium's MediaRecorder cuts (one byte into the next cluster)."""
    data = _encoded(seconds)
    cuts = [0]
    for offset, timestamp in cluster_starts(data):
        if timestamp >= len(cuts) * chunk_seconds * 1000:
            cuts.append(offset + 1)
    cuts.append(len(data))
    return [data[a:b] for a, b in itertools.pairwise(cuts) if b > a]
