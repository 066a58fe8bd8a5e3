"""Proctoring over HTTP: the start gate, recording chunks (order, gaps, idempotency, every bad
upload), browser events as flags, who may fetch media (audited), "My page", and retention.

The live channel's state is written straight to the database here: the WebRTC path that writes
it for real is covered by tests/proctoring/test_live.py and the browser test.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from exam.models import Attempt, Registration
from exam.timing import FixedClock
from proctoring import jobs, retention, service
from proctoring.flags import raise_flag
from proctoring.models import Flag, FlagType, IdentityVerification, Recording, RecordingChunk
from proctoring.schemas import Policy
from proctoring.storage import MediaStore
from tests.exam.factories import Exam, build_exam
from tests.proctoring.media_tracks import CameraTrack, MicrophoneTrack, face_image
from tests.proctoring.webm_sample import make_webm, split
from tests.web.helpers import accept_rules, csrf, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import create_sessionmaker
from vakt.settings import Settings

SAMPLE = make_webm(frames=30)
PIECES = split(SAMPLE, [len(SAMPLE) // 5] * 4)


def chunk(index: int) -> bytes:
    """Piece ``index`` of a real WebM, cut as MediaRecorder cuts (anywhere)."""
    return PIECES[index]


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Starlette:
    from web.app import create_app

    return create_app(settings, clock=clock, identity_check=None)


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    return await build_exam(
        session, users, proctoring=Policy(max_chunk_bytes=64 * 1024, chunk_seconds=5)
    )


async def _live(
    session: AsyncSession, exam: Exam, clock: FixedClock, *, audio: bool = True
) -> None:
    await service.set_live_state(
        session,
        registration_id=exam.registration_id,
        now=clock.now(),
        connection_state="connected",
        video_live=True,
        audio_live=audio,
    )
    await session.commit()


async def _start_attempt(client: httpx.AsyncClient, exam: Exam) -> tuple[int, dict[str, str]]:
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    headers = {"X-CSRF-Token": await csrf(client, "/"), "Accept-Language": "en"}
    started = await client.post(
        f"/api/registrations/{exam.registration_id}/attempt", headers=headers
    )
    return started.json()["attempt_id"], headers


async def _start_part(client: httpx.AsyncClient, exam: Exam) -> tuple[int, int, dict[str, str]]:
    attempt_id, headers = await _start_attempt(client, exam)
    part = await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
    assert part.status_code == 201, part.text
    return attempt_id, part.json()["id"], headers


async def _put(
    client: httpx.AsyncClient, part_id: int, index: int, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await client.put(
        f"/api/parts/{part_id}/recording/{index}",
        content=body,
        headers={**headers, "Content-Type": "video/webm"},
    )


@pytest.mark.asyncio
async def test_a_part_does_not_start_without_camera_and_microphone(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    attempt_id, headers = await _start_attempt(client, exam)
    refused = await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
    assert refused.status_code == 409
    assert "camera and microphone are not connected" in refused.json()["error"]["message"]
    await _live(session, exam, clock, audio=False)
    refused = await client.post(
        f"/api/attempts/{attempt_id}/parts/next", headers={**headers, "Accept-Language": "nb"}
    )
    assert refused.status_code == 409
    assert "mikrofon" in refused.json()["error"]["message"]
    await _live(session, exam, clock)
    assert (await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)).is_success


@pytest.mark.asyncio
async def test_the_start_follows_the_servers_view_of_this_pages_own_connection(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    """A real offer from an aiortc peer in this process (the browser's part) to the app's hub.

    The previous page's connection still shows connected with picture and sound: a page that
    asked about that one would start too early, and the new offer's reset would refuse it."""
    await _live(session, exam, clock)
    attempt_id, headers = await _start_attempt(client, exam)
    live_url = f"/api/registrations/{exam.registration_id}/live"
    assert (await client.get(live_url)).json()["sees"] is True, "the previous page's connection"
    browser = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    browser.addTrack(CameraTrack(face_image()))
    browser.addTrack(MicrophoneTrack())
    try:
        await browser.setLocalDescription(await browser.createOffer())
        offered = await client.post(
            live_url,
            json={"sdp": browser.localDescription.sdp, "type": "offer"},
            headers=headers,
        )
        assert offered.status_code == 200, offered.text
        answer = offered.json()
        connection = answer["connection"]

        async def sees(connection_id: str) -> bool:
            status = await client.get(live_url, params={"connection": connection_id})
            return bool(status.json()["sees"])

        assert not await sees(connection), "nothing of this page's media has arrived yet"
        refused = await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
        assert refused.status_code == 409
        await browser.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        deadline = asyncio.get_running_loop().time() + 20
        while not await sees(connection):
            assert asyncio.get_running_loop().time() < deadline, "the server never saw the media"
            await asyncio.sleep(0.1)
        assert not await sees("a-connection-replaced-since")
        started = await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
        assert started.status_code == 201, started.text
    finally:
        await browser.close()


@pytest.mark.asyncio
async def test_chunks_in_any_order_idempotent_with_gaps_known(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await _live(session, exam, clock)
    _attempt_id, part_id, headers = await _start_part(client, exam)

    first = await _put(client, part_id, 0, chunk(0), headers)
    assert first.status_code == 201, first.text
    assert first.json() == {"stored": True, "missing": []}
    third = await _put(client, part_id, 2, chunk(2), headers)
    assert third.status_code == 201
    assert third.json()["missing"] == [1]
    again = await _put(client, part_id, 2, chunk(2), headers)
    assert again.status_code == 200, "a retried upload is acknowledged, not stored twice"
    different = await _put(client, part_id, 2, chunk(3), headers)
    assert different.status_code == 409
    second = await _put(client, part_id, 1, chunk(1), headers)
    assert second.json()["missing"] == []

    finished = await client.post(
        f"/api/parts/{part_id}/recording/finish", json={"last_index": 3}, headers=headers
    )
    assert finished.json() == {"last_index": 3, "missing": [3]}
    beyond = await _put(client, part_id, 4, chunk(4), headers)
    assert beyond.status_code == 409
    recording = await session.scalar(select(Recording).where(Recording.attempt_part_id == part_id))
    assert recording is not None
    await session.refresh(recording)
    assert recording.chunk_count == 3
    assert recording.total_bytes == sum(len(chunk(i)) for i in range(3))
    rows = list(
        await session.scalars(
            select(RecordingChunk.index).where(RecordingChunk.recording_id == recording.id)
        )
    )
    assert sorted(rows) == [0, 1, 2]


@pytest.mark.asyncio
async def test_every_bad_upload_is_refused_with_a_reason(
    client: httpx.AsyncClient,
    exam: Exam,
    session: AsyncSession,
    clock: FixedClock,
    app: Starlette,
    users: dict[str, User],
) -> None:
    await _live(session, exam, clock)
    _attempt_id, part_id, headers = await _start_part(client, exam)
    not_webm = await _put(client, part_id, 0, b"\x89PNG\r\n\x1a\n" + b"x" * 100, headers)
    assert not_webm.status_code == 415
    assert "WebM" in not_webm.json()["error"]["message"]
    empty = await _put(client, part_id, 0, b"", headers)
    assert empty.status_code == 422
    too_big = await _put(client, part_id, 0, SAMPLE[:100] + b"x" * (64 * 1024), headers)
    assert too_big.status_code == 413
    assert (await _put(client, part_id, 0, chunk(0), headers)).status_code == 201
    html = b"<html><body>" + b"x" * 60_000
    garbage_next = await _put(client, part_id, 1, html, headers)
    assert garbage_next.status_code == 415
    # Bytes that arrive before the piece they continue are checked once it is there: then the
    # garbage is dropped, and the recording is missing that piece.
    early = await _put(client, part_id, 3, html, headers)
    assert early.status_code == 201
    await _put(client, part_id, 1, chunk(1), headers)
    completed = await _put(client, part_id, 2, chunk(2), headers)
    assert completed.json()["missing"] == [], "nothing above index 2 remains"
    recording = await session.scalar(select(Recording).where(Recording.attempt_part_id == part_id))
    assert recording is not None
    await session.refresh(recording)
    assert (recording.chunk_count, recording.scanned_through) == (3, 2)
    no_csrf = await client.put(f"/api/parts/{part_id}/recording/0", content=chunk(0))
    assert no_csrf.status_code == 403
    bad_finish = await client.post(
        f"/api/parts/{part_id}/recording/finish", json={"last_index": -1}, headers=headers
    )
    assert bad_finish.status_code == 422
    not_json = await client.post(
        f"/api/parts/{part_id}/recording/finish", content=b"{", headers=headers
    )
    assert not_json.status_code == 400
    unknown = await _put(client, 999_999, 0, chunk(0), headers)
    assert unknown.status_code == 404

    # Another candidate cannot add to this recording, nor learn that it exists.
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await sign_in(other, "kandidat2", "x" * 12)
        other_headers = {"X-CSRF-Token": await csrf(other, "/"), "Accept-Language": "en"}
        refused = await _put(other, part_id, 4, chunk(4), other_headers)
        assert refused.status_code == 404
    assert (await session.scalar(select(RecordingChunk).where(RecordingChunk.index == 4))) is None


@pytest.mark.asyncio
async def test_a_chunk_must_be_sent_as_webm(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await _live(session, exam, clock)
    _attempt_id, part_id, headers = await _start_part(client, exam)
    url = f"/api/parts/{part_id}/recording/0"
    for content_type, language, expected in [
        ("text/html", "en", "must be sent as WebM video"),
        ("text/html; charset=utf-8", "nb", "må sendes som WebM-video"),
        ("application/octet-stream", "en", "Content-Type video/webm"),
        (None, "nb", "Content-Type video/webm"),
    ]:
        sent = {**headers, "Accept-Language": language}
        if content_type:
            sent["Content-Type"] = content_type
        refused = await client.put(url, content=chunk(0), headers=sent)
        assert refused.status_code == 415, (content_type, refused.text)
        assert expected in refused.json()["error"]["message"]
    assert (await session.scalar(select(RecordingChunk))) is None
    # What MediaRecorder says its blobs are: the type with its codecs.
    stored = await client.put(
        url, content=chunk(0), headers={**headers, "Content-Type": "video/webm;codecs=vp8,opus"}
    )
    assert stored.status_code == 201, stored.text


@pytest.mark.asyncio
async def test_an_upload_cut_off_by_a_reload_is_not_an_error(
    client: httpx.AsyncClient,
    exam: Exam,
    session: AsyncSession,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Straight through the ASGI interface: the browser sends part of a chunk, then goes."""
    await _live(session, exam, clock)
    _attempt_id, part_id, headers = await _start_part(client, exam)
    path = f"/api/parts/{part_id}/recording/0"
    incoming: list[dict[str, object]] = [
        {"type": "http.request", "body": chunk(0)[:1000], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return incoming.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"video/webm"),
            (b"content-length", str(len(chunk(0))).encode()),
            (b"x-csrf-token", headers["X-CSRF-Token"].encode()),
            (b"cookie", cookies.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await client._transport.app(scope, receive, send)  # type: ignore[attr-defined]
    assert "Traceback" not in caplog.text and "Exception" not in caplog.text
    assert (await session.scalar(select(RecordingChunk))) is None


@pytest.mark.asyncio
async def test_zero_bytes_inside_a_frame_are_not_taken_for_video(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await _live(session, exam, clock)
    _attempt_id, part_id, headers = await _start_part(client, exam)
    # Chunks 0 and 1 end inside the first (key) frame, as a recorder may cut them.
    assert (await _put(client, part_id, 0, SAMPLE[:1000], headers)).status_code == 201
    assert (await _put(client, part_id, 1, SAMPLE[1000:2000], headers)).status_code == 201
    zeros = await _put(client, part_id, 2, bytes(1000), headers | {"Accept-Language": "nb"})
    assert zeros.status_code == 415, zeros.text
    assert "WebM" in zeros.json()["error"]["message"]
    rest = split(SAMPLE[2000:], [50_000])
    for index, piece in enumerate(rest, start=2):
        assert (await _put(client, part_id, index, piece, headers)).status_code == 201
    rows = list(await session.scalars(select(RecordingChunk).order_by(RecordingChunk.index)))
    assert [(row.index, row.verified) for row in rows] == [(i, True) for i in range(len(rest) + 2)]


@pytest.mark.asyncio
async def test_browser_events_become_flags_and_media_access_is_by_role_and_audited(
    client: httpx.AsyncClient,
    exam: Exam,
    session: AsyncSession,
    clock: FixedClock,
    app: Starlette,
) -> None:
    await _live(session, exam, clock)
    _attempt_id, part_id, headers = await _start_part(client, exam)
    events = f"/api/registrations/{exam.registration_id}/events"
    await _put(client, part_id, 0, chunk(0), headers)
    hidden = await client.post(
        events, json={"type": "tab_hidden", "active": True, "part_id": part_id}, headers=headers
    )
    assert hidden.status_code == 204, hidden.text
    clock.advance(timedelta(seconds=7))
    await client.post(
        events, json={"type": "tab_hidden", "active": False, "part_id": part_id}, headers=headers
    )
    await client.post(events, json={"type": "paste", "part_id": part_id}, headers=headers)
    bad = await client.post(events, json={"type": "teleport"}, headers=headers)
    assert bad.status_code == 422
    assert "type" in bad.json()["error"]["message"]

    flags = list(await session.scalars(select(Flag).order_by(Flag.id)))
    assert [(f.type, f.source) for f in flags] == [("tab_hidden", "browser"), ("paste", "browser")]
    assert flags[0].ended_at is not None
    assert (flags[0].ended_at - flags[0].started_at).total_seconds() == 7
    assert flags[0].severity == "medium"

    recording = await session.scalar(select(Recording).where(Recording.attempt_part_id == part_id))
    assert recording is not None
    # The candidate, a grader (not an oral answer) and an item writer may not fetch it.
    assert (await client.get(f"/proctor/recordings/{recording.id}")).status_code == 403
    for username in ("grader", "item_writer"):
        async with httpx.AsyncClient(transport=client._transport, base_url="http://x") as other:
            await sign_in(other, username)
            assert (await other.get(f"/proctor/recordings/{recording.id}")).status_code == 403
            assert (await other.get(f"/grading/recordings/{recording.id}")).status_code in {
                403,
                404,
            }
    async with httpx.AsyncClient(transport=client._transport, base_url="http://x") as proctor:
        await sign_in(proctor, "proctor")
        video = await proctor.get(f"/proctor/recordings/{recording.id}")
        assert video.status_code == 200
        assert video.headers["content-type"] == "video/webm"
        assert video.content == chunk(0)
        overview = await proctor.get("/proctor")
        assert "Kandidat" in overview.text or "candidate" in overview.text.lower()
        detail = await proctor.get(f"/proctor/registrations/{exam.registration_id}")
        assert detail.status_code == 200
        assert 'data-flag-type="tab_hidden"' in detail.text
    viewed = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "proctoring.recording_viewed")
    )
    assert viewed is not None and viewed.entity_id == str(recording.id)
    my_page = await client.get("/my", headers={"Accept-Language": "en"})
    assert "Recordings of you" in my_page.text
    assert f"/proctor/recordings/{recording.id}" not in my_page.text


@pytest.mark.asyncio
async def test_the_browser_ends_only_its_own_flags_at_times_kept_inside_the_flag(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await _live(session, exam, clock)
    attempt_id, part_id, headers = await _start_part(client, exam)
    part_started = clock.now()
    events = f"/api/registrations/{exam.registration_id}/events"
    # The server noticed the camera off (what the live channel's flagger writes).
    policy = await service.policy_for_registration(
        session, await session.get_one(Registration, exam.registration_id)
    )
    await raise_flag(
        session,
        policy=policy,
        flag_type=FlagType.CAMERA_OFF,
        source="live",
        registration_id=exam.registration_id,
        attempt_id=attempt_id,
        attempt_part_id=part_id,
        started_at=clock.now(),
    )
    await session.commit()
    clock.advance(timedelta(seconds=30))
    erase = await client.post(
        events,
        json={"type": "camera_off", "active": False, "ended_at": "2000-01-01T00:00:00Z"},
        headers=headers,
    )
    assert erase.status_code == 204, erase.text
    session.expire_all()
    live_flag = await session.scalar(select(Flag).where(Flag.type == "camera_off"))
    assert live_flag is not None and live_flag.source == "live"
    assert live_flag.ended_at is None, "the browser cannot end what the server saw"

    # The browser's own flags: times far in the past or the future are kept inside the part,
    # the flag and the server's now.
    await client.post(
        events,
        json={"type": "tab_hidden", "started_at": "2000-01-01T00:00:00Z", "part_id": part_id},
        headers=headers,
    )
    await client.post(
        events,
        json={"type": "window_unfocused", "started_at": "2999-01-01T00:00:00Z"},
        headers=headers,
    )
    clock.advance(timedelta(seconds=5))
    await client.post(
        events,
        json={"type": "tab_hidden", "active": False, "ended_at": "2000-01-01T00:00:00Z"},
        headers=headers,
    )
    await client.post(
        events,
        json={"type": "window_unfocused", "active": False, "ended_at": "2999-01-01T00:00:00Z"},
        headers=headers,
    )
    session.expire_all()
    by_type = {flag.type: flag for flag in await session.scalars(select(Flag))}
    hidden, unfocused = by_type["tab_hidden"], by_type["window_unfocused"]
    assert (hidden.source, unfocused.source) == ("browser", "browser")
    assert hidden.started_at == part_started, "not before the part began"
    assert hidden.ended_at == hidden.started_at, "not before the flag began"
    assert unfocused.started_at == clock.now() - timedelta(seconds=5), "not after the server's now"
    assert unfocused.ended_at == clock.now(), "not after the server's now"
    assert by_type["camera_off"].ended_at is None


def _visible_text(html: str) -> str:
    """The words a reader sees in the page's main part (no tags, attributes or scripts)."""
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]*>", " ", main)))


STORED_WORDS = {"closed", "live", "browser", "recording", "identity", "referred", "in_progress"}
"""Stored values of this test's data that a cell must never show as they are."""
INTERNAL = re.compile(r"[a-z]+_[a-z_]+|field=|characters=|RESPONSE|NotReadableError|stalled")
"""What no human word contains: field ids, error names, snake_case states."""


@pytest.mark.asyncio
async def test_the_proctor_pages_speak_human_words_in_both_languages(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await _live(session, exam, clock)
    attempt_id, part_id, headers = await _start_part(client, exam)
    await _put(client, part_id, 0, chunk(0), headers)
    events = f"/api/registrations/{exam.registration_id}/events"
    clock.advance(timedelta(seconds=75))
    pasted = await client.post(events, json={"type": "paste", "characters": 32}, headers=headers)
    assert pasted.status_code == 204, pasted.text
    busy = {"type": "camera_off", "detail": "NotReadableError"}
    assert (await client.post(events, json=busy, headers=headers)).status_code == 204
    policy = await service.policy_for_registration(
        session, await session.get_one(Registration, exam.registration_id)
    )
    at = clock.now()
    for flag_type, source, evidence, note in [
        (FlagType.MICROPHONE_OFF, "live", {"state": "stalled", "chunk_index": 15}, ""),
        (FlagType.LIVE_CHANNEL_LOST, "live", {"state": "closed"}, ""),
        (FlagType.NO_FACE, "live", {"face_count": 0, "dark": True}, ""),
        (FlagType.MULTIPLE_FACES, "live", {"face_count": 2, "dark": False}, ""),
        (FlagType.PASTE, "browser", {"chunk_index": 3}, "field=q39-RESPONSE; characters=1"),
        (FlagType.RECORDING_GAP, "recording", {"missing_chunks": [1], "chunks_received": 1}, ""),
        (FlagType.IDENTITY_DOUBTFUL, "identity", {"reason": "no_profile_photo"}, ""),
    ]:
        await raise_flag(
            session,
            policy=policy,
            flag_type=flag_type,
            source=source,
            registration_id=exam.registration_id,
            attempt_id=attempt_id,
            attempt_part_id=None if source == "identity" else part_id,
            started_at=at,
            ended_at=at,
            evidence=evidence,
            note=note,
        )
    session.add(
        IdentityVerification(
            registration_id=exam.registration_id,
            face_count=1,
            threshold=0.6,
            outcome="referred",
            reason="no_profile_photo",
            checked_at=at,
        )
    )
    await service.set_live_state(
        session, registration_id=exam.registration_id, now=at, connection_state="closed"
    )
    await session.commit()

    async with httpx.AsyncClient(transport=client._transport, base_url="http://x") as proctor:
        await sign_in(proctor, "proctor")
        for language, expected in [
            (
                "en",
                [
                    "Pasted 32 characters into an answer",
                    "Pasted 1 character into an answer",
                    "Reported by the candidate's browser",
                    "Noticed by the server in the live picture and sound",
                    "The camera or microphone was in use by another program.",
                    "No sound (or only silence) reached the server.",
                    "The live channel was closed (the exam page was left or lost).",
                    "The picture was dark (the camera covered?).",
                    "2 faces in the picture",
                    "Part 1, 1:15 into the recording",
                    "1 piece missing: number 2",
                    "1 piece received",
                    "no profile photo to compare with",
                    "Live channel not connected",
                    "1 piece, 0 MB",
                ],
            ),
            (
                "nb",
                [
                    "Limte inn 32 tegn i et svar",
                    "Meldt av kandidatens nettleser",
                    "Oppdaget av serveren i direktebildet og -lyden",
                    "Del 1, 1:15 ut i opptaket",
                    "1 opptaksdel mangler: nummer 2",
                    "1 opptaksdel, 0 MB",
                    "ikke tilkoblet",
                ],
            ),
        ]:
            page = await proctor.get(
                f"/proctor/registrations/{exam.registration_id}",
                headers={"Accept-Language": language},
            )
            assert page.status_code == 200
            text = _visible_text(page.text)
            for words in expected:
                assert words in text, (language, words)
            overview = await proctor.get("/proctor", headers={"Accept-Language": language})
            cells = re.findall(
                r"<t[dh][^>]*>(.*?)</t[dh]>|<dd>(.*?)</dd>", page.text + overview.text
            )
            for cell in ("".join(parts) for parts in cells):
                seen = unescape(re.sub(r"<[^>]*>", " ", cell)).strip()
                assert seen not in STORED_WORDS, (language, seen)
                assert not INTERNAL.search(seen), (language, seen)
            overview_text = _visible_text(overview.text)
            assert ("9 flags" if language == "en" else "9 merknader") in overview_text
            assert ("to check" if language == "en" else "må kontrolleres") in overview_text
    my_page = _visible_text((await client.get("/my", headers={"Accept-Language": "nb"})).text)
    assert "1 opptaksdel, 0 MB" in my_page
    assert "183 dager etter" in my_page


@pytest.mark.asyncio
async def test_the_watchdog_flags_a_lost_channel_and_an_incomplete_recording(
    client: httpx.AsyncClient,
    exam: Exam,
    session: AsyncSession,
    clock: FixedClock,
    engine: AsyncEngine,
) -> None:
    await _live(session, exam, clock)
    _attempt_id, part_id, headers = await _start_part(client, exam)
    await _put(client, part_id, 0, chunk(0), headers)
    await _put(client, part_id, 2, chunk(2), headers)
    await service.set_live_state(
        session, registration_id=exam.registration_id, now=clock.now(), connection_state="closed"
    )
    await session.commit()
    sessionmaker = create_sessionmaker(engine)
    clock.advance(timedelta(seconds=5))
    assert await jobs.watch_once(sessionmaker, clock) == 0, "inside the reconnect grace"
    clock.advance(timedelta(seconds=30))
    assert await jobs.watch_once(sessionmaker, clock) == 1
    submitted = await client.post(f"/api/parts/{part_id}/submit", headers=headers)
    assert submitted.is_success
    await client.post(
        f"/api/parts/{part_id}/recording/finish", json={"last_index": 2}, headers=headers
    )
    await jobs.watch_once(sessionmaker, clock)
    session.expire_all()
    flags = {f.type: f for f in await session.scalars(select(Flag))}
    assert flags["live_channel_lost"].ended_at is not None, "ended with the hand-in"
    assert flags["recording_gap"].evidence["missing_chunks"] == [1]


@pytest.mark.asyncio
async def test_retention_deletes_media_after_the_appeal_window_and_keeps_oral_answers(
    client: httpx.AsyncClient,
    exam: Exam,
    session: AsyncSession,
    clock: FixedClock,
    settings: Settings,
    app: Starlette,
) -> None:
    await _live(session, exam, clock)
    attempt_id, part_id, headers = await _start_part(client, exam)
    await _put(client, part_id, 0, chunk(0), headers)
    store = MediaStore(settings.data_dir / "media")
    recording = await session.scalar(select(Recording).where(Recording.attempt_part_id == part_id))
    assert recording is not None
    folder = store.root / "recordings" / recording.storage_key
    assert any(folder.iterdir())
    attempt = await session.get(Attempt, attempt_id)
    assert attempt is not None
    attempt.results_released_at = clock.now()
    await session.commit()

    early = clock.now() + timedelta(days=21 + 182)
    report = await retention.purge_expired(
        session, store, now=early, appeal_days=21, retention_days=183
    )
    assert report.total == 0
    late = clock.now() + timedelta(days=21 + 184)
    report = await retention.purge_expired(
        session, store, now=late, appeal_days=21, retention_days=183
    )
    await session.commit()
    assert report.recordings == [recording.id]
    assert not folder.exists()
    purged = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "proctoring.media_purged")
    )
    assert purged is not None and purged.after["recordings"] == [recording.id]  # type: ignore[index]
    async with httpx.AsyncClient(transport=client._transport, base_url="http://x") as proctor:
        await sign_in(proctor, "proctor")
        gone = await proctor.get(
            f"/proctor/recordings/{recording.id}", headers={"Accept-Language": "en"}
        )
        assert gone.status_code == 404
        assert "deleted" in gone.text


def test_the_purge_command_runs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from vakt.cli import main

    monkeypatch.setenv("VAKT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAKT_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(main, ["recordings", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would delete 0 recordings" in result.output


@pytest.mark.asyncio
async def test_a_file_that_is_not_a_photo_is_refused_with_a_reason(
    client: httpx.AsyncClient, exam: Exam
) -> None:
    """The photo is read in the analysis process; its refusal still reaches the candidate."""
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    for page in ("/my/photo", f"/exam/{exam.registration_id}/identity"):
        token = await csrf(client, page)
        refused = await client.post(
            page,
            data={"csrf_token": token},
            files={"photo": ("photo.jpg", b"not a picture at all", "image/jpeg")},
            headers={"Accept-Language": "en"},
        )
        assert refused.status_code == 422, page
        assert "could not be read as a photo" in refused.text
        missing = await client.post(
            page, data={"csrf_token": token}, headers={"Accept-Language": "en"}
        )
        assert missing.status_code == 422
        assert "Take a photo first" in missing.text
