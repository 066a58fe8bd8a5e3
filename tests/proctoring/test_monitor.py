"""From live observations to flags in the database, by a scheme's thresholds: no face, two
faces, a face that does not match, sustained speech, a camera that stalls, the channel closing,
and nothing flagged outside a running part."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import av
import pytest
import pytest_asyncio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam import attempts
from exam.models import AttemptPart
from exam.timing import FixedClock
from proctoring.analysis import SpeechDetector
from proctoring.jobs import watch_once
from proctoring.live import LiveConfig, LiveHub, LiveKey
from proctoring.models import Flag, LiveChannel, ProctoringPolicy, Snapshot
from proctoring.monitor import LiveFlagger
from proctoring.observations import (
    ConnectionChanged,
    FacesObserved,
    SpeechChanged,
    TrackChanged,
)
from proctoring.runtime import LiveAnalysis
from proctoring.schemas import Policy
from proctoring.storage import MediaStore
from tests.exam.factories import CHECKED_IN, OPENS, Exam, build_exam
from tests.proctoring.media_tracks import CameraTrack, MicrophoneTrack, face_image
from vakt.accounts import User
from vakt.db import create_sessionmaker
from vakt.settings import Settings

POLICY = Policy(no_face_seconds=10, multiple_faces_seconds=2, speech_seconds=10)
START = OPENS + timedelta(minutes=1)
JPEG = b"\xff\xd8\xff\xe0 a frame \xff\xd9"


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    return await build_exam(session, users, proctoring=POLICY)


async def _running_part(session: AsyncSession, exam: Exam) -> AttemptPart:
    attempt = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=START,
    )
    part = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=START
    )
    await session.commit()
    return part


@pytest_asyncio.fixture
async def flagger(engine: AsyncEngine, exam: Exam, settings: Settings) -> LiveFlagger:
    return LiveFlagger(
        registration_id=exam.registration_id,
        policy=POLICY,
        sessionmaker=create_sessionmaker(engine),
        store=MediaStore(settings.data_dir / "media"),
    )


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def faces(count: int, seconds: float, distance: float | None = None) -> FacesObserved:
    return FacesObserved(at(seconds), count, distance, False, JPEG)


async def _flags(session: AsyncSession) -> list[Flag]:
    fresh = select(Flag).order_by(Flag.id).execution_options(populate_existing=True)
    return list(await session.scalars(fresh))


@pytest.mark.asyncio
async def test_no_face_is_flagged_after_its_threshold_with_the_frame_as_evidence(
    session: AsyncSession, exam: Exam, flagger: LiveFlagger, settings: Settings
) -> None:
    part = await _running_part(session, exam)
    await flagger.observe(faces(1, 0))
    for second in (2, 4, 6, 8):
        await flagger.observe(faces(0, second))
    assert await _flags(session) == [], "8 s without a face is under the 10 s threshold"
    await flagger.observe(faces(0, 12))
    await flagger.observe(faces(1, 14))
    [flag] = await _flags(session)
    assert (flag.type, flag.source, flag.severity) == ("no_face", "live", "medium")
    assert (flag.started_at, flag.ended_at) == (at(2), at(14))
    assert flag.attempt_part_id == part.id
    assert flag.evidence["chunk_index"] == 0
    snapshot = await session.get(Snapshot, flag.evidence["snapshot_id"])
    assert snapshot is not None and snapshot.taken_at == at(2)
    stored = MediaStore(settings.data_dir / "media").read_image(snapshot.stored_name)
    assert stored == JPEG


@pytest.mark.asyncio
async def test_two_faces_a_stranger_and_speech_are_flagged(
    session: AsyncSession, exam: Exam, flagger: LiveFlagger
) -> None:
    await _running_part(session, exam)
    await flagger.observe(faces(2, 0))
    await flagger.observe(faces(2, 3))
    await flagger.observe(faces(1, 4, distance=0.75))
    await flagger.observe(faces(1, 6, distance=0.3))
    await flagger.observe(SpeechChanged(at(10), True))
    await flagger.observe(SpeechChanged(at(15), False))  # 5 s: reading a question aloud
    await flagger.observe(SpeechChanged(at(20), True))
    await flagger.observe(faces(1, 32))  # the sampled frames keep the clock going
    await flagger.observe(SpeechChanged(at(40), False))
    flags = {flag.type: flag for flag in await _flags(session)}
    assert set(flags) == {"multiple_faces", "face_mismatch", "speech"}
    assert (flags["multiple_faces"].started_at, flags["multiple_faces"].ended_at) == (at(0), at(4))
    assert flags["face_mismatch"].evidence["distance"] == 0.75
    assert flags["face_mismatch"].ended_at == at(6)
    assert (flags["speech"].started_at, flags["speech"].ended_at) == (at(20), at(40))


@pytest.mark.asyncio
async def test_a_stall_is_flagged_by_the_watchdog_once_it_outlasts_the_reconnect_grace(
    session: AsyncSession, exam: Exam, flagger: LiveFlagger
) -> None:
    """The state is kept in the database, so the watchdog of any worker flags what stays off;
    a stall shorter than the grace (a reload stalls both tracks for a moment) is no incident."""
    await _running_part(session, exam)
    grace = POLICY.live_reconnect_grace_seconds
    await flagger.observe(ConnectionChanged(at(0), "connected"))
    await flagger.observe(TrackChanged(at(0), "video", "live"))
    await flagger.observe(TrackChanged(at(0), "audio", "live"))
    live = await session.get(LiveChannel, exam.registration_id)
    assert live is not None and (live.connection_state, live.video_live, live.audio_live) == (
        "connected",
        True,
        True,
    )
    await flagger.observe(TrackChanged(at(5), "video", "stalled"))
    await flagger.observe(TrackChanged(at(5), "audio", "stalled"))
    live = await session.get(LiveChannel, exam.registration_id, populate_existing=True)
    assert live is not None and (live.video_off_since, live.audio_off_since) == (at(5), at(5))
    assert await _watch(session, at(5 + grace - 1)) == 0, "inside the grace"
    await flagger.observe(TrackChanged(at(9), "video", "live"))
    assert await _flags(session) == [], "noticed, but not flagged"
    assert await _watch(session, at(5 + grace)) == 1
    assert await _watch(session, at(5 + grace + 5)) == 0, "flagged once"
    await flagger.observe(TrackChanged(at(40), "audio", "live"))
    await flagger.observe(TrackChanged(at(50), "video", "stalled"))
    await flagger.observe(ConnectionChanged(at(52), "closed"))
    assert await _watch(session, at(50 + grace)) == 0, "a closed channel is a lost channel"
    [flag] = await _flags(session)
    assert (flag.type, flag.source, flag.severity) == ("microphone_off", "live", "high")
    assert (flag.started_at, flag.ended_at) == (at(5), at(40))
    assert flag.evidence == {"state": "stalled", "chunk_index": 1}
    live = await session.get(LiveChannel, exam.registration_id, populate_existing=True)
    assert live is not None and (live.connection_state, live.video_live) == ("closed", False)
    assert live.video_off_since is None


async def _watch(session: AsyncSession, now: datetime) -> int:
    """One round of the app's watchdog at ``now``, in a session of its own (as it runs)."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    return await watch_once(create_sessionmaker(engine), FixedClock(now))


@pytest.mark.asyncio
async def test_nothing_is_flagged_before_the_exam_or_when_a_track_merely_ends(
    session: AsyncSession, exam: Exam, flagger: LiveFlagger
) -> None:
    # The page before the first part: the channel is up, but no part runs.
    for second in range(0, 30, 2):
        await flagger.observe(faces(0, second))
    await flagger.observe(TrackChanged(at(31), "video", "stalled"))
    assert await _flags(session) == []
    await _running_part(session, exam)
    await flagger.observe(TrackChanged(at(40), "video", "ended"))  # a page change
    assert await _flags(session) == []


@pytest.mark.asyncio
async def test_a_broken_observation_is_logged_not_raised(
    exam: Exam, flagger: LiveFlagger, caplog: pytest.LogCaptureFixture
) -> None:
    broken: Callable[..., object] = ConnectionChanged
    await flagger.observe(broken(None, "connected"))  # type: ignore[arg-type]
    assert "was not recorded" in caplog.text


class PausableCamera(CameraTrack):
    """The synthetic camera; while ``paused`` it delivers nothing (a camera that hangs)."""

    def __init__(self) -> None:
        super().__init__(face_image())
        self.running = asyncio.Event()
        self.running.set()

    async def recv(self) -> av.VideoFrame:
        await self.running.wait()
        return await super().recv()


@pytest.mark.asyncio
async def test_a_camera_that_stops_on_a_real_connection_is_flagged_and_ends_when_back(
    session: AsyncSession, exam: Exam, engine: AsyncEngine, settings: Settings
) -> None:
    """Two aiortc peer connections in this process: the candidate's side sends a synthetic
    camera and microphone; the server's hub, with the real face analysis, feeds the flagger."""
    part = await _running_part(session, exam)
    part_id = part.id
    policy = Policy(media_off_seconds=1, live_reconnect_grace_seconds=0)
    scheme_policy = await session.scalar(select(ProctoringPolicy))
    assert scheme_policy is not None
    scheme_policy.settings = policy.model_dump(mode="json")
    await session.commit()
    flagger = LiveFlagger(
        registration_id=exam.registration_id,
        policy=policy,
        sessionmaker=create_sessionmaker(engine),
        store=MediaStore(settings.data_dir / "media"),
        connection_id="first",
    )
    await flagger.begin(START)
    # The hub's clock runs from the part's start, as the watchdog's does.
    origin = asyncio.get_running_loop().time()

    def clock() -> datetime:
        return START + timedelta(seconds=asyncio.get_running_loop().time() - origin)

    with ThreadPoolExecutor(max_workers=2) as pool:
        hub = LiveHub(pool, clock, LiveAnalysis(pool), SpeechDetector)
        camera = PausableCamera()
        client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        client.addTrack(camera)
        client.addTrack(MicrophoneTrack())
        try:
            await client.setLocalDescription(await client.createOffer())
            sdp, kind = await hub.answer(
                LiveKey(exam.registration_id, part_id),
                client.localDescription.sdp,
                client.localDescription.type,
                LiveConfig(
                    sample_interval_seconds=0.3, identity_interval_seconds=0, stall_seconds=1
                ),
                lambda _key, observation: flagger.observe(observation),
            )
            await client.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))

            async def live() -> bool:
                row = await session.get(LiveChannel, exam.registration_id, populate_existing=True)
                return bool(row and row.connection_state == "connected" and row.video_live)

            await _until(live)
            camera.running.clear()

            async def camera_off() -> list[Flag]:
                return [f for f in await _flags(session) if f.type == "camera_off"]

            async def flagged() -> list[Flag]:
                await _watch(session, clock())  # the app's watchdog, every few seconds
                return await camera_off()

            await _until(flagged)
            camera.running.set()

            async def ended() -> bool:
                return all(f.ended_at for f in await camera_off())

            await _until(ended)
        finally:
            await client.close()
            await hub.close_all()
    [flag] = await camera_off()
    assert (flag.source, flag.attempt_part_id) == ("live", part_id)
    assert [f.type for f in await _flags(session)] == ["camera_off"], "a face was seen throughout"


async def _until(condition: Callable[[], Awaitable[object]], within: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)
