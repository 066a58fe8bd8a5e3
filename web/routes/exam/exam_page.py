"""The exam page: the running part with the candidate's answers, or what comes next (the
receipts, the next part after its break). exam.js keeps it alive through the JSON API
(``web.routes.exam.api``): autosave, the offline queue, the countdown."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from exam import attempts, oral, queries
from exam.models import Attempt, Registration, Sitting
from exam.roles import CANDIDATES
from vakt.errors import Forbidden, NotFound, VaktError
from vakt.i18n import _l
from web import proctoring_view
from web.device import bind_this_browser, device_token
from web.endpoints import csrf_token, current_user, db, now, page, path_id
from web.headers import item_file_headers
from web.i18n import translate
from web.rendering import render
from web.routes.exam.common import checkin_steps, own_registration, script_json, step_redirect
from web.seb import seb_gate


async def _bound_attempt(request: Request, registration: Registration) -> Attempt | None:
    """The registration's attempt, tied to this browser (refused on another computer)."""
    attempt = await queries.attempt_of(db(request), registration.id)
    if attempt is not None:
        await bind_this_browser(request, attempt)
    return attempt


async def take(request: Request) -> Response:
    """GET /exam/{id}/take: the current part with the candidate's answers, or what comes next."""
    registration, sitting = await own_registration(request)
    step = await request.state.checkin.missing_step(db(request), registration)
    if step is not None:
        return step_redirect(request, registration, step)
    # The browser gets its device cookie before it starts anything, so the start's own answer
    # is not the only one that carries it.
    device_token(request)
    try:
        attempt = await _bound_attempt(request, registration)
    except Forbidden as refused:
        return render(
            request,
            "candidate/elsewhere.html",
            {"message": translate(request, refused.message, refused.params)},
            status_code=403,
        )
    return await _render_take(request, registration, sitting, attempt)


async def _render_take(
    request: Request,
    registration: Registration,
    sitting: Sitting,
    attempt: Attempt | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    moment, settings = now(request), request.state.settings
    state = await queries.exam_state(
        db(request),
        registration=registration,
        sitting=sitting,
        attempt=attempt,
        now=moment,
        views=request.state.candidate_views,
        late_window=settings.late_save_window,
    )
    current = state.current
    config: dict[str, Any] | None = None
    if current is not None:
        config = {
            "registration": registration.id,
            "attempt": attempt.id if attempt else None,
            "part": current.id,
            "deadline": current.deadline.isoformat(),
            "paused": current.paused_at is not None,
            "serverTime": moment.isoformat(),
            "clockUrl": f"/api/parts/{current.id}/clock",
            "lateWindowMinutes": round(settings.late_save_window_seconds / 60),
            "csrf": csrf_token(request),
            "answers": {
                key: {
                    "value": answer.value,
                    "sequence": answer.sequence,
                    "saved_at": answer.saved_at.isoformat(),
                }
                for key, answer in state.answers.items()
            },
            # Every flag with its sequence, set or taken away: a change still waiting on this
            # computer counts only if it is newer than the server's.
            "flags": {
                str(version): {"flagged": flag.flagged, "sequence": flag.sequence}
                for version, flag in state.flags.items()
            },
            "oral": await _oral_config(request, current.id),
            "messages": _exam_messages(request),
        }
    elif state.late_part is not None:
        # Answers typed before the deadline may still wait in this browser (offline, then a
        # reload): the page sends them (exam.js) and shows the receipt issued again.
        config = {
            "part": state.late_part.id,
            "csrf": csrf_token(request),
            "messages": {
                "deliveryWaiting": translate(
                    request,
                    _l(
                        "{count} answers typed before the time was up are still on this "
                        "computer. Keep this page open until the connection is back: they are "
                        "sent then."
                    ),
                )
            },
        }
    proctor = (
        await proctoring_view.proctor_config(request, registration, attempt, current)
        if current is not None or state.next_index is not None
        else None
    )
    definition = state.definition
    return render(
        request,
        "candidate/take.html",
        {
            "registration": registration,
            "sitting": sitting,
            "attempt": attempt,
            "definition": definition,
            "order": state.order,
            "started": {p.part_index: p for p in state.started},
            "current": current,
            "current_part": definition.parts[current.part_index] if current else None,
            "next_part": definition.parts[state.next_index]
            if state.next_index is not None
            else None,
            "next_position": state.order.index(state.next_index) + 1
            if state.next_index is not None
            else None,
            "break_until": state.break_until,
            "extra_time_percent": state.extra_time_percent,
            "items": state.items,
            "config_json": script_json(config) if config else None,
            "proctor_json": script_json(proctor) if proctor else None,
            "sitting_open": state.sitting_open,
            "now": moment,
            "error": error,
            "steps": await checkin_steps(request, registration, "exam"),
            "exam_mode": current is not None,
        },
        status_code=status_code,
    )


async def _oral_config(request: Request, attempt_part_id: int) -> dict[str, Any]:
    """Where each oral answer of the part stands, by "version/question" (exam.js picks up)."""
    found = await oral.answers_of(db(request), attempt_part_id, request.state.recording_receipts)
    return {
        f"{status.item_version_id}/{status.question_id}": {
            "state": status.state.value,
            "started_at": status.started_at.isoformat(),
            "answered": status.answered,
            "retakes_left": status.retakes_left,
            "take_detail": {
                "take": status.row.take,
                "start": {
                    "stream": status.row.start_stream,
                    "ms": status.row.start_ms,
                    "chunk": status.row.start_chunk,
                },
                "end": None
                if status.row.end_chunk is None
                else {
                    "stream": status.row.end_stream,
                    "ms": status.row.end_ms,
                    "chunk": status.row.end_chunk,
                },
            },
        }
        for status in found
    }


def _exam_messages(request: Request) -> dict[str, str]:
    """The exam page's script texts, in the candidate's language."""
    texts = {
        "saved": _l("All answers saved {time}"),
        "saving": _l("Saving…"),
        "waiting": _l(
            "Offline: {count} answers waiting. Keep working; they are kept on this computer."
        ),
        "online": _l("The connection is back. Your answers are being sent."),
        "offline": _l(
            "The connection is lost. Keep working: your answers are kept on this computer."
        ),
        "refused": _l("An answer was not saved: {message}"),
        "fiveMinutes": _l("5 minutes left of this part."),
        "oneMinute": _l("1 minute left of this part."),
        "timeUp": _l("The time is up. Your answers are being handed in."),
        "pausedShort": _l("Paused"),
        "paused": _l(
            "The proctor has paused your exam. The clock is stopped and your time is kept."
        ),
        "resumed": _l("The exam goes on. The clock is running again."),
        "deadlineWaiting": _l(
            "Saved on the server: {saved} answers. Waiting to be sent: {waiting} answers, typed "
            "before the time was up. Keep this page open: they count when they reach the "
            "server within {minutes} minutes."
        ),
        "deadlineSaved": _l(
            "Every answer typed before the time was up is saved on the server. The part is "
            "being handed in."
        ),
        "deadlineDelivered": _l("All your answers have reached the server."),
        "unanswered": _l("{count} of {total} questions are unanswered."),
        "allAnswered": _l("All questions are answered."),
        "flagged": _l("{count} flagged for review."),
        "stillWaiting": _l(
            "{count} answers have not reached the server yet. "
            "Wait for the connection before handing in."
        ),
        "handInFailed": _l("The part could not be handed in: {message}"),
        "words": _l("{count} words"),
        "wordsOver": _l("{count} words: more than the limit of {limit}"),
        "statusAnswered": _l("answered"),
        "statusUnanswered": _l("not answered"),
        "statusPartly": _l("partly answered"),
        "statusFlagged": _l("flagged"),
        "flagRefused": _l("A flag for review was not saved: {message}"),
        "oralNotStarted": _l("Not started"),
        "oralPreparing": _l("Preparing"),
        "oralPreparationStarted": _l(
            "Preparation started: {seconds} seconds. Recording starts by itself when it ends."
        ),
        "oralPreparationLeft": _l("Preparation time left: {time}"),
        "oralPreparationNotice": _l("{seconds} seconds of preparation left."),
        "oralAnswerNow": _l("Start answering now"),
        "oralRecording": _l("Recording your answer"),
        "oralRecordingStarted": _l(
            "Recording started. You have at most {seconds} seconds; it stops by itself."
        ),
        "oralTimeLeft": _l("Answer time left: {time}"),
        "oralRecordingNotice": _l("{seconds} seconds of answer time left."),
        "oralStopped": _l("Recording stopped. Your answer is being sent."),
        "oralRecorded": _l("Answer recorded; sending it to the server"),
        "oralReceived": _l("Answer recorded and received by the server"),
        "oralUploaded": _l("{done} of {total} parts of the answer uploaded"),
        "oralWaitingOffline": _l(
            "Offline: {count} parts of the answer wait on this computer. They are sent when "
            "the connection is back."
        ),
        "oralRetake": _l("Record the answer again ({count} left)"),
        "oralNoRecording": _l(
            "The camera recording is not running, so the answer cannot be recorded. Check the "
            "camera and microphone above."
        ),
        "oralRefused": _l("The recording of the answer was refused: {message}"),
    }
    return {key: translate(request, text) for key, text in texts.items()}


async def start_next_part(request: Request) -> Response:
    """POST /exam/{id}/start: start the attempt (first time) and the next part."""
    registration, sitting = await own_registration(request)
    session, checkin = db(request), request.state.checkin
    step = await checkin.missing_step(session, registration)
    if step is not None:
        return step_redirect(request, registration, step)
    candidate, moment = current_user(request), now(request)
    try:
        attempt = await attempts.start_attempt(
            session, registration_id=registration.id, candidate=candidate, now=moment,
            checkin=checkin,
        )  # fmt: skip
        await bind_this_browser(request, attempt)
        await attempts.start_part(
            session, attempt_id=attempt.id, candidate=candidate, now=moment, checkin=checkin
        )
    except NotFound:
        raise
    except VaktError as exc:
        return await _render_take(
            request,
            registration,
            sitting,
            await queries.attempt_of(session, registration.id),
            error=translate(request, exc.message, exc.params),
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/exam/{registration.id}/take", status_code=303)


async def exam_file(request: Request) -> Response:
    """GET /exam/{id}/files/{version}/{name}: a file of an item in the candidate's current part."""
    registration, _sitting = await own_registration(request)
    media_type, content = await queries.current_part_file(
        db(request), registration, path_id(request, "version_id"), request.path_params["name"]
    )
    return Response(
        content, media_type=media_type, headers=item_file_headers(media_type, "private")
    )


def routes() -> list[BaseRoute]:
    """The exam page's routes."""
    return [
        page("/exam/{registration_id:id}/take", seb_gate(take, page=True), roles=CANDIDATES),
        page(
            "/exam/{registration_id:id}/start",
            seb_gate(start_next_part, page=True),
            methods=["POST"],
            roles=CANDIDATES,
        ),
        page(
            "/exam/{registration_id:id}/files/{version_id:id}/{name:path}",
            seb_gate(exam_file, page=True),
            roles=CANDIDATES,
        ),
    ]
