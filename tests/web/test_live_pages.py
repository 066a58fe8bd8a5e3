"""The proctors' live grid over HTTP: the page, its server-sent events (the grid first, then a new
flag as a change; a resumed stream sends nothing while nothing changed), the frames, the card's
actions (message, pause, resume) with their errors, and the candidate's messages (JSON); wrong
roles, missing CSRF tokens and bad input refused; everything audited."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message

from exam.models import AttemptPart
from exam.timing import FixedClock
from proctoring.flags import raise_flag
from proctoring.models import FlagSource, FlagType, ProctorMessage, Snapshot
from proctoring.schemas import Policy
from proctoring.storage import MediaStore
from tests.exam.factories import OPENS, Exam, build_exam
from tests.proctoring.reviewing import Flagged, flagged_attempt, registration_of, second_sitting
from tests.web.helpers import csrf, csrf_from, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.settings import Settings

NOW = OPENS + timedelta(minutes=2)
JPEG = b"\xff\xd8\xff\xe0 a frame \xff\xd9"


@pytest.fixture
def short_settings(settings: Settings) -> Settings:
    # Streams poll often and end soon, so that a test reading a whole stream ends.
    return settings.model_copy(
        update={
            "live_grid_poll_seconds": 0.05,
            "live_stream_seconds": 0.3,
            "proctoring_watch_interval_seconds": 0,
        }
    )


@pytest.fixture
def app(short_settings: Settings) -> Starlette:
    from web.app import create_app

    return create_app(short_settings, clock=FixedClock(NOW))


@pytest_asyncio.fixture
async def running(app: Starlette) -> AsyncIterator[tuple[httpx.AsyncClient, ASGIApp]]:
    """A client, and the running app itself (for reading a stream as it comes)."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(
            app=manager.app, client=("127.0.0.1", 50000), raise_app_exceptions=False
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, manager.app


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    return await build_exam(session, users, proctoring=Policy())


@pytest_asyncio.fixture
async def live(session: AsyncSession, exam: Exam) -> Flagged:
    """The first candidate is taking part 1, with one flag."""
    return await flagged_attempt(
        session, exam.registration_id, exam.candidate, [(FlagType.PASTE, OPENS)]
    )


def parse_events(text: str) -> list[dict[str, Any]]:
    """The server-sent events in a stream's text (comments and pings left out)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event: dict[str, Any] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name in {"event", "id"}:
                event[name] = value
            elif name == "data":
                event["data"] = json.loads(value)
        if "event" in event:
            events.append(event)
    return events


class Stream:
    """One server-sent event stream read as the app sends it (httpx's ASGI transport would wait
    for the whole response)."""

    def __init__(self, app: ASGIApp, client: httpx.AsyncClient, path: str) -> None:
        cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self.app = app
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.gone = asyncio.Event()
        self.status: int | None = None
        self.buffer = ""
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stream:
        requested = False

        async def receive() -> Message:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self.gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            await self.messages.put(message)

        self.task = asyncio.create_task(self.app(self.scope, receive, send))  # type: ignore[arg-type]
        start = await self.messages.get()
        self.status = start["status"]
        return self

    async def next_event(self) -> dict[str, Any]:
        """The next event (bounded: a stream that stops sending fails the test)."""
        async with asyncio.timeout(30):
            while True:
                events = parse_events(self.buffer)
                if events and "\n\n" in self.buffer.replace("\r\n", "\n"):
                    text = self.buffer.replace("\r\n", "\n")
                    first, _, rest = text.partition("\n\n")
                    self.buffer = rest
                    parsed = parse_events(first + "\n\n")
                    if parsed:
                        return parsed[0]
                    continue
                message = await self.messages.get()
                assert message["type"] == "http.response.body"
                self.buffer += message.get("body", b"").decode()

    async def __aexit__(self, *_exc: object) -> None:
        self.gone.set()
        assert self.task is not None
        async with asyncio.timeout(30):
            await self.task


@pytest.fixture
def long_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"live_grid_poll_seconds": 0.05, "proctoring_watch_interval_seconds": 0}
    )


@pytest.mark.asyncio
async def test_the_stream_sends_the_grid_then_a_new_flag(
    session: AsyncSession,
    exam: Exam,
    live: Flagged,
    users: dict[str, User],
    long_settings: Settings,
) -> None:
    from web.app import create_app

    app = create_app(long_settings, clock=FixedClock(NOW))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            await sign_in(http, "proctor")
            path = f"/proctor/sittings/{exam.sitting_id}/live/events"
            async with Stream(manager.app, http, path) as stream:
                assert stream.status == 200
                first = await stream.next_event()
                assert first["event"] == "grid"
                [card] = first["data"]["cards"]
                assert card["registration_id"] == exam.registration_id
                assert (card["open_flags"], card["newest_flag_id"]) == (1, live.flags[0])

                flag = await raise_flag(
                    session, policy=Policy(), flag_type=FlagType.MULTIPLE_FACES,
                    source=FlagSource.LIVE, registration_id=exam.registration_id,
                    attempt_id=live.attempt_id, attempt_part_id=live.part_id, started_at=NOW,
                )  # fmt: skip
                await session.commit()
                change = await stream.next_event()
                assert change["event"] == "changes"
                assert change["id"] != first["id"]
                [changed] = change["data"]["cards"]
                assert changed["newest_flag_id"] == flag.id
                assert (changed["newest_flag"], changed["worst"]) == ("multiple_faces", "high")
                assert changed["open_flags"] == 2
                assert change["data"]["gone"] == []


@pytest.mark.asyncio
async def test_a_resumed_stream_sends_nothing_while_nothing_changed(
    running: tuple[httpx.AsyncClient, ASGIApp], exam: Exam, live: Flagged
) -> None:
    client, _app = running
    await sign_in(client, "proctor")
    path = f"/proctor/sittings/{exam.sitting_id}/live/events"
    first = await client.get(path)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/event-stream")
    [grid] = [event for event in parse_events(first.text) if event["event"] == "grid"]
    assert all(event["event"] == "grid" for event in parse_events(first.text))
    resumed = await client.get(path, headers={"Last-Event-ID": grid["id"]})
    assert resumed.status_code == 200
    assert parse_events(resumed.text) == []
    stale = await client.get(path, headers={"Last-Event-ID": "an old state"})
    assert [event["event"] for event in parse_events(stale.text)] == ["grid"]


@pytest.mark.asyncio
async def test_the_grid_page_shows_the_card_and_is_audited(
    running: tuple[httpx.AsyncClient, ASGIApp],
    session: AsyncSession,
    exam: Exam,
    live: Flagged,
    users: dict[str, User],
) -> None:
    client, _app = running
    await sign_in(client, "proctor")
    page = await client.get(f"/proctor/sittings/{exam.sitting_id}/live")
    assert page.status_code == 200
    assert f'id="card-{exam.registration_id}"' in page.text
    assert exam.candidate.full_name in page.text
    assert f"/proctor/review/attempts/{live.attempt_id}" in page.text
    assert f"/proctor/sittings/{exam.sitting_id}/live/events" in page.text
    viewed = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "proctoring.live_grid_viewed")
    )
    assert viewed is not None and viewed.actor_id == users["proctor"].id
    assert (await client.get("/proctor/sittings/999999/live")).status_code == 404
    assert (await client.get(f"/proctor/sittings/{'9' * 40}/live")).status_code == 404


@pytest.mark.asyncio
@pytest.mark.parametrize("role", ["grader", "candidate", "administrator", "decision_maker"])
async def test_other_roles_are_refused(
    running: tuple[httpx.AsyncClient, ASGIApp], exam: Exam, live: Flagged, role: str
) -> None:
    client, _app = running
    await sign_in(client, role)
    base = f"/proctor/sittings/{exam.sitting_id}/live"
    for path in (base, f"{base}/events", f"{base}/frames/1"):
        assert (await client.get(path)).status_code == 403, path
    token = await csrf(client, "/")
    response = await client.post(
        f"{base}/registrations/{exam.registration_id}/message",
        data={"text": "Hei", "csrf_token": token},
    )
    assert response.status_code == 403


@pytest.mark.asyncio
async def test_signed_out_visitors_are_sent_to_sign_in(
    running: tuple[httpx.AsyncClient, ASGIApp], exam: Exam
) -> None:
    client, _app = running
    response = await client.get(f"/proctor/sittings/{exam.sitting_id}/live/events")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


@pytest.mark.asyncio
async def test_frames_only_of_the_sittings_attempts(
    running: tuple[httpx.AsyncClient, ASGIApp],
    session: AsyncSession,
    exam: Exam,
    live: Flagged,
    short_settings: Settings,
) -> None:
    client, _app = running
    store = MediaStore(short_settings.data_dir / "media")
    snapshot = Snapshot(
        attempt_id=live.attempt_id, stored_name=store.write_image(JPEG), taken_at=NOW
    )
    session.add(snapshot)
    await session.commit()
    other_sitting, _registration, _third = await second_sitting(session, exam)
    await sign_in(client, "proctor")
    frame = await client.get(f"/proctor/sittings/{exam.sitting_id}/live/frames/{snapshot.id}")
    assert frame.status_code == 200
    assert frame.headers["content-type"] == "image/jpeg"
    assert frame.content == JPEG
    assert "no-store" in frame.headers.get("cache-control", "") or "private" in frame.headers.get(
        "cache-control", ""
    )
    wrong = await client.get(f"/proctor/sittings/{other_sitting}/live/frames/{snapshot.id}")
    assert wrong.status_code == 404


@pytest.mark.asyncio
async def test_a_proctor_writes_and_the_candidate_reads(
    running: tuple[httpx.AsyncClient, ASGIApp],
    session: AsyncSession,
    exam: Exam,
    live: Flagged,
    users: dict[str, User],
) -> None:
    client, _app = running
    await sign_in(client, "proctor")
    grid = f"/proctor/sittings/{exam.sitting_id}/live"
    action = f"{grid}/registrations/{exam.registration_id}/message"
    token = csrf_from((await client.get(grid)).text)

    assert (await client.post(action, data={"text": "Hei"})).status_code == 403
    empty = await client.post(action, data={"text": "   ", "csrf_token": token})
    assert empty.status_code == 400
    assert 'aria-invalid="true"' in empty.text
    assert f'aria-describedby="message-{exam.registration_id}-error"' in empty.text
    long = await client.post(action, data={"text": "x" * 1001, "csrf_token": token})
    assert long.status_code == 400 and "x" * 1001 in long.text, "the text is kept"
    surrogate = await client.post(
        action,
        content=f"csrf_token={token}&text=%ED%A0%80".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    # A form cannot carry a lone surrogate in UTF-8: what arrives is replaced, never a 500.
    assert surrogate.status_code in {303, 400}
    unknown = await client.post(
        f"{grid}/registrations/999999/message", data={"text": "Hei", "csrf_token": token}
    )
    assert unknown.status_code == 404

    sent = await client.post(action, data={"text": "Snu kameraet mot deg", "csrf_token": token})
    assert sent.status_code == 303
    assert sent.headers["location"].endswith(f"?done=message#card-{exam.registration_id}")
    message = await session.scalar(select(ProctorMessage).order_by(ProctorMessage.id.desc()))
    assert message is not None and message.text == "Snu kameraet mot deg"
    audited = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "proctoring.message_sent")
    )
    assert audited is not None

    await client.post("/logout", data={"csrf_token": await csrf(client, "/")})
    client.cookies.clear()
    await sign_in(client, "candidate")
    api = f"/api/registrations/{exam.registration_id}/messages"
    unread = await client.get(api)
    assert unread.status_code == 200
    *_earlier, shown = unread.json()["messages"]
    assert shown["text"] == "Snu kameraet mot deg" and set(shown) == {"id", "text", "sent_at"}
    token = await csrf(client, "/")
    headers = {"X-CSRF-Token": token}
    assert (await client.post(f"{api}/read", json={"through": shown["id"]})).status_code == 403
    for bad in ({"through": "x"}, {"through": 10**400}, {"through": 0}, {}, {"through": 1e400}):
        response = await client.post(
            f"{api}/read",
            content=json.dumps(bad)
            if bad.get("through") != 10**400
            else '{"through": 1' + "0" * 400 + "}",
            headers={**headers, "Content-Type": "application/json"},
        )
        assert response.status_code in {400, 422}, bad
    read = await client.post(f"{api}/read", json={"through": shown["id"]}, headers=headers)
    assert read.status_code == 200
    assert read.json() == {"marked": len(unread.json()["messages"])}
    assert (await client.get(api)).json() == {"messages": [], "paused": False, "ended": False}

    client.cookies.clear()
    await sign_in(client, exam.other.username, "x" * 12)
    assert (await client.get(api)).status_code == 404


@pytest.mark.asyncio
async def test_a_proctor_pauses_and_resumes_the_part(
    running: tuple[httpx.AsyncClient, ASGIApp],
    session: AsyncSession,
    exam: Exam,
    live: Flagged,
) -> None:
    client, _app = running
    await sign_in(client, "proctor")
    grid = f"/proctor/sittings/{exam.sitting_id}/live"
    card = f"{grid}/registrations/{exam.registration_id}"
    token = csrf_from((await client.get(grid)).text)
    part = str(live.part_id)

    assert (
        await client.post(f"{card}/pause", data={"part": part, "grounds": "x"})
    ).status_code == 403
    for bad in ("abc", "1" + "0" * 400, "-1", ""):
        response = await client.post(
            f"{card}/pause", data={"part": bad, "grounds": "Sjekk", "csrf_token": token}
        )
        assert response.status_code == 400, bad
    no_grounds = await client.post(f"{card}/pause", data={"part": part, "csrf_token": token})
    assert no_grounds.status_code == 400
    assert f'aria-describedby="grounds-{exam.registration_id}-error"' in no_grounds.text
    not_paused = await client.post(f"{card}/resume", data={"part": part, "csrf_token": token})
    assert not_paused.status_code == 409

    paused = await client.post(
        f"{card}/pause", data={"part": part, "grounds": "Sjekker rommet", "csrf_token": token}
    )
    assert paused.status_code == 303
    row = await session.get(AttemptPart, live.part_id, populate_existing=True)
    assert row is not None and row.paused_at == NOW
    again = await client.post(
        f"{card}/pause", data={"part": part, "grounds": "Igjen", "csrf_token": token}
    )
    assert again.status_code == 409
    resumed = await client.post(f"{card}/resume", data={"part": part, "csrf_token": token})
    assert resumed.status_code == 303
    row = await session.get(AttemptPart, live.part_id, populate_existing=True)
    assert row is not None and row.paused_at is None
    actions = set(
        await session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("attempt.part_%"))
        )
    )
    assert {"attempt.part_paused", "attempt.part_resumed"} <= actions


@pytest.mark.asyncio
async def test_a_card_acts_only_on_its_own_candidates_part_and_sitting(
    running: tuple[httpx.AsyncClient, ASGIApp],
    session: AsyncSession,
    exam: Exam,
    live: Flagged,
) -> None:
    """A form posted to candidate A's card with candidate B's part id (or to A's card under
    another sitting) is a 404 and changes nothing: no clock stops, no message, no audit entry."""
    client, _app = running
    other = await flagged_attempt(
        session, await registration_of(session, exam.other), exam.other, []
    )
    other_sitting, _registration, _third = await second_sitting(session, exam)
    await sign_in(client, "proctor")
    grid = f"/proctor/sittings/{exam.sitting_id}/live"
    card_a = f"{grid}/registrations/{exam.registration_id}"
    card_b = f"{grid}/registrations/{other.registration_id}"
    token = csrf_from((await client.get(grid)).text)

    async def pauses_audited() -> list[str]:
        return list(
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.action.in_(["attempt.part_paused", "attempt.part_resumed"])
                )
            )
        )

    hostile = await client.post(
        f"{card_a}/pause",
        data={"part": str(other.part_id), "grounds": "Sjekker rommet", "csrf_token": token},
        headers={"Accept-Language": "en"},
    )
    assert hostile.status_code == 404
    assert "No such part" in hostile.text
    row = await session.get(AttemptPart, other.part_id, populate_existing=True)
    assert row is not None and row.paused_at is None
    assert await pauses_audited() == []

    elsewhere = f"/proctor/sittings/{other_sitting}/live/registrations/{exam.registration_id}"
    for action, data in (
        ("pause", {"part": str(live.part_id), "grounds": "Sjekker rommet"}),
        ("resume", {"part": str(live.part_id)}),
        ("message", {"text": "Snu kameraet mot deg"}),
    ):
        response = await client.post(f"{elsewhere}/{action}", data={**data, "csrf_token": token})
        assert response.status_code == 404, action
    row = await session.get(AttemptPart, live.part_id, populate_existing=True)
    assert row is not None and row.paused_at is None
    assert await session.scalar(select(ProctorMessage)) is None
    assert await pauses_audited() == []

    paused = await client.post(
        f"{card_b}/pause",
        data={"part": str(other.part_id), "grounds": "Sjekker rommet", "csrf_token": token},
    )
    assert paused.status_code == 303
    hostile = await client.post(
        f"{card_a}/resume", data={"part": str(other.part_id), "csrf_token": token}
    )
    assert hostile.status_code == 404
    row = await session.get(AttemptPart, other.part_id, populate_existing=True)
    assert row is not None and row.paused_at is not None, "B's clock still stands"
    assert await pauses_audited() == ["attempt.part_paused"]


@pytest.mark.asyncio
async def test_the_sittings_report_counts_flags_decisions_and_the_wait(
    running: tuple[httpx.AsyncClient, ASGIApp],
    session: AsyncSession,
    exam: Exam,
    users: dict[str, User],
) -> None:
    from proctoring.models import AttemptReview, Flag, FlagDecision, ReviewOutcome

    client, _app = running
    flagged = await flagged_attempt(
        session,
        exam.registration_id,
        exam.candidate,
        [(FlagType.PASTE, OPENS), (FlagType.PASTE, OPENS), (FlagType.NO_FACE, OPENS)],
    )
    for flag_id, decision, minutes in (
        (flagged.flags[0], FlagDecision.DISMISSED, 10),
        (flagged.flags[1], FlagDecision.CONFIRMED, 30),
    ):
        flag = await session.get(Flag, flag_id)
        assert flag is not None
        flag.decision, flag.decided_by_id = decision, users["proctor"].id
        flag.decided_at = flag.created_at + timedelta(minutes=minutes)
    session.add(AttemptReview(attempt_id=flagged.attempt_id, outcome=ReviewOutcome.CLEARED))
    await session.commit()

    await sign_in(client, "proctor")
    page = await client.get(f"/proctor/sittings/{exam.sitting_id}/report")
    assert page.status_code == 200
    assert exam.candidate.full_name in page.text
    assert "0:20:00" in page.text, "the median of 10 and 30 minutes"
    viewed = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "proctoring.sitting_report_viewed")
    )
    assert viewed is not None

    exported = await client.get(f"/proctor/sittings/{exam.sitting_id}/report.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert (
        exported.headers["content-disposition"]
        == f'attachment; filename="sitting-{exam.sitting_id}-proctoring.csv"'
    )
    header, line, *_rest = exported.text.splitlines()
    assert len(header.split(",")) == 8
    cells = line.split(",")
    assert cells[0] == str(flagged.attempt_id) and cells[1] == exam.candidate.full_name
    assert cells[4:7] == ["3", "1", "1"]
    assert "+01:00" in cells[3], "in the body's time zone, not UTC"
    assert (await client.get("/proctor/sittings/999999/report")).status_code == 404

    client.cookies.clear()
    await sign_in(client, "grader")
    for path in ("report", "report.csv"):
        response = await client.get(f"/proctor/sittings/{exam.sitting_id}/{path}")
        assert response.status_code == 403


@pytest.mark.asyncio
async def test_watching_needs_the_candidates_stream_in_this_process(
    running: tuple[httpx.AsyncClient, ASGIApp], exam: Exam, live: Flagged
) -> None:
    client, _app = running
    await sign_in(client, "proctor")
    token = await csrf(client, "/")
    path = f"/proctor/registrations/{exam.registration_id}/watch"
    offer = {"sdp": "v=0\r\n", "type": "offer"}
    assert (await client.post(path, json=offer)).status_code == 403
    # Not under /api: the page asks for JSON errors with its Accept header.
    headers = {"X-CSRF-Token": token, "Accept": "application/json"}
    response = await client.post(path, json=offer, headers=headers)
    assert response.status_code == 409
    assert "mottar ikke kandidatens direktebilde" in response.json()["error"]["message"]
    unknown = await client.post("/proctor/registrations/999999/watch", json=offer, headers=headers)
    assert unknown.status_code == 404
    for bad in (
        b"{}",
        b'{"sdp": "", "type": "offer"}',
        b'{"sdp": "v=0", "type": "answer"}',
        b'{"sdp": "\\ud800", "type": "offer"}',
        b'{"sdp": 1' + b"0" * 400 + b', "type": "offer"}',
        b"[1e400]",
        b"not json",
    ):
        refused = await client.post(
            path, content=bad, headers={**headers, "Content-Type": "application/json"}
        )
        assert refused.status_code in {400, 422}, bad

    client.cookies.clear()
    await sign_in(client, "grader")
    token = await csrf(client, "/")
    refused = await client.post(path, json=offer, headers={"X-CSRF-Token": token})
    assert refused.status_code == 403
