"""A proctor watches a candidate's live picture and sound: the hub relays the candidate's
incoming tracks (the analysis keeps getting its frames); an unknown registration is a
``LookupError`` (the web layer's 409), an unusable offer a ``ValueError``, and the relayed
connection closes with the candidate's."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from proctoring.live import LiveHub
from tests.proctoring.test_live import (  # noqa: F401 - fixtures
    Client,
    Recorder,
    analysis,
    clients,
    connect,
    executor,
    faces,
    hub,
    until,
)


async def watcher_offer() -> tuple[RTCPeerConnection, asyncio.Future[MediaStreamTrack]]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "video" and not video.done():
            video.set_result(track)

    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, video


@pytest.mark.asyncio
async def test_a_watcher_gets_the_candidates_frames_and_the_analysis_too(
    hub: LiveHub,  # noqa: F811
    clients: list[Client],  # noqa: F811
) -> None:
    recorder = Recorder()
    await connect(hub, clients, recorder)
    await until(lambda: len(faces(recorder.of(1))) >= 1, within=15)
    pc, video = await watcher_offer()
    try:
        sdp, kind = await hub.watch(1, pc.localDescription.sdp, "offer")
        assert kind == "answer" and "m=video" in sdp
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        track = await asyncio.wait_for(video, 15)
        frame = await asyncio.wait_for(track.recv(), 15)
        assert frame.width > 0  # type: ignore[union-attr]
        seen = len(faces(recorder.of(1)))
        await until(lambda: len(faces(recorder.of(1))) > seen, within=15)

        await hub.close(1)
        with pytest.raises(MediaStreamError):
            async with asyncio.timeout(30):
                while True:
                    await track.recv()
    finally:
        await pc.close()


@pytest.mark.asyncio
async def test_no_stream_here_and_bad_offers_are_refused(
    hub: LiveHub,  # noqa: F811
    clients: list[Client],  # noqa: F811
) -> None:
    pc, _video = await watcher_offer()
    try:
        with pytest.raises(LookupError):
            await hub.watch(1, pc.localDescription.sdp, "offer")
        await connect(hub, clients, Recorder())
        with pytest.raises(ValueError):
            await hub.watch(1, "v=0 not sdp", "offer")
        with pytest.raises(ValueError):
            await hub.watch(1, pc.localDescription.sdp, "answer")
    finally:
        await pc.close()
