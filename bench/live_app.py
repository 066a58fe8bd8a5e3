"""The server for bench_live.py: a bare Starlette app around ``proctoring.live.LiveHub``.

It measures the live channel alone, without the rest of Vakt: no sign-in, no database, no flag
logic (observations are only counted). ``POST /offer`` takes ``{"registration_id", "sdp", "type"}``
and answers ``{"sdp", "type"}``; ``GET /stats`` sums the connections' counters. The analysis is the
real one (``proctoring.analysis``: Haar presence detection on every sample, the identity distance
against the face in ``obama.jpg`` every ``BENCH_LIVE_IDENTITY_INTERVAL`` seconds, the speech
detector on all the audio). Not part of the product package; served by uvicorn:

    BENCH_LIVE_SAMPLE_INTERVAL=2 BENCH_LIVE_IDENTITY_INTERVAL=30 \\
        uvicorn live_app:create_app --factory --app-dir bench --port 8000

Environment: ``BENCH_LIVE_SAMPLE_INTERVAL`` (seconds, default 2), ``BENCH_LIVE_IDENTITY_INTERVAL``
(seconds, 0 = off, default 30), ``BENCH_LIVE_THREADS`` (analysis threads, default 2),
``BENCH_LIVE_PROCESSES`` (analysis processes instead of threads when > 0, default 0),
``BENCH_LIVE_SPEECH`` (1 = feed the speech detector, the default; 0 = off),
``BENCH_LIVE_FACE_PHOTO`` (the reference photo; default ../shared/testdata/faces/obama.jpg).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from proctoring import analysis
from proctoring.live import FrameAnalysis, LiveConfig, LiveHub, LiveKey
from proctoring.observations import (
    ConnectionChanged,
    FacesObserved,
    Observation,
    SpeechChanged,
    TrackChanged,
)

logger = logging.getLogger("bench.live_app")

DEFAULT_PHOTO = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "faces" / "obama.jpg"


_tools: dict[str, Any] = {}


def _real_analyze(
    image: NDArray[np.uint8], want_distance: bool, reference: tuple[float, ...] | None
) -> FrameAnalysis:
    """The project's analysis, as the serving process runs it; module-level so that a process
    pool can run it (each process makes its own detector and identifier)."""
    if not _tools:
        _tools["detector"] = analysis.HaarFaceDetector()  # one native cascade per thread inside
        _tools["identifier"] = analysis.FaceIdentifier()
    result: FrameAnalysis = analysis.analyze_frame(
        image,
        _tools["detector"],
        identifier=_tools["identifier"] if want_distance and reference else None,
        reference_descriptor=reference if want_distance else None,
    )
    return result


def _real_analysis(photo: Path) -> tuple[Callable[..., FrameAnalysis], tuple[float, ...] | None]:
    """``_real_analyze`` and the reference descriptor of the face in ``photo``."""
    reference: tuple[float, ...] | None = None
    image = cv2.imread(str(photo))
    if image is not None:
        description = analysis.FaceIdentifier().describe(image.astype(np.uint8, copy=False))
        if description.descriptor is not None:
            reference = tuple(float(x) for x in description.descriptor)
    return _real_analyze, reference


def create_app() -> Starlette:
    """The benchmark's app, configured from the environment."""
    sample_interval = float(os.environ.get("BENCH_LIVE_SAMPLE_INTERVAL", "2"))
    identity_interval = float(os.environ.get("BENCH_LIVE_IDENTITY_INTERVAL", "30"))
    threads = int(os.environ.get("BENCH_LIVE_THREADS", "2"))
    processes = int(os.environ.get("BENCH_LIVE_PROCESSES", "0"))
    speech = os.environ.get("BENCH_LIVE_SPEECH", "1") != "0"
    photo = Path(os.environ.get("BENCH_LIVE_FACE_PHOTO", str(DEFAULT_PHOTO)))

    analyze, reference = _real_analysis(photo)
    config = LiveConfig(
        sample_interval_seconds=sample_interval,
        identity_interval_seconds=identity_interval,
        reference_descriptor=reference,
        speech_detection=speech,
    )
    executor: Executor
    if processes:
        executor = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
    else:
        executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="live-analysis")
    hub = LiveHub(executor, lambda: datetime.now(UTC), analyze, analysis.SpeechDetector)
    observed: Counter[str] = Counter()
    last: dict[int, dict[str, int]] = {}

    async def count(key: LiveKey, observation: Observation) -> None:
        if isinstance(observation, FacesObserved):
            observed["samples"] += 1
            observed["identity checks"] += observation.distance is not None
            observed["one face"] += observation.face_count == 1
            observed["dark"] += observation.dark
        elif isinstance(observation, TrackChanged):
            observed[f"{observation.kind} {observation.state}"] += 1
        elif isinstance(observation, ConnectionChanged):
            observed[f"connection {observation.state}"] += 1
        elif isinstance(observation, SpeechChanged):
            observed["speech started" if observation.speaking else "speech stopped"] += 1

    async def offer(request: Request) -> JSONResponse:
        body = await request.json()
        registration_id = int(body["registration_id"])
        try:
            sdp, kind = await hub.answer(
                LiveKey(registration_id, None), body["sdp"], body["type"], config, count
            )
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        last.setdefault(registration_id, {})
        return JSONResponse({"sdp": sdp, "type": kind})

    lags: list[float] = []

    async def probe_lag() -> None:
        # How late a 50 ms sleep wakes up: what any other request on this loop would wait.
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.05)
            lags.append(time.monotonic() - started - 0.05)
            del lags[:-10_000]

    async def stats(request: Request) -> JSONResponse:
        """Counters; ``?reset`` starts a new event-loop lag window."""
        window = sorted(lags)
        if "reset" in request.query_params:
            lags.clear()
        totals: Counter[str] = Counter()
        live = 0
        for registration_id in last:
            status = hub.status(registration_id)
            if status is not None:
                live += status.video_live and status.audio_live
                last[registration_id] = {
                    "video_frames": status.video_frames_received,
                    "audio_frames": status.audio_frames_received,
                    "sampled": status.frames_sampled,
                    "skipped": status.samples_skipped,
                }
            totals.update(last[registration_id])  # a closed connection keeps its last counts
        return JSONResponse(
            {
                "connections": len(hub),
                "live": live,
                "identity": reference is not None and identity_interval > 0,
                **totals,
                "observations": dict(observed),
                "loop_lag_ms": {
                    "p50": 1000 * window[len(window) // 2] if window else None,
                    "p99": 1000 * window[int(len(window) * 0.99)] if window else None,
                    "max": 1000 * window[-1] if window else None,
                },
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        probe = asyncio.create_task(probe_lag())
        try:
            yield
        finally:
            probe.cancel()
            await hub.close_all()
            executor.shutdown(wait=True, cancel_futures=True)

    return Starlette(
        routes=[Route("/offer", offer, methods=["POST"]), Route("/stats", stats)],
        lifespan=lifespan,
    )
