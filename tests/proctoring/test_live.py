"""The proctoring live channel, end to end in one process: an aiortc client peer connection sends a
synthetic camera (a face photo, later black frames) and microphone to a LiveHub."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np
import pytest
import pytest_asyncio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from numpy.typing import NDArray

import proctoring.live
from proctoring.live import LiveConfig, LiveHub, LiveKey
from proctoring.observations import (
    ConnectionChanged,
    FacesObserved,
    Observation,
    SpeechChanged,
    TrackChanged,
)
from tests.proctoring.media_tracks import CameraTrack, MicrophoneTrack, face_image

FAST = LiveConfig(sample_interval_seconds=0.3, identity_interval_seconds=0, stall_seconds=1.0)


@dataclass(frozen=True)
class FakeResult:
    face_count: int
    distance: float | None


@dataclass
class FakeAnalysis:
    """Counts its calls; one face, and a distance when asked."""

    calls: list[tuple[tuple[int, ...], bool]] = field(default_factory=list)

    def __call__(
        self, image: NDArray[np.uint8], want_distance: bool, reference: tuple[float, ...] | None
    ) -> FakeResult:
        self.calls.append((image.shape, want_distance))
        return FakeResult(face_count=1, distance=0.25 if want_distance else None)


def analyze_elsewhere(
    image: NDArray[np.uint8], want_distance: bool, reference: tuple[float, ...] | None
) -> FakeResult:
    """For a process pool: tells where it ran, as the "distance"."""
    return FakeResult(face_count=1, distance=float(os.getpid()) if want_distance else None)


@dataclass(frozen=True)
class FakeChange:
    speaking: bool
    at: float


class LoudnessDetector:
    """Speaking while the samples are loud; enough to check the plumbing."""

    def __init__(self) -> None:
        self.speaking = False
        self.fed = 0

    def feed(self, pcm: bytes, sample_rate: int, channels: int, at: float) -> list[FakeChange]:
        self.fed += 1
        loud = bool(np.abs(np.frombuffer(pcm, dtype=np.int16)).max() > 1000)
        if loud == self.speaking:
            return []
        self.speaking = loud
        return [FakeChange(speaking=loud, at=at)]


class Recorder:
    """Collects observations per registration."""

    def __init__(self) -> None:
        self.seen: list[tuple[LiveKey, Observation]] = []

    async def __call__(self, key: LiveKey, observation: Observation) -> None:
        self.seen.append((key, observation))

    def of(self, registration_id: int) -> list[Observation]:
        return [obs for key, obs in self.seen if key.registration_id == registration_id]


async def until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@dataclass
class Client:
    pc: RTCPeerConnection
    camera: CameraTrack | None
    microphone: MicrophoneTrack | None


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


@pytest.fixture
def analysis() -> FakeAnalysis:
    return FakeAnalysis()


@pytest_asyncio.fixture
async def hub(executor: ThreadPoolExecutor, analysis: FakeAnalysis) -> AsyncIterator[LiveHub]:
    hub = LiveHub(executor, lambda: datetime.now(UTC), analysis, LoudnessDetector)
    yield hub
    await hub.close_all()


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        await client.pc.close()


async def offer(clients: list[Client], *, video: bool = True, audio: bool = True) -> Client:
    """A client peer connection with the synthetic tracks and a complete offer."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client = Client(
        pc, CameraTrack(face_image()) if video else None, MicrophoneTrack() if audio else None
    )
    clients.append(client)
    if client.camera is not None:
        pc.addTrack(client.camera)
    if client.microphone is not None:
        pc.addTrack(client.microphone)
    await pc.setLocalDescription(await pc.createOffer())
    return client


async def connect(
    hub: LiveHub,
    clients: list[Client],
    recorder: Recorder,
    registration_id: int = 1,
    config: LiveConfig = FAST,
) -> Client:
    client = await offer(clients)
    local = client.pc.localDescription
    sdp, kind = await hub.answer(
        LiveKey(registration_id, 7), local.sdp, local.type, config, recorder
    )
    await client.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
    return client


def faces(observations: list[Observation]) -> list[FacesObserved]:
    return [obs for obs in observations if isinstance(obs, FacesObserved)]


def tracks(observations: list[Observation], kind: str) -> list[str]:
    return [obs.state for obs in observations if isinstance(obs, TrackChanged) and obs.kind == kind]


def connection_states(observations: list[Observation]) -> list[str]:
    return [obs.state for obs in observations if isinstance(obs, ConnectionChanged)]


@pytest.mark.asyncio
async def test_frames_are_sampled_dark_frames_noticed_and_closing_reported(
    hub: LiveHub, clients: list[Client], analysis: FakeAnalysis
) -> None:
    recorder = Recorder()
    reference = tuple(0.0 for _ in range(128))
    config = LiveConfig(
        sample_interval_seconds=0.3,
        identity_interval_seconds=0.5,
        reference_descriptor=reference,
        stall_seconds=1.0,
    )
    client = await connect(hub, clients, recorder, config=config)

    def observed() -> list[Observation]:
        return recorder.of(1)

    await until(lambda: len(faces(observed())) >= 3)
    first = faces(observed())[0]
    assert first.face_count == 1 and not first.dark
    assert first.at.tzinfo is not None
    assert first.frame_jpeg.startswith(b"\xff\xd8")
    decoded = cv2.imdecode(np.frombuffer(first.frame_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == (240, 320, 3)
    assert analysis.calls[0][0] == (480, 640, 3)
    # The identity distance is computed on some samples only, at most every 0.5 s.
    await until(lambda: any(obs.distance == 0.25 for obs in faces(observed())))
    assert any(obs.distance is None for obs in faces(observed()))
    assert "connected" in connection_states(observed())
    assert tracks(observed(), "video")[0] == "live"
    assert tracks(observed(), "audio")[0] == "live"

    status = hub.status(1)
    assert status is not None
    assert status.key == LiveKey(1, 7)
    assert status.connection_state == "connected"
    assert status.video_live and status.audio_live
    assert status.video_frames_received > status.frames_sampled >= 3
    assert status.audio_frames_received > 0
    assert status.last_video_frame_at is not None
    assert (datetime.now(UTC) - status.last_video_frame_at).total_seconds() < 1
    assert hub.status(2) is None

    assert client.camera is not None
    client.camera.dark = True
    calls_before = len(analysis.calls)
    await until(lambda: any(obs.dark for obs in faces(observed())))
    dark = next(obs for obs in faces(observed()) if obs.dark)
    assert dark.face_count == 0 and dark.distance is None
    assert dark.frame_jpeg.startswith(b"\xff\xd8")
    # Black frames are not worth the detector; at most the sample in flight reached it.
    await until(lambda: sum(obs.dark for obs in faces(observed())) >= 2)
    assert len(analysis.calls) <= calls_before + 1

    await client.pc.close()
    await until(lambda: "closed" in connection_states(observed()))
    await until(lambda: len(hub) == 0)
    await asyncio.sleep(0.2)
    assert connection_states(observed()).count("closed") == 1
    assert hub.status(1) is None


@pytest.mark.asyncio
async def test_stopped_camera_is_noticed_quickly(hub: LiveHub, clients: list[Client]) -> None:
    recorder = Recorder()
    client = await connect(hub, clients, recorder)
    await until(lambda: tracks(recorder.of(1), "video") == ["live"])
    assert client.camera is not None
    stopped = time.monotonic()
    client.camera.stop()
    await until(lambda: len(tracks(recorder.of(1), "video")) >= 2, within=3)
    assert tracks(recorder.of(1), "video")[1] in ("stalled", "ended")
    assert time.monotonic() - stopped < 2.5
    status = hub.status(1)
    assert status is not None and not status.video_live and status.audio_live


@pytest.mark.asyncio
async def test_muted_microphone_stalls_audio_and_speech_is_reported(
    hub: LiveHub, clients: list[Client]
) -> None:
    recorder = Recorder()
    client = await connect(hub, clients, recorder)

    def observed() -> list[Observation]:
        return recorder.of(1)

    def speech() -> list[bool]:
        return [o.speaking for o in observed() if isinstance(o, SpeechChanged)]

    await until(lambda: tracks(observed(), "audio") == ["live"] and speech() == [True])
    assert client.microphone is not None

    client.microphone.muted = True
    await until(lambda: tracks(observed(), "audio") == ["live", "stalled"], within=4)
    assert speech() == [True, False]
    status = hub.status(1)
    assert status is not None and not status.audio_live and not status.speaking
    # Silence is still audio arriving: the frames keep being counted.
    assert status.audio_frames_received > 0

    client.microphone.muted = False
    await until(lambda: tracks(observed(), "audio") == ["live", "stalled", "live"])
    await until(lambda: speech() == [True, False, True])
    changes = [o for o in observed() if isinstance(o, SpeechChanged)]
    assert changes[0].at < changes[1].at < changes[2].at
    assert abs((changes[2].at - datetime.now(UTC)).total_seconds()) < 2
    assert tracks(observed(), "video") == ["live"]


@pytest.mark.asyncio
async def test_connection_never_established_is_reported_and_closed(
    hub: LiveHub, clients: list[Client]
) -> None:
    recorder = Recorder()
    client = await offer(clients)
    local = client.pc.localDescription
    config = LiveConfig(stall_seconds=0.5, connect_timeout_seconds=1.5)
    await hub.answer(LiveKey(1, None), local.sdp, local.type, config, recorder)
    await client.pc.close()  # the browser went away before it applied the answer
    await until(lambda: "closed" in connection_states(recorder.of(1)), within=4)
    assert len(hub) == 0
    observed = recorder.of(1)
    assert tracks(observed, "video") == ["stalled"]
    assert tracks(observed, "audio") == ["stalled"]
    assert connection_states(observed)[-1] == "closed"


@pytest.mark.asyncio
async def test_close_all_closes_every_connection(hub: LiveHub, clients: list[Client]) -> None:
    recorder = Recorder()
    await connect(hub, clients, recorder, registration_id=1)
    await connect(hub, clients, recorder, registration_id=2)
    assert len(hub) == 2

    def speaking(registration_id: int) -> bool:
        return any(isinstance(o, SpeechChanged) for o in recorder.of(registration_id))

    await until(lambda: all(tracks(recorder.of(a), "video") and speaking(a) for a in (1, 2)))

    await hub.close_all()
    assert len(hub) == 0
    for registration_id in (1, 2):
        assert connection_states(recorder.of(registration_id)).count("closed") == 1
        # Closing ends the speech going on, and nothing is reported after "closed".
        last, before_last = recorder.of(registration_id)[-1], recorder.of(registration_id)[-2]
        assert isinstance(last, ConnectionChanged) and last.state == "closed"
        assert isinstance(before_last, SpeechChanged) and not before_last.speaking
        # Closed by the server: its tracks ending is no news.
        assert "ended" not in tracks(recorder.of(registration_id), "video")
    await until(lambda: all(c.pc.connectionState == "closed" for c in clients))
    with pytest.raises(RuntimeError):
        await connect(hub, clients, recorder, registration_id=3)


@pytest.mark.asyncio
async def test_new_offer_replaces_the_registrations_connection(
    hub: LiveHub, clients: list[Client]
) -> None:
    recorder = Recorder()
    await connect(hub, clients, recorder, registration_id=1)
    second = Recorder()
    client = await connect(hub, clients, second, registration_id=1)
    await until(lambda: "closed" in connection_states(recorder.of(1)))
    assert len(hub) == 1
    await until(lambda: len(faces(second.of(1))) >= 1)
    assert "closed" not in connection_states(second.of(1))
    await hub.close(1)
    assert len(hub) == 0
    assert connection_states(second.of(1)).count("closed") == 1
    await until(lambda: client.pc.connectionState == "closed")


@pytest.mark.asyncio
async def test_failing_callback_does_not_stop_the_connection(
    hub: LiveHub, clients: list[Client]
) -> None:
    calls = 0

    async def failing(key: LiveKey, observation: Observation) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("flag logic broke")

    client = await offer(clients)
    local = client.pc.localDescription
    sdp, kind = await hub.answer(LiveKey(5, None), local.sdp, local.type, FAST, failing)
    await client.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))

    def sampled() -> int:
        status = hub.status(5)
        return 0 if status is None else status.frames_sampled

    await until(lambda: sampled() >= 3)
    assert calls >= 3
    assert len(hub) == 1


class TrackedPeerConnection(RTCPeerConnection):
    made: list[RTCPeerConnection] = []  # noqa: RUF012

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.made.append(self)


@pytest.mark.asyncio
async def test_bad_offers_raise_value_error_and_leave_nothing_open(
    hub: LiveHub, clients: list[Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    TrackedPeerConnection.made = []
    monkeypatch.setattr(proctoring.live, "RTCPeerConnection", TrackedPeerConnection)
    recorder = Recorder()
    key = LiveKey(1, None)
    good = (await offer(clients)).pc.localDescription.sdp
    audio_only = (await offer(clients, video=False)).pc.localDescription.sdp
    video_only = (await offer(clients, audio=False)).pc.localDescription.sdp
    no_ice = "".join(line for line in good.splitlines(True) if "ice-ufrag" not in line)
    bad = [
        ("", "offer"),
        ("hello", "offer"),
        ("v=0\r\nm=video\r\n", "offer"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio 9 UDP/TLS/RTP/SAVPF\r\n", "offer"),
        (good, "answer"),
        (good, "bogus"),
        (audio_only, "offer"),
        (video_only, "offer"),
        (good.replace("a=sendrecv", "a=recvonly"), "offer"),
        (no_ice, "offer"),
        ("v=0\r\n" + "a=x\r\n" * 30_000, "offer"),
    ]
    for sdp, kind in bad:
        with pytest.raises(ValueError):
            await hub.answer(key, sdp, kind, FAST, recorder)
    assert len(hub) == 0
    assert TrackedPeerConnection.made, "the SDP without ICE credentials reaches aiortc"
    assert all(pc.connectionState == "closed" for pc in TrackedPeerConnection.made)
    assert recorder.seen == []

    # The hub is still usable after all that.
    sdp, kind = await hub.answer(key, good, "offer", FAST, recorder)
    assert kind == "answer" and "m=video" in sdp and "m=audio" in sdp
    assert len(hub) == 1


def media_sections(sdp: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part for part in sdp.split("\r\nm=")[1:]}


@pytest.mark.asyncio
async def test_answer_asks_for_longer_audio_packets(hub: LiveHub, clients: list[Client]) -> None:
    recorder = Recorder()
    local = (await offer(clients)).pc.localDescription
    sdp, _ = await hub.answer(LiveKey(1, None), local.sdp, local.type, FAST, recorder)
    sections = media_sections(sdp)
    assert "\r\na=ptime:60\r\n" in sections["audio"]
    assert "a=ptime" not in sections["video"]

    local = (await offer(clients)).pc.localDescription
    config = LiveConfig(audio_packet_ms=None)
    sdp, _ = await hub.answer(LiveKey(2, None), local.sdp, local.type, config, recorder)
    assert "a=ptime" not in sdp
    with pytest.raises(ValueError):
        LiveConfig(audio_packet_ms=30)
    with pytest.raises(ValueError):
        LiveConfig(sample_interval_seconds=0)


@pytest.mark.asyncio
async def test_real_face_detector_counts_one_face(
    executor: ThreadPoolExecutor, clients: list[Client]
) -> None:
    analysis_module = pytest.importorskip("proctoring.analysis")
    detector = analysis_module.HaarFaceDetector()

    def analyze(
        image: NDArray[np.uint8], want_distance: bool, reference: tuple[float, ...] | None
    ) -> Any:
        return analysis_module.analyze_frame(image, detector)

    hub = LiveHub(executor, lambda: datetime.now(UTC), analyze, None)
    try:
        recorder = Recorder()
        await connect(hub, clients, recorder)
        await until(lambda: len(faces(recorder.of(1))) >= 2)
        assert [obs.face_count for obs in faces(recorder.of(1))][:2] == [1, 1]
    finally:
        await hub.close_all()


@pytest.mark.asyncio
async def test_analysis_can_run_in_a_process_pool(clients: list[Client]) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        hub = LiveHub(pool, lambda: datetime.now(UTC), analyze_elsewhere, None)
        try:
            recorder = Recorder()
            config = LiveConfig(
                sample_interval_seconds=0.3,
                identity_interval_seconds=0.3,
                reference_descriptor=(0.0,),
                stall_seconds=1.0,
            )
            await connect(hub, clients, recorder, config=config)
            await until(lambda: any(o.distance for o in faces(recorder.of(1))), within=20)
            worker = next(o.distance for o in faces(recorder.of(1)) if o.distance)
            assert worker != os.getpid()
            assert all(o.frame_jpeg.startswith(b"\xff\xd8") for o in faces(recorder.of(1)))
        finally:
            await hub.close_all()
