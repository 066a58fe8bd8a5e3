"""Proctoring live channel benchmark: N simulated candidates stream camera and microphone over
WebRTC to a server running ``proctoring.live.LiveHub``.

The server is bench/live_app.py (the live channel alone, with the real analysis of
``proctoring.analysis``) served by uvicorn in a process of its own. The senders are
aiortc peer connections in one or more other processes (``--sender-processes``). They do not
encode: a short clip (a face photo with slight head motion and camera noise, VP8 at the given size,
rate and bitrate; speech-like bursts over room noise, Opus 20 ms mono) is encoded once, before the
run, and every sender loops its packets, re-stamped so that the RTP timestamps keep increasing.
(aiortc's ``MediaPlayer(decode=False, loop=True)`` passes VP8 and Opus through too, but restarts
the timestamps at each loop, after which it no longer paces the packets.) The senders offer
send-only VP8 and Opus, as the proctoring page does.

Once every sender is connected and ``--warmup`` seconds have passed, the window of ``--duration``
seconds is measured: the server process's CPU (all its threads: aiortc's receive path and its
decoder threads, the analysis threads, the event loop), the senders' CPU, the frames received, the
samples analysed and any stall or ended track the server reported. CPU is in % of one core.

Usage:

    python bench/bench_live.py --senders 10 --width 640 --height 480 --fps 15 --bitrate 800
    python bench/bench_live.py --senders 10,30 --variants 640x480@15/800,320x240@5/150

``--variants`` takes WIDTHxHEIGHT@FPS/KBPS items and overrides --width/--height/--fps/--bitrate;
each variant runs at each --senders count, one after the other, and a table is printed at the
end. Not a test: nothing is asserted, the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import fractions
import json
import math
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from numpy.typing import NDArray

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
FACE_PHOTO = ROOT.parent / "shared" / "testdata" / "faces" / "obama.jpg"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FAILED_LOG = Path(tempfile.gettempdir()) / "bench-live-server.log"
"""The last run's server log."""


@dataclasses.dataclass(frozen=True)
class Variant:
    """What the browser sends: picture size, frame rate and video bitrate."""

    width: int
    height: int
    fps: float
    kbps: int

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height} @ {self.fps:g} fps, {self.kbps} kbps"

    @classmethod
    def parse(cls, text: str) -> Variant:
        size, _, rest = text.partition("@")
        fps, _, kbps = rest.partition("/")
        width, _, height = size.partition("x")
        return cls(int(width), int(height), float(fps), int(kbps))


@dataclasses.dataclass
class Result:
    variant: Variant
    senders: int
    clip_kbps: float
    live: int
    server_cpu: float
    loop_cpu: float
    sender_cpu: float
    other_cpu: float
    video_fps: float
    audio_fps: float
    samples_per_s: float
    skipped_per_s: float
    trouble: dict[str, int]
    identity: bool
    processes: int
    servers: int
    lag_p99_ms: float
    lag_max_ms: float
    ptime: int

    @property
    def per_candidate(self) -> float:
        return self.server_cpu / max(1, self.live)

    @property
    def layout(self) -> str:
        """How the server side ran: server processes, and where their analysis ran."""
        if self.processes:
            pool = f"{self.processes} process{'es' if self.processes > 1 else ''} each"
        else:
            pool = "threads"
        return f"{self.servers} server{'s' if self.servers > 1 else ''}, analysis in {pool}"

    @property
    def received(self) -> float:
        """The video frames received, in % of those sent: below ~98 % the server is behind."""
        return 100 * self.video_fps / (self.senders * self.variant.fps)


# -- the clip ------------------------------------------------------------------------------


def _face_canvas(width: int, height: int) -> NDArray[np.uint8]:
    photo = cv2.imread(str(FACE_PHOTO))
    if photo is None:
        raise SystemExit(f"face photo not found: {FACE_PHOTO}")
    # The face fills about half the picture's height, as in a webcam at arm's length.
    scale = min(width / photo.shape[1], height / photo.shape[0]) * 1.1
    resized = cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)))
    canvas = np.full((height, width, 3), (96, 110, 120), dtype=np.uint8)
    top = max(0, (height - resized.shape[0]) // 2)
    left = max(0, (width - resized.shape[1]) // 2)
    part = resized[: height - top, : width - left]
    canvas[top : top + part.shape[0], left : left + part.shape[1]] = part
    return canvas


def encode_clip(folder: Path, variant: Variant, seconds: float, ptime_ms: int) -> float:
    """Write video.webm (VP8) and audio.webm (Opus) into ``folder``; return the video kbps."""
    rng = np.random.default_rng(7)
    base = _face_canvas(variant.width, variant.height)
    frames = round(seconds * variant.fps)
    video_bytes = 0
    with av.open(str(folder / "video.webm"), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=fractions.Fraction(variant.fps).limit_denominator())
        stream.width = variant.width
        stream.height = variant.height
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = variant.kbps * 1000
        # A browser sends a keyframe when the receiver asks (PLI); a looped clip cannot, so
        # it has one every 2 s for the decoder to recover from a lost packet.
        stream.codec_context.gop_size = max(1, round(2 * variant.fps))
        stream.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        for index in range(frames):
            t = index / variant.fps
            # Slight head motion and sensor noise: what a webcam's encoder has to deal with.
            dx = variant.width * 0.012 * math.sin(2 * math.pi * t / 4)
            dy = variant.height * 0.008 * math.sin(2 * math.pi * t / 3)
            shift = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
            picture = (variant.width, variant.height)
            moved = cv2.warpAffine(base, shift, picture, borderMode=cv2.BORDER_REPLICATE)
            noisy = np.clip(moved + rng.normal(0, 2.0, moved.shape), 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(noisy, format="bgr24")
            frame.pts = index
            for packet in stream.encode(frame):
                video_bytes += packet.size
                out.mux(packet)
        for packet in stream.encode(None):
            video_bytes += packet.size
            out.mux(packet)

    rate = 48000
    samples = np.arange(round(seconds * rate)) / rate
    noise = rng.normal(0, 60, samples.shape)
    # Bursts of a voiced, vibrato, amplitude-modulated harmonic series: 1.5 s of every 5 s.
    f0 = 140 + 15 * np.sin(2 * np.pi * 5 * samples)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 8)) * 3000
    envelope = ((samples % 5) < 1.5) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * samples) ** 2)
    pcm = np.clip(noise + voice * envelope, -32768, 32767).astype(np.int16)
    with av.open(str(folder / "audio.webm"), "w", format="webm") as out:
        audio = out.add_stream("libopus", rate=rate, layout="mono")
        audio.bit_rate = 32000
        audio.options = {"frame_duration": str(ptime_ms), "application": "voip"}
        size = 48 * ptime_ms
        for index in range(len(pcm) // size):
            chunk = pcm[index * size : (index + 1) * size].reshape(1, -1)
            aframe = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            aframe.sample_rate = rate
            aframe.pts = index * size
            for packet in audio.encode(aframe):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)
    return video_bytes * 8 / seconds / 1000


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams[0]) if p.size]


# -- the senders (in their own processes) ----------------------------------------------------


def sender_main(
    url: str,
    first_id: int,
    count: int,
    folder: str,
    fps: float,
    ptime_ms: int,
    ready: Any,
    stop: EventType,
) -> None:
    """Entry point of one sender process: ``count`` candidates until ``stop`` is set."""
    try:
        asyncio.run(_senders(url, first_id, count, Path(folder), fps, ptime_ms, ready, stop))
    except Exception as exc:
        ready.put(("error", repr(exc)))


async def _senders(
    url: str,
    first_id: int,
    count: int,
    folder: Path,
    fps: float,
    ptime_ms: int,
    ready: Any,
    stop: EventType,
) -> None:
    import httpx
    from aiortc import (
        RTCConfiguration,
        RTCPeerConnection,
        RTCRtpSender,
        RTCSessionDescription,
    )
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    class PacketLoop(MediaStreamTrack):
        """Pre-encoded packets, paced in real time and looped with increasing timestamps."""

        def __init__(self, kind: str, packets: list[bytes], clock_rate: int, rate: float) -> None:
            super().__init__()
            self.kind = kind
            self.packets = packets
            self.step = clock_rate / rate
            self.rate = rate
            self.time_base = fractions.Fraction(1, clock_rate)
            self.index = 0
            self.start: float | None = None

        async def recv(self) -> av.Packet[Any]:
            if self.readyState != "live":
                raise MediaStreamError
            if self.start is None:
                self.start = time.monotonic()
            else:
                await asyncio.sleep(
                    max(0.0, self.start + self.index / self.rate - time.monotonic())
                )
            packet = av.Packet(self.packets[self.index % len(self.packets)])
            packet.pts = round(self.index * self.step)
            packet.time_base = self.time_base
            self.index += 1
            return packet

    video = _packets(folder / "video.webm")
    audio = _packets(folder / "audio.webm")
    vp8 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.name in ("VP8", "rtx")]
    peers: list[Any] = []
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            for registration_id in range(first_id, first_id + count):
                pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
                peers.append(pc)
                video_transceiver = pc.addTransceiver(
                    PacketLoop("video", video, 90000, fps), direction="sendonly"
                )
                video_transceiver.setCodecPreferences(vp8)
                pc.addTransceiver(
                    PacketLoop("audio", audio, 48000, 1000 / ptime_ms), direction="sendonly"
                )
                await pc.setLocalDescription(await pc.createOffer())
                response = await http.post(
                    f"{url}/offer",
                    json={
                        "registration_id": registration_id,
                        "sdp": pc.localDescription.sdp,
                        "type": pc.localDescription.type,
                    },
                )
                response.raise_for_status()
                answer = response.json()
                await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        deadline = time.monotonic() + 60
        while any(pc.connectionState != "connected" for pc in peers):
            if time.monotonic() > deadline:
                states = Counter(pc.connectionState for pc in peers)
                raise RuntimeError(f"senders did not connect within 60 s: {dict(states)}")
            await asyncio.sleep(0.1)
        ready.put(("ready", count))
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
    finally:
        for pc in peers:
            await pc.close()


# -- measuring -------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by process ``pid`` and the processes
    it started (a process pool's workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            total += cpu_seconds_of(Path(f"/proc/{current}/stat"))
        pending.extend(children.get(current, []))
    return total


def loop_thread_seconds(pid: int) -> float:
    """CPU seconds used so far by the main thread of process ``pid`` (uvicorn's event loop)."""
    return cpu_seconds_of(Path(f"/proc/{pid}/task/{pid}/stat"))


def cpu_seconds_of(stat: Path) -> float:
    """CPU seconds (user + system) in a /proc stat file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> dict[str, Any]:
    # Our own server on the loopback interface.
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        data: dict[str, Any] = json.load(response)
        return data


@contextlib.contextmanager
def serving(
    args: argparse.Namespace, folder: Path
) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """Run ``--servers`` live_app processes under uvicorn; stop them (gracefully) afterwards."""
    env = {
        **os.environ,
        "BENCH_LIVE_SAMPLE_INTERVAL": str(args.sample_interval),
        "BENCH_LIVE_IDENTITY_INTERVAL": str(args.identity_interval),
        "BENCH_LIVE_THREADS": str(args.threads),
        "BENCH_LIVE_PROCESSES": str(args.processes),
        "BENCH_LIVE_SPEECH": "0" if args.no_speech else "1",
        "BENCH_LIVE_FACE_PHOTO": str(FACE_PHOTO),
    }
    log = open(folder / "server.log", "wb")  # noqa: SIM115 (closed below)
    servers: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for _ in range(args.servers):
            port = _free_port()
            command = [
                sys.executable, "-m", "uvicorn", "live_app:create_app", "--factory",
                "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "info", "--no-access-log",
            ]  # fmt: skip
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            servers.append((f"http://127.0.0.1:{port}", process))
        deadline = time.monotonic() + 60
        for base_url, process in servers:
            while True:
                if process.poll() is not None:
                    raise SystemExit(
                        f"server exited: {(folder / 'server.log').read_text()[-2000:]}"
                    )
                try:
                    _get_json(f"{base_url}/stats")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("server did not start within 60 s") from None
                    time.sleep(0.2)
        yield servers
    finally:
        for _, process in servers:
            process.terminate()  # uvicorn runs the lifespan's shutdown: LiveHub.close_all()
        for _, process in servers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        # Kept for a look after a failed run (the folder itself is removed).
        FAILED_LOG.write_bytes((folder / "server.log").read_bytes())


def _stats(urls: Sequence[str], query: str = "") -> dict[str, Any]:
    """The servers' counters added up; the worst of their event-loop lags."""
    total: dict[str, Any] = {"observations": Counter(), "loop_lag_ms": {"p99": 0.0, "max": 0.0}}
    for url in urls:
        stats = _get_json(f"{url}/stats{query}")
        for name, value in stats.items():
            if name == "observations":
                total["observations"].update(value)
            elif name == "loop_lag_ms":
                for which in ("p99", "max"):
                    total[name][which] = max(total[name][which], value[which] or 0.0)
            elif isinstance(value, bool):
                total[name] = value
            elif isinstance(value, int | float):
                total[name] = total.get(name, 0) + value
    return total


def run_one(args: argparse.Namespace, variant: Variant, senders: int) -> Result:
    """One measured run: fresh servers, ``senders`` candidates sending ``variant``."""
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        folder = Path(tmp)
        clip_kbps = encode_clip(folder, variant, args.clip_seconds, args.audio_ptime)
        with serving(args, folder) as servers:
            urls = [url for url, _ in servers]
            pids = [process.pid for _, process in servers]
            context = multiprocessing.get_context("spawn")
            ready = context.Queue()
            stop = context.Event()
            # Each sender process talks to one server, as a load balancer would spread them.
            count = max(args.sender_processes, args.servers)
            shares = [senders // count + (i < senders % count) for i in range(count)]
            processes = []
            first = 1
            for index, share in enumerate(shares):
                if not share:
                    continue
                process = context.Process(
                    target=sender_main,
                    args=(
                        urls[index % len(urls)],
                        first,
                        share,
                        str(folder),
                        variant.fps,
                        args.audio_ptime,
                        ready,
                        stop,
                    ),
                    daemon=True,
                )
                process.start()
                processes.append(process)
                first += share
            try:
                connected = 0
                deadline = time.monotonic() + 120 + senders
                while connected < senders:
                    kind, value = ready.get(timeout=max(1.0, deadline - time.monotonic()))
                    if kind == "error":
                        raise SystemExit(f"a sender failed: {value}")
                    connected += value
                time.sleep(args.warmup)
                sender_pids = [p.pid for p in processes if p.pid is not None]
                before = _stats(urls, "?reset")
                server_before = sum(cpu_seconds(pid) for pid in pids)
                loop_before = sum(loop_thread_seconds(pid) for pid in pids)
                senders_before = sum(cpu_seconds(pid) for pid in sender_pids)
                busy_before = machine_busy()
                started = time.monotonic()
                time.sleep(args.duration)
                elapsed = time.monotonic() - started
                server_cpu = sum(cpu_seconds(pid) for pid in pids) - server_before
                loop_cpu = sum(loop_thread_seconds(pid) for pid in pids) - loop_before
                sender_cpu = sum(cpu_seconds(pid) for pid in sender_pids) - senders_before
                busy = machine_busy() - busy_before
                after = _stats(urls)
            finally:
                stop.set()
                for process in processes:
                    process.join(timeout=30)
                    if process.is_alive():
                        process.terminate()
                        process.join()

    def rate(name: str) -> float:
        return float(after.get(name, 0) - before.get(name, 0)) / elapsed

    trouble = {
        name: count - before["observations"].get(name, 0)
        for name, count in after["observations"].items()
        if name.endswith(("stalled", "ended", "failed", "closed"))
        and count - before["observations"].get(name, 0)
    }
    return Result(
        variant=variant,
        senders=senders,
        clip_kbps=clip_kbps,
        live=int(after["live"]),
        server_cpu=100 * server_cpu / elapsed,
        loop_cpu=100 * loop_cpu / elapsed,
        sender_cpu=100 * sender_cpu / elapsed,
        other_cpu=100 * max(0.0, busy - server_cpu - sender_cpu) / elapsed,
        video_fps=rate("video_frames"),
        audio_fps=rate("audio_frames"),
        samples_per_s=rate("sampled"),
        skipped_per_s=rate("skipped"),
        trouble=trouble,
        processes=args.processes,
        servers=args.servers,
        lag_p99_ms=float(after["loop_lag_ms"]["p99"] or 0),
        lag_max_ms=float(after["loop_lag_ms"]["max"] or 0),
        identity=bool(after["identity"]),
        ptime=args.audio_ptime,
    )


def print_result(result: Result) -> None:
    print(
        f"{result.variant.label} (clip {result.clip_kbps:.0f} kbps), {result.senders} senders, "
        f"{result.live} live:\n"
        f"  server CPU {result.server_cpu:.1f} % = {result.per_candidate:.2f} % per live "
        f"candidate (event loop {result.loop_cpu:.1f} %, the rest: decoding, analysis "
        f"{result.server_cpu - result.loop_cpu:.1f} %); senders {result.sender_cpu:.1f} %; "
        f"other {result.other_cpu:.1f} %\n"
        f"  video frames/s {result.video_fps:.1f} ({result.received:.0f} % of those sent), "
        f"audio frames/s {result.audio_fps:.1f}, "
        f"samples analysed/s {result.samples_per_s:.2f} (skipped/s {result.skipped_per_s:.2f})"
        f"\n  {result.layout}, "
        f"identity {'on' if result.identity else 'off'}; event-loop lag p99 "
        f"{result.lag_p99_ms:.0f} ms, max {result.lag_max_ms:.0f} ms; "
        f"trouble in the window: {result.trouble or 'none'}",
        flush=True,
    )


def print_table(results: Sequence[Result]) -> None:
    """The runs as a Markdown table."""
    print(
        "\n| video sent by each candidate | Opus packets | servers, analysis | clip kbps | N | live "
        "| server CPU | per candidate | video frames/s (% of sent) | samples/s "
        "| loop lag p99 / max | sender CPU | other CPU | trouble |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for r in results:
        trouble = ", ".join(f"{k} {v}" for k, v in r.trouble.items()) or "none"
        print(
            f"| {r.variant.label} | {r.ptime} ms | {r.layout} | {r.clip_kbps:.0f} | {r.senders} "
            f"| {r.live} | {r.server_cpu:.1f} % | {r.per_candidate:.2f} % "
            f"| {r.video_fps:.0f} ({r.received:.0f} %) | {r.samples_per_s:.1f} "
            f"| {r.lag_p99_ms:.0f} / {r.lag_max_ms:.0f} ms "
            f"| {r.sender_cpu:.1f} % | {r.other_cpu:.1f} % | {trouble} |"
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options, run every variant at every sender count, print the figures."""
    parser = argparse.ArgumentParser(
        description="Server CPU per live candidate of the proctoring live channel (WebRTC).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--senders", default="10", help="candidates; a comma list runs each")
    parser.add_argument("--duration", type=float, default=30, help="measured window, seconds")
    parser.add_argument("--warmup", type=float, default=8, help="seconds before the window")
    parser.add_argument("--width", type=int, default=640, help="video width, pixels")
    parser.add_argument("--height", type=int, default=480, help="video height, pixels")
    parser.add_argument("--fps", type=float, default=15, help="video frames per second")
    parser.add_argument("--bitrate", type=int, default=800, help="video kbps")
    parser.add_argument("--variants", default="", help="WxH@FPS/KBPS,... (overrides the above)")
    parser.add_argument(
        "--audio-ptime", type=int, choices=(20, 40, 60), default=60, help="Opus packet, ms"
    )
    parser.add_argument("--sample-interval", type=float, default=2.0, help="seconds")
    parser.add_argument(
        "--identity-interval", type=float, default=30.0, help="seconds; 0 = no identity check"
    )
    parser.add_argument(
        "--servers", type=int, default=1, help="server processes the senders are spread over"
    )
    parser.add_argument("--threads", type=int, default=2, help="server analysis threads")
    parser.add_argument(
        "--processes", type=int, default=0, help="server analysis processes instead of threads"
    )
    parser.add_argument("--no-speech", action="store_true", help="do not feed the VAD")
    parser.add_argument(
        "--sender-processes", type=int, default=1, help="processes the senders are spread over"
    )
    parser.add_argument("--clip-seconds", type=float, default=10, help="length of the loop, s")
    args = parser.parse_args(argv)

    if args.variants:
        variants = [Variant.parse(item) for item in args.variants.split(",") if item]
    else:
        variants = [Variant(args.width, args.height, args.fps, args.bitrate)]
    counts = [int(item) for item in args.senders.split(",") if item]
    print(
        f"{os.cpu_count()} cores; sample every {args.sample_interval:g} s, identity every "
        f"{args.identity_interval:g} s, speech detection {'off' if args.no_speech else 'on'}; "
        f"Opus {args.audio_ptime} ms packets; "
        f"{args.duration:g} s windows",
        flush=True,
    )
    results = []
    for variant in variants:
        for count in counts:
            try:
                result = run_one(args, variant, count)
            except (SystemExit, Exception) as exc:
                # One failed run (a sender that could not connect) should not lose the others.
                print(f"{variant.label}, {count} senders: failed: {exc}", flush=True)
                print(f"  its server log: {FAILED_LOG}", flush=True)
                continue
            print_result(result)
            results.append(result)
    print_table(results)


if __name__ == "__main__":
    main()
