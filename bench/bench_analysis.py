"""Proctoring analysis benchmark: face presence and identity checks per second per core.

Prints how many face presence checks (Haar and dlib HOG) and identity checks (descriptor and
distance to a reference) one core does on 640x480 camera frames made from the shared test
photos, and how fast the speech detector follows a 48 kHz stereo stream. Single-threaded: OpenCV
is held to one thread (``--opencv-threads``). Not part of the test run. Usage:

    python bench/bench_analysis.py [--frames 300] [--opencv-threads 1] [--threads 2]
    taskset -c 1 python bench/bench_analysis.py      # pinned to one core

``--threads N`` (N > 1) also runs the checks from a pool of N threads, as the server does, to
show how they scale: the detectors release the GIL, dlib's face network does not.

"per core" divides by the CPU time this process used, "wall" by the elapsed time; "other CPU" is
what the rest of the machine used meanwhile (100 % = one core). Targets: >= 30 presence checks/s
and >= 10 identity checks/s per core.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from proctoring.analysis import (
    DlibFaceDetector,
    FaceIdentifier,
    HaarFaceDetector,
    SpeechDetector,
    analyze_frame,
    decode_image,
    face_distance,
    match,
)

FACES = Path(__file__).resolve().parent.parent.parent / "shared" / "testdata" / "faces"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Image = NDArray[np.uint8]


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine so far (all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


def camera_frame(name: str, width: int = 640, height: int = 480) -> Image:
    """A test photo scaled to fit a 640x480 frame and padded with black, like a webcam image."""
    image = decode_image((FACES / name).read_bytes())
    scale = min(width / image.shape[1], height / image.shape[0])
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - size[1]) // 2, (width - size[0]) // 2
    frame[top : top + size[1], left : left + size[0]] = resized
    return frame


@dataclass
class Result:
    """One measured check."""

    name: str
    iterations: int
    wall: float
    cpu: float
    other_cpu: float
    correct: int

    @property
    def per_core(self) -> float:
        return self.iterations / self.cpu

    @property
    def per_wall(self) -> float:
        return self.iterations / self.wall


def measure(name: str, iterations: int, check: Callable[[int], bool], warmup: int = 5) -> Result:
    """Run ``check(i)`` ``iterations`` times; it returns whether its answer was right."""
    for i in range(warmup):
        check(i)
    busy, cpu, wall = machine_busy(), time.process_time(), time.perf_counter()
    correct = sum(check(i) for i in range(iterations))
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    other = max(0.0, machine_busy() - busy - cpu)
    return Result(name, iterations, wall, cpu, other / wall, correct)


def measure_threads(
    name: str, iterations: int, check: Callable[[int], bool], threads: int
) -> Result:
    """Like ``measure``, with the checks spread over a pool of ``threads`` threads."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(check, range(threads * 3)))  # every thread builds its detectors
        busy, cpu, wall = machine_busy(), time.process_time(), time.perf_counter()
        correct = sum(pool.map(check, range(iterations)))
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
    other = max(0.0, machine_busy() - busy - cpu)
    return Result(name, iterations, wall, cpu, other / wall, correct)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=300, help="checks per measurement")
    parser.add_argument(
        "--opencv-threads", type=int, default=1, help="OpenCV's worker threads (default 1)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="also measure from a pool of this many threads"
    )
    args = parser.parse_args()
    if not FACES.is_dir():
        parser.error(f"test photos not found in {FACES}")
    cv2.setNumThreads(args.opencv_threads)
    n = args.frames

    one = camera_frame("obama.jpg")
    two = camera_frame("two_people.jpg")
    other_person = camera_frame("biden.jpg")
    presence_frames = [(one, 1), (two, 2)]

    started = time.perf_counter()
    haar = HaarFaceDetector()
    haar_load = time.perf_counter() - started
    started = time.perf_counter()
    hog = DlibFaceDetector()
    hog.detect(one)  # the first call in a thread builds that thread's detector
    hog_load = time.perf_counter() - started
    started = time.perf_counter()
    identifier = FaceIdentifier()
    identifier.load()
    models_load = time.perf_counter() - started
    reference = identifier.describe(decode_image((FACES / "obama2.jpg").read_bytes())).descriptor
    assert reference is not None
    identity_frames = [(one, True), (other_person, False)]

    def presence(detector: HaarFaceDetector | DlibFaceDetector) -> Callable[[int], bool]:
        def check(i: int) -> bool:
            frame, faces = presence_frames[i % 2]
            return len(detector.detect(frame)) == faces

        return check

    def identity(i: int) -> bool:
        frame, same = identity_frames[i % 2]
        description = identifier.describe(frame)
        if description.descriptor is None:
            return False
        return match(face_distance(description.descriptor, reference)) == same

    (one_box,) = hog.detect(one)

    def descriptor_only(i: int) -> bool:
        return identifier.describe(one, box=one_box).descriptor is not None

    def live_check(i: int) -> bool:
        frame, same = identity_frames[i % 2]
        result = analyze_frame(frame, haar, identifier, reference)
        return result.distance is not None and match(result.distance) == same

    results = [
        measure("presence, Haar (1 and 2 faces)", n, presence(haar)),
        measure("presence, dlib HOG (1 and 2 faces)", n, presence(hog)),
        measure("identity: describe + distance", n, identity),
        measure("  of which the descriptor alone", n, descriptor_only),
        measure("presence (Haar) + identity", n, live_check),
    ]

    # Speech: 48 kHz stereo in 20 ms packets, as WebRTC's Opus decoder delivers it.
    rng = np.random.default_rng(0)
    seconds = 60
    audio = rng.normal(0, 300, (48000 * seconds, 2))
    t = np.arange(48000 * seconds) / 48000
    tone = 3000 * np.sin(2 * np.pi * 150 * t) * (np.floor(t) % 2)  # a second on, a second off
    audio += tone[:, None]
    packets = np.clip(audio, -32768, 32767).astype("<i2").reshape(-1, 960, 2)
    packet_bytes = [packet.tobytes() for packet in packets]
    speech = SpeechDetector()

    def feed(i: int) -> bool:
        speech.feed(packet_bytes[i % len(packet_bytes)], 48000, 2, at=i * 0.02)
        return True

    vad = measure("speech, 20 ms packets 48 kHz stereo", len(packet_bytes), feed)

    print(
        f"models: Haar cascade {haar_load * 1000:.0f} ms, dlib HOG detector {hog_load * 1000:.0f} "
        f"ms, shape predictor + face network {models_load * 1000:.0f} ms (wall, first use)"
    )
    print(f"{n} checks each on 640x480 frames; OpenCV threads: {args.opencv_threads}")
    print()
    print("| check | per s per core | per s (wall) | ms CPU per check | right | other CPU |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.name} | {r.per_core:.1f} | {r.per_wall:.1f} | {r.cpu / r.iterations * 1000:.1f} "
            f"| {r.correct}/{r.iterations} | {r.other_cpu:.0%} |"
        )
    print(
        f"| {vad.name} | {vad.per_core:.0f} packets = {vad.per_core * 0.02:.0f}x real time "
        f"| {vad.per_wall:.0f} | {vad.cpu / vad.iterations * 1000:.2f} | - | {vad.other_cpu:.0%} |"
    )

    if args.threads > 1:
        threaded = [
            measure_threads("presence, Haar", n, presence(haar), args.threads),
            measure_threads("presence, dlib HOG", n, presence(hog), args.threads),
            measure_threads("identity: describe + distance", n, identity, args.threads),
        ]
        print()
        print(f"From a pool of {args.threads} threads:")
        print()
        print("| check | per s (wall) | CPU used | right | other CPU |")
        print("|---|---|---|---|---|")
        for r in threaded:
            print(
                f"| {r.name} | {r.per_wall:.1f} | {r.cpu / r.wall:.0%} | {r.correct}/{r.iterations} "
                f"| {r.other_cpu:.0%} |"
            )


if __name__ == "__main__":
    main()
