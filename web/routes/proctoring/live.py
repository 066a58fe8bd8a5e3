"""The proctors' live monitoring of a sitting: the grid of running attempts, its stream of changes
(server-sent events), the still frames it shows, and what a proctor does from a card: write to
the candidate, pause or resume the part's clock. The candidate's exam page reads its unread
messages here too (JSON).

The stream reads the grid from the database (``proctoring.live_grid``) every
``live_grid_poll_seconds`` with a session of its own, one query a time, and sends only what
changed: any worker of ``vakt serve --workers N`` serves it, whatever process holds the
candidates' live channels.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from exam import pauses
from exam.timing import Clock
from proctoring import live_grid, messages, sitting_report
from proctoring.access import CANDIDATES, PROCTORS
from proctoring.models import ConnectionState, FlagType, ReviewOutcome, Severity
from proctoring.schemas import (
    CandidateMessage,
    MessagesMarked,
    MessagesRead,
    UnreadMessages,
    WatchOffer,
)
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from web.csv_files import Cell, csv_response
from web.endpoints import api, csrf_token, current_user, db, form_str, now, page, path_id
from web.i18n import request_translations, translate
from web.inputs import form_id, json_model
from web.proctor_words import ProctorWords
from web.proctoring_view import PRIVATE_MEDIA
from web.rendering import render
from web.routes.exam.common import script_json
from web.seb import seb_gate

DONE = {
    "message": _l("Message sent."),
    "paused": _l("The part's clock is paused."),
    "resumed": _l("The part's clock runs again."),
}
"""What the grid says after an action from a card (``?done=``)."""


OUTCOMES = {
    ReviewOutcome.CLEARED: _l("Cleared"),
    ReviewOutcome.CHEATING_PROPOSED: _l("Cheating proposed"),
    ReviewOutcome.CHEATING_CONFIRMED: _l("Cheating confirmed"),
}
"""How a review's outcome reads on the report."""


def _labels(request: Request) -> dict[str, Any]:
    words = ProctorWords(request_translations(request))
    return {
        "flag": {kind.value: words.flag(kind) for kind in FlagType},
        "severity": {level.value: words.severity(level) for level in Severity},
        "connection": {state.value: words.connection(state) for state in ConnectionState},
        "noConnection": translate(request, _l("Not connected yet")),
        "on": translate(request, _l("on")),
        "off": translate(request, _l("off")),
        "paused": translate(request, _l("Paused")),
        "betweenParts": translate(request, _l("Between parts")),
        "part": translate(request, _l("Part {number}")),
        "newFlag": translate(request, _l("New flag for {name}: {flag}")),
        "noFlags": translate(request, _l("none")),
        "flags": translate(request, _l("{count} open, most severe: {severity}")),
        "frame": translate(request, _l("Latest picture of {name}")),
        "noFrame": translate(request, _l("No picture yet")),
        "connectionLost": translate(
            request, _l("The live updates are interrupted; trying to reconnect…")
        ),
        "connectionBack": translate(request, _l("Live updates are back.")),
        "empty": translate(request, _l("No candidate is taking the exam now.")),
        "watch": translate(request, _l("Watch live video")),
        "stopWatching": translate(request, _l("Stop watching")),
        "video": translate(request, _l("Live video of {name}")),
        "watchConnecting": translate(request, _l("Connecting to the live video…")),
        "watchFailed": translate(request, _l("The live video could not be shown: {reason}")),
    }


async def _render_grid(
    request: Request,
    *,
    error: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    sitting_id = path_id(request, "sitting_id")
    shown = await live_grid.open_grid(
        db(request), sitting_id, viewer=current_user(request), now=now(request)
    )
    done = DONE.get(request.query_params.get("done", ""))
    return render(
        request,
        "proctoring/live.html",
        {
            "sitting": shown.sitting,
            "cards": shown.grid.cards,
            "words": ProctorWords(request_translations(request)),
            "labels": _labels(request),
            "config_json": script_json(
                {
                    "events": f"/proctor/sittings/{sitting_id}/live/events",
                    "frames": f"/proctor/sittings/{sitting_id}/live/frames/",
                    "base": f"/proctor/sittings/{sitting_id}/live/registrations/",
                    "serverTime": now(request).isoformat(),
                    "watch": "/proctor/registrations/{id}/watch",
                    "csrf": csrf_token(request),
                    "labels": _labels(request),
                }
            ),
            "done": translate(request, done) if done else None,
            "error": error,
        },
        status_code=status_code,
    )


async def live_page(request: Request) -> Response:
    """GET /proctor/sittings/{id}/live: the sitting's live candidates (audited)."""
    return await _render_grid(request)


async def _poll(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, sitting_id: int
) -> live_grid.LiveGrid:
    # A session per poll: each one sees what other processes committed since the last.
    async with sessionmaker() as session:
        return await live_grid.live_grid(session, sitting_id, now=clock.now())


async def grid_events(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    sitting_id: int,
    *,
    last_event_id: str | None,
    interval: float,
    lifetime: float,
) -> AsyncIterator[ServerSentEvent]:
    """The grid's events: ``grid`` (every card) first, then ``changes`` (the cards that changed
    and the registrations that left, ``gone``) whenever the grid differs from the last poll.
    Each event's id names the grid's state; a stream resumed with the id of the state the page
    has sends nothing until the grid changes. Ends after ``lifetime`` seconds (the browser
    reconnects)."""
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + lifetime
    known: dict[int, dict[str, Any]] | None = None
    digest = last_event_id
    while True:
        grid = await _poll(sessionmaker, clock, sitting_id)
        current = {card.registration_id: card for card in grid.cards}
        new_digest = grid.digest()
        if new_digest != digest:
            server_time = clock.now().isoformat()
            if known is None:
                yield ServerSentEvent(
                    data=json.dumps(
                        {
                            "server_time": server_time,
                            "cards": [card.as_json() for card in grid.cards],
                        }
                    ),
                    event="grid",
                    id=new_digest,
                    retry=int(interval * 1000),
                )
            else:
                changed = [
                    card.as_json()
                    for registration_id, card in current.items()
                    if known.get(registration_id) != card.stable()
                ]
                gone = [
                    registration_id for registration_id in known if registration_id not in current
                ]
                yield ServerSentEvent(
                    data=json.dumps({"server_time": server_time, "cards": changed, "gone": gone}),
                    event="changes",
                    id=new_digest,
                )
            digest = new_digest
        known = {registration_id: card.stable() for registration_id, card in current.items()}
        remaining = ends_at - loop.time()
        if remaining <= 0:
            return
        await asyncio.sleep(min(interval, remaining))


async def live_events(request: Request) -> Response:
    """GET /proctor/sittings/{id}/live/events: the grid's changes as server-sent events."""
    sitting = await live_grid.live_sitting(
        db(request), path_id(request, "sitting_id"), viewer=current_user(request)
    )
    settings = request.state.settings
    return EventSourceResponse(
        grid_events(
            request.state.sessionmaker,
            request.state.clock,
            sitting.id,
            last_event_id=request.headers.get("last-event-id"),
            interval=settings.live_grid_poll_seconds,
            lifetime=settings.live_stream_seconds,
        ),
        ping=15,
        headers={"Cache-Control": "no-store"},
    )


async def live_frame(request: Request) -> Response:
    """GET /proctor/sittings/{id}/live/frames/{snapshot}: a candidate's newest still frame;
    each frame has its own URL, so the browser may keep it."""
    image = await live_grid.live_frame(
        db(request),
        request.state.media,
        sitting_id=path_id(request, "sitting_id"),
        snapshot_id=path_id(request, "snapshot_id"),
        viewer=current_user(request),
        now=now(request),
    )
    return Response(image, media_type="image/jpeg", headers=PRIVATE_MEDIA)


def _back(request: Request, done: str) -> str:
    sitting_id = path_id(request, "sitting_id")
    registration_id = path_id(request, "registration_id")
    return f"/proctor/sittings/{sitting_id}/live?done={done}#card-{registration_id}"


async def _card_error(
    request: Request, exc: VaktError, action: str, values: dict[str, str]
) -> Response:
    return await _render_grid(
        request,
        error={
            "registration_id": path_id(request, "registration_id"),
            "action": action,
            "field": exc.field,
            "message": translate(request, exc.message, exc.params),
            "values": values,
        },
        status_code=exc.status_code,
    )


async def send_message(request: Request) -> Response:
    """POST …/live/registrations/{id}/message (text): write to the candidate."""
    form = await request.form()
    text = form_str(form, "text")
    try:
        await messages.send_message(
            db(request),
            registration_id=path_id(request, "registration_id"),
            sitting_id=path_id(request, "sitting_id"),
            text=text,
            proctor=current_user(request),
            now=now(request),
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _card_error(request, exc, "message", {"text": text})
    return RedirectResponse(_back(request, "message"), status_code=303)


async def pause_part(request: Request) -> Response:
    """POST …/live/registrations/{id}/pause (part, grounds): stop the part's clock."""
    form = await request.form()
    grounds = form_str(form, "grounds")
    try:
        await pauses.pause_part(
            db(request),
            attempt_part_id=form_id(form, "part", _l("Choose the part to pause.")),
            registration_id=path_id(request, "registration_id"),
            sitting_id=path_id(request, "sitting_id"),
            actor=current_user(request),
            grounds=grounds,
            now=now(request),
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _card_error(request, exc, "pause", {"grounds": grounds})
    return RedirectResponse(_back(request, "paused"), status_code=303)


async def resume_part(request: Request) -> Response:
    """POST …/live/registrations/{id}/resume (part): start the part's clock again."""
    form = await request.form()
    try:
        await pauses.resume_part(
            db(request),
            attempt_part_id=form_id(form, "part", _l("Choose the part to resume.")),
            registration_id=path_id(request, "registration_id"),
            sitting_id=path_id(request, "sitting_id"),
            actor=current_user(request),
            now=now(request),
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _card_error(request, exc, "resume", {})
    return RedirectResponse(_back(request, "resumed"), status_code=303)


async def watch_offer(request: Request) -> Response:
    """POST /proctor/registrations/{id}/watch {sdp, type}: the candidate's live video, relayed
    (JSON, CSRF header); 409 when this process does not hold the candidate's stream."""
    offer = await json_model(request, WatchOffer)
    answer = await request.state.live_channels.watch(
        db(request),
        registration_id=path_id(request, "registration_id"),
        offer=offer,
        viewer=current_user(request),
        now=now(request),
    )
    return JSONResponse(answer.model_dump())


# ---- the sitting's report -----------------------------------------------------------------------


async def report_page(request: Request) -> Response:
    """GET /proctor/sittings/{id}/report: attempts, flags by kind, decisions (audited)."""
    report = await sitting_report.sitting_report(
        db(request), path_id(request, "sitting_id"), viewer=current_user(request)
    )
    return render(
        request,
        "proctoring/report.html",
        {
            "report": report,
            "words": ProctorWords(request_translations(request)),
            "outcomes": {outcome: translate(request, text) for outcome, text in OUTCOMES.items()},
            "median": _duration(report.median_decision_seconds),
        },
    )


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


async def report_csv(request: Request) -> Response:
    """GET /proctor/sittings/{id}/report.csv: the report's attempts, one line each (audited)."""
    report = await sitting_report.sitting_report(
        db(request), path_id(request, "sitting_id"), viewer=current_user(request)
    )
    words = ProctorWords(request_translations(request))
    header = [
        translate(request, text)
        for text in (
            _l("Attempt"),
            _l("Candidate"),
            _l("Status"),
            _l("Started"),
            _l("Flags"),
            _l("Dismissed"),
            _l("Confirmed"),
            _l("Review"),
        )
    ]
    zone = ZoneInfo(request.state.settings.timezone)
    lines: list[list[Cell]] = [
        [
            line.attempt_id,
            line.candidate,
            words.attempt_status(line.status),
            line.started_at.astimezone(zone).isoformat(timespec="seconds"),
            line.flags,
            line.dismissed,
            line.confirmed,
            translate(request, OUTCOMES[line.outcome]) if line.outcome else "",
        ]
        for line in report.attempts
    ]
    return csv_response(f"sitting-{report.sitting.id}-proctoring.csv", header, lines)


# ---- the candidate's side: the messages on the exam page (JSON) ---------------------------------


async def unread_messages(request: Request) -> Response:
    """GET /api/registrations/{id}/messages: the candidate's unread messages from proctors."""
    notices = await messages.candidate_notices(
        db(request),
        registration_id=path_id(request, "registration_id"),
        candidate=current_user(request),
    )
    body = UnreadMessages(
        messages=[
            CandidateMessage(id=message.id, text=message.text, sent_at=message.sent_at)
            for message in notices.messages
        ],
        paused=notices.clock.paused,
        ended=notices.clock.ended,
    )
    return JSONResponse(body.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


async def messages_read(request: Request) -> Response:
    """POST /api/registrations/{id}/messages/read {through}: the candidate dismissed them."""
    body = await json_model(request, MessagesRead)
    marked = await messages.mark_read(
        db(request),
        registration_id=path_id(request, "registration_id"),
        through_id=body.through,
        candidate=current_user(request),
        now=now(request),
    )
    return JSONResponse(MessagesMarked(marked=marked).model_dump())


def routes() -> list[BaseRoute]:
    """The live grid, its stream, frames and card actions; the candidate's messages."""
    card = "/proctor/sittings/{sitting_id:id}/live/registrations/{registration_id:id}"
    return [
        page("/proctor/sittings/{sitting_id:id}/live", live_page, roles=PROCTORS),
        page("/proctor/sittings/{sitting_id:id}/live/events", live_events, roles=PROCTORS),
        page(
            "/proctor/sittings/{sitting_id:id}/live/frames/{snapshot_id:id}",
            live_frame,
            roles=PROCTORS,
        ),
        page("/proctor/sittings/{sitting_id:id}/report", report_page, roles=PROCTORS),
        page("/proctor/sittings/{sitting_id:id}/report.csv", report_csv, roles=PROCTORS),
        api(
            "/proctor/registrations/{registration_id:id}/watch",
            watch_offer,
            methods=["POST"],
            roles=PROCTORS,
        ),
        page(f"{card}/message", send_message, methods=["POST"], roles=PROCTORS),
        page(f"{card}/pause", pause_part, methods=["POST"], roles=PROCTORS),
        page(f"{card}/resume", resume_part, methods=["POST"], roles=PROCTORS),
        api(
            "/api/registrations/{registration_id:id}/messages",
            seb_gate(unread_messages),
            roles=CANDIDATES,
        ),
        api(
            "/api/registrations/{registration_id:id}/messages/read",
            seb_gate(messages_read),
            methods=["POST"],
            roles=CANDIDATES,
        ),
    ]
