"""Oral answers: the candidate prepares, then records the answer to an oral task on video.

The part's recording (kept by proctoring) runs for the whole part; an answer is a stretch of it,
marked by its start and its end (``OralTake``). The exam page sends the marks as the candidate
starts and stops; the server keeps them under the same rules as saving an answer (the
candidate's own part, from the browser the attempt is tied to, while the part runs), holds the
longest answer the task allows, and refuses a retake beyond the scheme's rule (``OralRules``).

An oral question counts as answered once an answer is recorded and the server holds every piece
of the recording from the start of its file through the end mark: whether it does is proctoring's
to say, through the ``RecordingReceipts`` extension point (wired in ``web.app.create_app``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy.exc
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import (
    Attempt,
    AttemptPart,
    AttemptStatus,
    OralSettings,
    OralTake,
    OralTakeState,
    Registration,
    Sitting,
)
from exam.pauses import PAUSED
from exam.queries import candidate_part
from exam.roles import EXAM_ADMINISTRATORS, require
from exam.save_statements import SaveTarget, save_target
from exam.schemas import MAX_CHUNK, MAX_OFFSET_MS
from itembank.models import Scheme
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l
from vakt.scheme_settings import store_scheme_settings

MAX_RETAKES = 10
MAX_TAKE = 1000
"""The highest take number a request may name (the refusal's text says 1000)."""
RULES_REFUSED = _l("Only administrators may change the rules for oral answers.")
LABELS = {"retakes": _l("Retakes allowed per oral answer")}


class RecordingReceipts(Protocol):
    """What proctoring tells the exam about a part's recording."""

    async def received(
        self, session: AsyncSession, attempt_part_id: int, first: int, last: int
    ) -> bool:
        """True when the server holds every chunk from ``first`` through ``last`` of the part's
        recording."""
        ...


class OralRules(BaseModel):
    """A scheme's rules for oral answers (schemes are data: staff set them)."""

    model_config = ConfigDict(extra="forbid")

    retakes: int = Field(default=0, ge=0, le=MAX_RETAKES)
    """How many times a candidate may record an answer again after the first recording."""


async def rules_for_scheme(session: AsyncSession, scheme_id: int) -> OralRules:
    """The scheme's oral rules (the defaults until staff set them)."""
    row = await session.get(OralSettings, scheme_id)
    return OralRules.model_validate(row.settings) if row else OralRules()


async def scheme_rules(session: AsyncSession, scheme_id: int) -> tuple[Scheme, OralRules]:
    """The scheme and its oral rules; a 404 for a scheme that does not exist."""
    scheme = await session.get(Scheme, scheme_id)
    if scheme is None:
        raise NotFound(_l("No such scheme."))
    return scheme, await rules_for_scheme(session, scheme.id)


async def save_rules(
    session: AsyncSession, *, scheme_id: int, values: dict[str, Any], actor: User, now: datetime
) -> OralRules:
    """Set the scheme's oral rules (administrators only); a value out of range is refused at
    its field. Audited."""
    require(actor, EXAM_ADMINISTRATORS, RULES_REFUSED)
    await scheme_rules(session, scheme_id)
    try:
        rules = OralRules.model_validate(values)
    except ValidationError:
        raise VaktError(
            _l("The number of retakes must be a whole number from 0 to {max}."),
            field="retakes",
            max=MAX_RETAKES,
        ) from None
    await store_scheme_settings(
        session,
        OralSettings,
        scheme_id=scheme_id,
        settings=rules.model_dump(mode="json"),
        actor_id=actor.id,
        now=now,
        action="exam.oral_rules_changed",
    )
    return rules


@dataclass(frozen=True)
class Mark:
    """A place in the part's recording: the chunk that begins its WebM file (``stream``), the
    time from that file's start (``ms``) and the chunk that holds the place (``chunk``)."""

    stream: int
    ms: int
    chunk: int

    @classmethod
    def parse(cls, value: Any) -> Mark:
        """A mark as the page sends it ({stream, ms, chunk}); anything else is a 400."""
        if not isinstance(value, dict):
            raise VaktError(_l("The mark must be an object with stream, ms and chunk."))
        numbers: dict[str, int] = {}
        for name, top in (("stream", MAX_CHUNK), ("ms", MAX_OFFSET_MS), ("chunk", MAX_CHUNK)):
            number = value.get(name)
            if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= top:
                raise VaktError(
                    _l("{name} must be a whole number from 0 to {max}."),
                    field=name,
                    name=name,
                    max=top,
                )
            numbers[name] = number
        if numbers["chunk"] < numbers["stream"]:
            raise VaktError(_l("The mark's chunk comes before its file."), field="chunk")
        return cls(**numbers)


@dataclass(frozen=True)
class OralStatus:
    """Where the oral answer to one question stands, as the exam page needs it."""

    item_version_id: int
    question_id: str
    take: int
    state: OralTakeState
    started_at: datetime
    stopped_at: datetime | None
    answered: bool
    retakes_left: int
    row: OralTake
    """The take itself, with its marks."""


def _oral_question(document: dict[str, Any] | None, question_id: str) -> dict[str, Any]:
    if document is None:
        raise NotFound(_l("That item is not part of this exam part."))
    for question in document.get("questions", []):
        if question.get("id") == question_id and question.get("type") == "oral":
            return dict(question)
    raise NotFound(_l("That item has no oral task with this id."))


def _check_open(target: SaveTarget, device: str | None, now: datetime) -> None:
    """The rules of every change to a running part (``SaveTarget.check_open``)."""
    target.check_open(
        device,
        now,
        handed_in=_l("This part has been handed in; the answer can no longer be recorded."),
        time_up=_l("The time for this part is up; the answer can no longer be recorded."),
    )


async def _scheme_of_part(session: AsyncSession, attempt_part_id: int) -> int:
    scheme_id = await session.scalar(
        select(Sitting.scheme_id)
        .join(Registration, Registration.sitting_id == Sitting.id)
        .join(Attempt, Attempt.registration_id == Registration.id)
        .join(AttemptPart, AttemptPart.attempt_id == Attempt.id)
        .where(AttemptPart.id == attempt_part_id)
    )
    assert scheme_id is not None
    return int(scheme_id)


async def _takes(
    session: AsyncSession, attempt_part_id: int, item_version_id: int, question_id: str
) -> list[OralTake]:
    return list(
        await session.scalars(
            select(OralTake)
            .where(
                OralTake.attempt_part_id == attempt_part_id,
                OralTake.item_version_id == item_version_id,
                OralTake.question_id == question_id,
            )
            .order_by(OralTake.take)
        )
    )


async def start_answer(
    session: AsyncSession,
    *,
    attempt_part_id: int,
    candidate: User,
    item_version_id: int,
    question_id: str,
    mark: Any,
    now: datetime,
    device: str | None = None,
) -> OralTake:
    """Mark where the candidate starts recording the answer. Idempotent: while a recording is
    under way, it is the one answered (a repeated request, a reloaded page). A new recording
    after one was stopped is a retake, refused (409) beyond the scheme's rule. Refused like a
    save: another candidate's part or an item not on it (404), another browser (403), a part
    handed in, out of time or paused (409). Audited."""
    target = await save_target(session, attempt_part_id, candidate, item_version_id)
    _check_open(target, device, now)
    _oral_question(target.document, question_id)
    start = Mark.parse(mark)
    takes = await _takes(session, attempt_part_id, item_version_id, question_id)
    if takes and takes[-1].state == OralTakeState.RECORDING:
        return takes[-1]
    if takes:
        rules = await rules_for_scheme(session, await _scheme_of_part(session, attempt_part_id))
        if len(takes) > rules.retakes:
            raise Conflict(
                _l("You may record this answer {count} times; it has been recorded."),
                count=rules.retakes + 1,
            )
    take = OralTake(
        attempt_part_id=attempt_part_id,
        item_version_id=item_version_id,
        question_id=question_id,
        take=len(takes) + 1,
        state=OralTakeState.RECORDING,
        started_at=now,
        start_stream=start.stream,
        start_ms=start.ms,
        start_chunk=start.chunk,
    )
    try:
        async with session.begin_nested():
            session.add(take)
    except sqlalchemy.exc.IntegrityError:
        # The same start twice at once (a double click; SQLite's reads take no lock, so both
        # saw no recording under way): the one that got in is the recording.
        takes = await _takes(session, attempt_part_id, item_version_id, question_id)
        if takes and takes[-1].state == OralTakeState.RECORDING:
            return takes[-1]
        raise
    await audit.record(
        session,
        actor_id=candidate.id,
        action="attempt.oral_started",
        entity_type="attempt_part",
        entity_id=attempt_part_id,
        after={
            "item_version_id": item_version_id,
            "question_id": question_id,
            "take": take.take,
            "start": [start.stream, start.ms, start.chunk],
        },
    )
    return take


async def stop_answer(
    session: AsyncSession,
    *,
    attempt_part_id: int,
    candidate: User,
    item_version_id: int,
    question_id: str,
    take: Any,
    mark: Any,
    now: datetime,
    device: str | None = None,
) -> OralTake:
    """Mark where the recording of take ``take`` ends. An end later than the task's longest
    answer is moved back to it (the page stops by itself there; a late request must not
    lengthen the answer). Idempotent: a stopped take stays as it was stopped. Accepted after
    the part's time or its hand-in (the answer was started in time); refused from another
    browser (403), for an exam ended by the staff or a paused part (409), and (404) for a take
    that was never started; ``take`` not a number a take can have is a 400. Audited."""
    if not isinstance(take, int) or isinstance(take, bool) or not 1 <= take <= MAX_TAKE:
        raise VaktError(_l("take must be a whole number from 1 to 1000."), field="take")
    target = await save_target(session, attempt_part_id, candidate, item_version_id)
    question = _oral_question(target.document, question_id)
    recorded = next(
        (
            row
            for row in await _takes(session, attempt_part_id, item_version_id, question_id)
            if row.take == take
        ),
        None,
    )
    if recorded is None:
        raise NotFound(_l("That recording of the answer was never started."))
    if recorded.state == OralTakeState.RECORDED:
        return recorded
    # Only the start must come while the part runs. A stop that arrives after the time ran out
    # or the part was handed in (the page stops the recording first, but the request may come
    # late) closes an answer recorded in time; the recording itself ended with the part, and
    # the answer is no longer than the task allows. Without it the answer would have no end,
    # and a retake cut short would leave the earlier take as the answer.
    target.check_device(device)
    if target.attempt_status == AttemptStatus.TERMINATED:
        raise Conflict(_l("This part has been handed in; the answer can no longer be recorded."))
    if target.paused_at is not None:
        raise Conflict(PAUSED)
    end = Mark.parse(mark)
    same_file = end.stream == recorded.start_stream
    if (
        end.stream < recorded.start_stream
        or end.chunk < recorded.start_chunk
        or (same_file and end.ms < recorded.start_ms)
    ):
        raise VaktError(_l("The end of the answer comes before its start."), field="ms")
    longest = int(question.get("max_duration_seconds", 0)) * 1000
    end_ms, clamped = end.ms, False
    if same_file and end.ms - recorded.start_ms > longest:
        end_ms, clamped = recorded.start_ms + longest, True
    recorded.state = OralTakeState.RECORDED
    recorded.stopped_at = now
    recorded.end_stream, recorded.end_ms, recorded.end_chunk = end.stream, end_ms, end.chunk
    recorded.clamped = clamped
    await session.flush()
    await audit.record(
        session,
        actor_id=candidate.id,
        action="attempt.oral_stopped",
        entity_type="attempt_part",
        entity_id=attempt_part_id,
        after={
            "item_version_id": item_version_id,
            "question_id": question_id,
            "take": take,
            "end": [end.stream, end_ms, end.chunk],
            "clamped": clamped,
        },
    )
    return recorded


async def is_answered(
    session: AsyncSession, take: OralTake | None, receipts: RecordingReceipts
) -> bool:
    """True once the take is recorded and the server holds its recording through the end."""
    if take is None or take.state != OralTakeState.RECORDED or take.end_chunk is None:
        return False
    return await receipts.received(session, take.attempt_part_id, take.start_stream, take.end_chunk)


async def answers_of(
    session: AsyncSession, attempt_part_id: int, receipts: RecordingReceipts
) -> list[OralStatus]:
    """The newest take of each oral question of the part, with whether it counts as answered
    and how many retakes are left."""
    rows = list(
        await session.scalars(
            select(OralTake)
            .where(OralTake.attempt_part_id == attempt_part_id)
            .order_by(OralTake.item_version_id, OralTake.question_id, OralTake.take)
        )
    )
    if not rows:
        return []
    newest: dict[tuple[int, str], OralTake] = {}
    for row in rows:
        newest[(row.item_version_id, row.question_id)] = row
    rules = await rules_for_scheme(session, await _scheme_of_part(session, attempt_part_id))
    return [
        OralStatus(
            item_version_id=take.item_version_id,
            question_id=take.question_id,
            take=take.take,
            state=take.state,
            started_at=take.started_at,
            stopped_at=take.stopped_at,
            answered=await is_answered(session, take, receipts),
            retakes_left=max(0, rules.retakes + 1 - take.take),
            row=take,
        )
        for take in newest.values()
    ]


async def part_answers(
    session: AsyncSession, *, attempt_part_id: int, candidate: User, receipts: RecordingReceipts
) -> list[OralStatus]:
    """``answers_of`` for the candidate's own part (another candidate's is a 404)."""
    await candidate_part(session, attempt_part_id, candidate)
    return await answers_of(session, attempt_part_id, receipts)


async def answer_take(
    session: AsyncSession, attempt_part_id: int, item_version_id: int, question_id: str
) -> OralTake | None:
    """The recorded answer to one oral question (its newest recorded take), or None."""
    take: OralTake | None = await session.scalar(
        select(OralTake)
        .where(
            OralTake.attempt_part_id == attempt_part_id,
            OralTake.item_version_id == item_version_id,
            OralTake.question_id == question_id,
            OralTake.state == OralTakeState.RECORDED,
        )
        .order_by(OralTake.take.desc())
        .limit(1)
    )
    return take


def played_stretch(take: OralTake | None) -> tuple[float, float | None] | None:
    """Where the answer lies in the WebM file that begins with its start's piece: seconds from
    that file's start to the start mark and (when it ends in the same file) to the end mark."""
    if take is None:
        return None
    same_file = take.end_stream == take.start_stream and take.end_ms is not None
    return take.start_ms / 1000, (take.end_ms / 1000 if same_file and take.end_ms else None)
