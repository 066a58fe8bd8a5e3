"""The OpenAPI description of the candidate's exam API, built from the API's schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from exam import schemas
from grading import schemas as grading_schemas
from proctoring import schemas as proctoring_schemas
from vakt import __version__

PART_ID = {"name": "part_id", "in": "path", "required": True, "schema": {"type": "integer"}}
ATTEMPT_ID = {"name": "attempt_id", "in": "path", "required": True, "schema": {"type": "integer"}}
REGISTRATION_ID = {
    "name": "registration_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
}
ITEM_VERSION_ID = {
    "name": "item_version_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
}
QUESTION_ID = {"name": "question_id", "in": "path", "required": True, "schema": {"type": "string"}}
CSRF = {
    "name": "X-CSRF-Token",
    "in": "header",
    "required": True,
    "description": "The session's CSRF token (every page's forms carry it as csrf_token)",
    "schema": {"type": "string"},
}

CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "description": "The script's code (it names no candidate)",
    "schema": {"type": "string"},
}
INDEX = {"name": "index", "in": "path", "required": True, "schema": {"type": "integer"}}
WEBM = "video/webm"
"""A request body of raw WebM bytes instead of a JSON model."""

# (method, path, summary, parameters, request model, success status, response model, refusals)
OPERATIONS: list[
    tuple[
        str,
        str,
        str,
        list[dict[str, Any]],
        type[BaseModel] | str | None,
        int,
        type[BaseModel] | None,
        str,
    ]
] = [
    ("get", "/api/time", "The server's clock", [], None, 200, schemas.ServerTime, ""),
    (
        "post",
        "/api/registrations/{registration_id}/attempt",
        "Start or resume the attempt; the form is fixed at the first call",
        [REGISTRATION_ID, CSRF],
        None,
        201,
        schemas.AttemptStarted,
        "403 on another computer than the attempt's; 404 for another candidate's registration; "
        "409 before the check-in (the code of conduct and self-declaration accepted on the exam "
        "page, then the identity check) or outside the sitting's window",
    ),
    (
        "get",
        "/api/attempts/{attempt_id}",
        "The attempt's state: parts, deadlines, the current part's items and saved answers",
        [ATTEMPT_ID],
        None,
        200,
        schemas.AttemptState,
        "403 on another computer; 404 for another candidate's attempt",
    ),
    (
        "post",
        "/api/attempts/{attempt_id}/parts/next",
        "Start the next part (after the break that follows the previous one)",
        [ATTEMPT_ID, CSRF],
        None,
        201,
        schemas.PartStarted,
        "409 before the check-in, during the break, after the last part, or when the attempt "
        "has ended",
    ),
    (
        "put",
        "/api/parts/{part_id}/answers/{item_version_id}/{question_id}",
        "Save one answer: idempotent; an older sequence never overwrites a newer one",
        [PART_ID, ITEM_VERSION_ID, QUESTION_ID, CSRF],
        schemas.SaveRequest,
        200,
        schemas.SaveResult,
        "400 for an impossible value or text that is not valid Unicode; 404 for a question not "
        "in the part; 409 after a hand-in before the deadline, or after the deadline (5 s grace) "
        "unless `changed_at` is before it and the answer arrives within the late window (a "
        "refused late answer is kept on record)",
    ),
    (
        "put",
        "/api/parts/{part_id}/flags/{item_version_id}",
        "Flag an item of the running part for review, or take the flag away: idempotent; an "
        "older sequence never overwrites a newer one",
        [PART_ID, ITEM_VERSION_ID, CSRF],
        schemas.FlagRequest,
        200,
        schemas.FlagResult,
        "403 on another computer; 404 for another candidate's part or an item not in the part; "
        "409 after the hand-in, after the deadline (5 s grace) or while the part is paused",
    ),
    (
        "post",
        "/api/parts/{part_id}/oral/{item_version_id}/{question_id}/start",
        "Mark where the candidate starts recording the answer to an oral question: idempotent "
        "while a recording is under way; a new one after a stop is a retake",
        [PART_ID, ITEM_VERSION_ID, QUESTION_ID, CSRF],
        schemas.OralStartRequest,
        200,
        schemas.OralTakeResult,
        "400 for a mark out of range; 403 on another computer; 404 for another candidate's part "
        "or a question not in the part; 409 after the hand-in, after the deadline, while paused, "
        "or for a retake beyond the scheme's rule",
    ),
    (
        "post",
        "/api/parts/{part_id}/oral/{item_version_id}/{question_id}/stop",
        "Mark where the recording of a take ends (moved back to the task's longest answer when "
        "later): idempotent; accepted after the deadline or the hand-in, since the take was "
        "started in time",
        [PART_ID, ITEM_VERSION_ID, QUESTION_ID, CSRF],
        schemas.OralStopRequest,
        200,
        schemas.OralTakeResult,
        "400 for a mark out of range or before the start; 403 on another computer; 404 for "
        "another candidate's part or a take never started; 409 when the staff ended the exam "
        "or while paused",
    ),
    (
        "get",
        "/api/parts/{part_id}/oral",
        "The part's oral answers: the newest take of each question, and whether it counts as "
        "answered (recorded, and the recording received through its end)",
        [PART_ID],
        None,
        200,
        schemas.OralAnswers,
        "404 for another candidate's part",
    ),
    (
        "get",
        "/api/parts/{part_id}/clock",
        "The server's clock and the part's deadline (the exam page asks every minute; it is "
        "the candidate's last contact when the connection is lost)",
        [PART_ID],
        None,
        200,
        schemas.PartClock,
        "404 for another candidate's part",
    ),
    (
        "post",
        "/api/parts/{part_id}/submit",
        "Hand in the part; answers the receipt",
        [PART_ID, CSRF],
        None,
        200,
        schemas.Receipt,
        "404 for another candidate's part",
    ),
    (
        "post",
        "/api/registrations/{registration_id}/live",
        "Connect the camera and microphone: a complete WebRTC offer (no trickle ICE) in, the "
        "answer out",
        [REGISTRATION_ID, CSRF],
        proctoring_schemas.LiveOffer,
        200,
        proctoring_schemas.LiveAnswer,
        "409 when the exam is not proctored or has ended; 422 for an offer without audio and video",
    ),
    (
        "post",
        "/api/registrations/{registration_id}/events",
        "Report what the exam page noticed (tab hidden, paste, network loss …): a flag",
        [REGISTRATION_ID, CSRF],
        proctoring_schemas.BrowserEvent,
        204,
        None,
        "422 for an unknown event type",
    ),
    (
        "put",
        "/api/parts/{part_id}/recording/{index}",
        "Upload chunk `index` of the part's recording (WebM bytes as MediaRecorder made them); "
        "idempotent",
        [PART_ID, INDEX, CSRF],
        WEBM,
        201,
        proctoring_schemas.ChunkStored,
        "409 for different bytes under a used index, after the recording ended, or a day after "
        "the part; 413 over the scheme's size limit; 415 for another Content-Type than "
        "video/webm or bytes that are not WebM",
    ),
    (
        "post",
        "/api/parts/{part_id}/recording/finish",
        "The recording of the part ended with chunk `last_index`",
        [PART_ID, CSRF],
        proctoring_schemas.RecordingFinish,
        200,
        proctoring_schemas.RecordingEnded,
        "404 when the part has no recording; 409 when it already ended with another chunk",
    ),
    (
        "get",
        "/api/registrations/{registration_id}/messages",
        "The candidate's unread messages from proctors, oldest first",
        [REGISTRATION_ID],
        None,
        200,
        proctoring_schemas.UnreadMessages,
        "404 for another candidate's registration",
    ),
    (
        "post",
        "/api/registrations/{registration_id}/messages/read",
        "Mark the messages up to and including `through` read (the newest the page showed)",
        [REGISTRATION_ID, CSRF],
        proctoring_schemas.MessagesRead,
        200,
        proctoring_schemas.MessagesMarked,
        "404 for another candidate's registration",
    ),
    (
        "post",
        "/proctor/registrations/{registration_id}/watch",
        "Proctors: watch the candidate's live picture and sound, relayed over WebRTC (a complete "
        "receive-only offer in, the answer out); send Accept: application/json",
        [REGISTRATION_ID, CSRF],
        proctoring_schemas.WatchOffer,
        200,
        proctoring_schemas.WatchAnswer,
        "403 for anyone but proctors; 409 when this server process does not hold the "
        "candidate's live channel (not connected, or connected to another worker: route a "
        "sitting's candidates and proctors to one worker); 422 for an unusable offer",
    ),
    (
        "get",
        "/api/grading/queue",
        "Graders: how many scripts wait for you, your open claims, and (lead graders) the "
        "scripts you may reconcile",
        [],
        None,
        200,
        grading_schemas.GradingQueue,
        "403 for anyone but a grader",
    ),
    (
        "post",
        "/api/grading/claims",
        "Graders: claim the next script waiting for you (the oldest you may grade)",
        [CSRF],
        None,
        201,
        grading_schemas.ClaimedScript,
        "403 before you are qualified for a scheme; 409 when no script is waiting for you",
    ),
    (
        "get",
        "/api/grading/scripts/{code}",
        "Graders: a script you claimed or marked: the item, the grading guide, the answer and "
        "your own marks (never whose answer it is)",
        [CODE],
        None,
        200,
        grading_schemas.ScriptView,
        "404 for a script that is not yours",
    ),
    (
        "put",
        "/api/grading/scripts/{code}/marks",
        "Graders: autosave your marks and comment (POST works too); an older sequence never "
        "overwrites a newer save",
        [CODE, CSRF],
        grading_schemas.MarksRequest,
        200,
        grading_schemas.MarksSaved,
        "400 for a number no browser can hold or text that is not valid Unicode; 404 for a "
        "script that is not yours; 409 once submitted or after the claim ran out; 422 for a "
        "mark that is not a number or out of its criterion's range (`field`: `marks.N`), a "
        "mark too many or too few (`marks`), or a comment that is too long (`comment`)",
    ),
    (
        "post",
        "/api/grading/scripts/{code}/submit",
        "Graders: submit your saved marks; they can no longer change",
        [CODE, CSRF],
        None,
        200,
        grading_schemas.MarksSubmitted,
        "404 for a script that is not yours; 409 when submitted already or the claim ran out; "
        "422 while a criterion has no mark (`field`: `marks.N`)",
    ),
    (
        "get",
        "/api/grading/reconciliations",
        "Lead graders: the scripts whose two marks are too far apart and that you may reconcile",
        [],
        None,
        200,
        grading_schemas.Reconciliations,
        "403 for anyone but a grader",
    ),
    (
        "post",
        "/api/grading/reconciliations/{code}",
        "Lead graders: set a script's final mark with written grounds",
        [CODE, CSRF],
        grading_schemas.ReconcileRequest,
        200,
        grading_schemas.Reconciled,
        "403 when you do not lead the script's scheme; 404 for a script not in reconciliation, "
        "one you marked, or one whose candidate you may not grade; 409 when reconciled "
        "already; 422 for a final mark out of range (`final_points`) or no grounds (`grounds`)",
    ),
]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the exam API."""
    models = {m for op in OPERATIONS for m in (op[4], op[6]) if isinstance(m, type)}
    models.add(schemas.ErrorBody)
    _, definitions = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error = {"content": {"application/json": {"schema": ref(schemas.ErrorBody)}}}
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, parameters, request, status, response, refusals in OPERATIONS:
        success: dict[str, Any] = {"description": "Done, nothing to answer"}
        if response is not None:
            success = {
                "description": response.__doc__ or "",
                "content": {"application/json": {"schema": ref(response)}},
            }
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": parameters,
            "responses": {
                str(status): success,
                "4XX": {"description": refusals or "Refused, with a message", **error},
            },
        }
        if request == WEBM:
            operation["requestBody"] = {
                "required": True,
                "content": {WEBM: {"schema": {"type": "string", "format": "binary"}}},
            }
        elif isinstance(request, type):
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(request)}},
            }
        if path != "/api/time":
            operation["security"] = [{"session": []}]
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Vakt exam API",
            "version": __version__,
            "description": "The candidate's exam: state, start, save, hand in, time; its "
            "proctoring: the live camera channel, recording chunks and events; and the graders' "
            "queue, marks and reconciliations. Errors carry a message in the caller's language "
            "(Accept-Language).",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "vakt_session"}
            },
        },
    }


async def openapi_json(request: Request) -> Response:
    """GET /api/openapi.json: the OpenAPI description of the exam API."""
    return JSONResponse(openapi_document())
