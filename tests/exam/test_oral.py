"""The oral answer's rules through the service: start and stop marks, the longest answer,
retakes as the scheme allows, answered only once the server holds the answer's recording, and
the same entrances as saving an answer (another candidate's part, another browser, a closed,
late or paused part)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam import attempts, oral
from exam.devices import device_digest
from exam.models import Attempt, AttemptPart, OralTake
from exam.timing import FixedClock
from itembank.models import ExamForm
from proctoring.models import Recording, RecordingChunk
from proctoring.recordings import ReceivedChunks
from tests.exam.factories import CHECKED_IN, OPENS, Exam, build_oral_exam
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import create_sessionmaker
from vakt.errors import Conflict, Forbidden, NotFound, VaktError


class Receipts:
    """Chunks the server holds, as a set (a test double of proctoring's receipts)."""

    def __init__(self) -> None:
        self.held: set[int] = set()

    async def received(
        self, session: AsyncSession, attempt_part_id: int, first: int, last: int
    ) -> bool:
        return last >= first and all(i in self.held for i in range(first, last + 1))


@pytest_asyncio.fixture
async def oral_exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    return await build_oral_exam(session, users, opens=OPENS, preparation=5, longest=60)


async def _running(session: AsyncSession, exam: Exam, clock: FixedClock) -> tuple[int, int]:
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=exam.registration_id,
        candidate=exam.candidate, now=clock.now(),
    )  # fmt: skip
    part = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate,
        now=clock.now(),
    )  # fmt: skip
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    await session.commit()
    return part.id, form.items[0].item_version_id


def _mark(stream: int = 0, ms: int = 0, chunk: int = 0) -> dict[str, int]:
    return {"stream": stream, "ms": ms, "chunk": chunk}


async def _start(
    session: AsyncSession, exam: Exam, part: int, version: int, clock: FixedClock, **kw: Any
) -> OralTake:
    values: dict[str, Any] = {
        "attempt_part_id": part, "candidate": exam.candidate, "item_version_id": version,
        "question_id": "RESPONSE", "mark": _mark(0, 4000, 2), "now": clock.now(),
    }  # fmt: skip
    values.update(kw)
    return await oral.start_answer(session, **values)


async def _stop(
    session: AsyncSession,
    exam: Exam,
    part: int,
    version: int,
    clock: FixedClock,
    take: int = 1,
    **kw: Any,
) -> OralTake:
    values: dict[str, Any] = {
        "attempt_part_id": part, "candidate": exam.candidate, "item_version_id": version,
        "question_id": "RESPONSE", "take": take, "mark": _mark(0, 34000, 7), "now": clock.now(),
    }  # fmt: skip
    values.update(kw)
    return await oral.stop_answer(session, **values)


@pytest.mark.asyncio
async def test_start_and_stop_mark_the_answer_idempotently_and_audited(
    session: AsyncSession, oral_exam: Exam, clock: FixedClock
) -> None:
    part, version = await _running(session, oral_exam, clock)
    take = await _start(session, oral_exam, part, version, clock)
    assert (take.take, take.state, take.start_ms, take.start_chunk) == (1, "recording", 4000, 2)
    # Sent again (a lost answer, a reloaded page): the same take, not a retake.
    again = await _start(session, oral_exam, part, version, clock, mark=_mark(0, 9000, 3))
    assert again.id == take.id and again.start_ms == 4000
    stopped = await _stop(session, oral_exam, part, version, clock)
    assert (stopped.state, stopped.end_ms, stopped.end_chunk, stopped.clamped) == (
        "recorded", 34000, 7, False,
    )  # fmt: skip
    # Stopped twice: it stays as first stopped.
    twice = await _stop(session, oral_exam, part, version, clock, mark=_mark(0, 50000, 9))
    assert (twice.end_ms, twice.end_chunk) == (34000, 7)
    actions = list(
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.like("attempt.oral_%"))
            .order_by(AuditEntry.seq)
        )
    )
    assert actions == ["attempt.oral_started", "attempt.oral_stopped"]


@pytest.mark.asyncio
async def test_an_answer_longer_than_the_task_allows_is_cut_at_the_maximum(
    session: AsyncSession, oral_exam: Exam, clock: FixedClock
) -> None:
    part, version = await _running(session, oral_exam, clock)
    await _start(session, oral_exam, part, version, clock)
    stopped = await _stop(session, oral_exam, part, version, clock, mark=_mark(0, 900_000, 90))
    assert stopped.end_ms == 4000 + 60_000 and stopped.clamped
    assert stopped.end_chunk == 90


@pytest.mark.asyncio
async def test_retakes_follow_the_scheme(
    session: AsyncSession, users: dict[str, User], clock: FixedClock
) -> None:
    exam = await build_oral_exam(session, users, opens=OPENS, retakes=1)
    part, version = await _running(session, exam, clock)
    receipts = Receipts()
    await _start(session, exam, part, version, clock, mark=_mark(0, 1000, 1))
    await _stop(session, exam, part, version, clock, mark=_mark(0, 2000, 1))
    [status] = await oral.answers_of(session, part, receipts)
    assert status.retakes_left == 1
    second = await _start(session, exam, part, version, clock, mark=_mark(0, 3000, 2))
    assert second.take == 2
    await _stop(session, exam, part, version, clock, take=2, mark=_mark(0, 4000, 3))
    [status] = await oral.answers_of(session, part, receipts)
    assert (status.take, status.retakes_left) == (2, 0)
    with pytest.raises(Conflict) as refused:
        await _start(session, exam, part, version, clock, mark=_mark(0, 5000, 4))
    assert refused.value.params == {"count": 2}
    # The newest recorded take is the answer the graders get.
    answer = await oral.answer_take(session, part, version, "RESPONSE")
    assert answer is not None and answer.take == 2


@pytest.mark.asyncio
async def test_no_retake_by_default(
    session: AsyncSession, oral_exam: Exam, clock: FixedClock
) -> None:
    part, version = await _running(session, oral_exam, clock)
    await _start(session, oral_exam, part, version, clock)
    await _stop(session, oral_exam, part, version, clock)
    with pytest.raises(Conflict):
        await _start(session, oral_exam, part, version, clock, mark=_mark(0, 40000, 8))
    assert (await oral.rules_for_scheme(session, 10**9)).retakes == 0


@pytest.mark.asyncio
async def test_answered_only_once_recorded_and_every_chunk_through_the_end_received(
    session: AsyncSession, oral_exam: Exam, clock: FixedClock
) -> None:
    part, version = await _running(session, oral_exam, clock)
    receipts = Receipts()
    receipts.held = set(range(0, 20))
    await _start(session, oral_exam, part, version, clock)
    [status] = await oral.answers_of(session, part, receipts)
    assert status.state == "recording" and not status.answered  # started is not answered
    await _stop(session, oral_exam, part, version, clock)
    receipts.held = {0, 1, 2, 3, 4, 5, 6}  # the end mark's chunk (7) has not arrived
    assert not (await oral.answers_of(session, part, receipts))[0].answered
    receipts.held = {1, 2, 3, 4, 5, 6, 7}  # the piece that begins the file is missing
    assert not (await oral.answers_of(session, part, receipts))[0].answered
    receipts.held = set(range(0, 8))
    assert (await oral.answers_of(session, part, receipts))[0].answered


@pytest.mark.asyncio
async def test_proctorings_receipts_count_the_chunks_the_server_holds(
    session: AsyncSession, oral_exam: Exam, clock: FixedClock
) -> None:
    part, _version = await _running(session, oral_exam, clock)
    recording = Recording(
        attempt_part_id=part, storage_key="k" * 32, is_answer=True, started_at=clock.now(),
        chunk_count=0, total_bytes=0, scanned_through=-1, scan_state={},
    )  # fmt: skip
    session.add(recording)
    await session.flush()
    for index in (0, 1, 2, 4):
        session.add(
            RecordingChunk(
                recording_id=recording.id, index=index, size=1, sha256="0" * 64,
                verified=True, received_at=clock.now(),
            )
        )  # fmt: skip
    await session.flush()
    receipts = ReceivedChunks()
    assert await receipts.received(session, part, 0, 2)
    assert not await receipts.received(session, part, 0, 4)
    assert not await receipts.received(session, part, 3, 2)
    assert not await receipts.received(session, part + 1000, 0, 0)


@pytest.mark.asyncio
async def test_the_entrances_of_saving_an_answer(
    session: AsyncSession, oral_exam: Exam, clock: FixedClock
) -> None:
    part, version = await _running(session, oral_exam, clock)
    with pytest.raises(NotFound):  # another candidate's part is not theirs to know
        await _start(session, oral_exam, part, version, clock, candidate=oral_exam.other)
    with pytest.raises(NotFound):
        await _start(session, oral_exam, 10**9, version, clock)
    with pytest.raises(NotFound):  # an item not on the part
        await _start(session, oral_exam, part, version + 10**6, clock)
    with pytest.raises(NotFound):  # no oral question with that id
        await _start(session, oral_exam, part, version, clock, question_id="OTHER")
    with pytest.raises(NotFound):  # a take never started
        await _stop(session, oral_exam, part, version, clock, take=3)
    attempt = await session.scalar(select(Attempt))
    assert attempt is not None
    attempt.device_digest = device_digest("this-browser")
    await session.flush()
    with pytest.raises(Forbidden):
        await _start(session, oral_exam, part, version, clock, device="another-browser")
    take = await _start(session, oral_exam, part, version, clock, device="this-browser")
    assert take.take == 1

    row = await session.get(AttemptPart, part)
    assert row is not None
    row.paused_at = clock.now()
    await session.flush()
    with pytest.raises(Conflict):
        await _stop(session, oral_exam, part, version, clock)
    row.paused_at = None
    # The time ran out while the answer was being recorded: the stop that comes afterwards
    # still closes the answer recorded in time.
    late = await _stop(
        session, oral_exam, part, version, clock, now=row.deadline + timedelta(minutes=1)
    )
    assert late.state == "recorded"
    row.submitted_at = clock.now()
    await session.flush()
    with pytest.raises(Conflict):  # but no new recording once the part is handed in
        await _start(session, oral_exam, part, version, clock)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "mark",
    [
        None,
        "0,0,0",
        {"stream": 0, "ms": 0},
        {"stream": 10**30, "ms": 0, "chunk": 0},
        {"stream": 0, "ms": -1, "chunk": 0},
        {"stream": 0, "ms": 10**12, "chunk": 0},
        {"stream": 0, "ms": 0, "chunk": 100_001},
        {"stream": True, "ms": 0, "chunk": 0},
        {"stream": 0, "ms": 1.5, "chunk": 0},
        {"stream": 5, "ms": 0, "chunk": 4},
    ],
)
async def test_a_bad_mark_is_refused_with_a_message(
    session: AsyncSession, oral_exam: Exam, clock: FixedClock, mark: Any
) -> None:
    part, version = await _running(session, oral_exam, clock)
    with pytest.raises(VaktError) as refused:
        await _start(session, oral_exam, part, version, clock, mark=mark)
    assert refused.value.status_code == 400


@pytest.mark.asyncio
async def test_an_end_before_the_start_is_refused(
    session: AsyncSession, oral_exam: Exam, clock: FixedClock
) -> None:
    part, version = await _running(session, oral_exam, clock)
    await _start(session, oral_exam, part, version, clock, mark=_mark(3, 4000, 5))
    for end in (_mark(3, 3999, 5), _mark(2, 9000, 5), _mark(3, 5000, 4)):
        with pytest.raises(VaktError) as refused:
            await _stop(session, oral_exam, part, version, clock, mark=end)
        assert refused.value.status_code == 400
    # The recorder started a new file meanwhile: an end in it is taken as it is.
    stopped = await _stop(session, oral_exam, part, version, clock, mark=_mark(8, 1000, 9))
    assert (stopped.end_stream, stopped.end_ms, stopped.clamped) == (8, 1000, False)


@pytest.mark.asyncio
async def test_the_same_start_twice_at_once_is_one_recording(
    session: AsyncSession, oral_exam: Exam, clock: FixedClock, engine: AsyncEngine
) -> None:
    """A double click sends two starts at once; on SQLite neither read sees the other's take."""
    part, version = await _running(session, oral_exam, clock)
    sessionmaker = create_sessionmaker(engine)

    async def click() -> int:
        async with sessionmaker() as click_session:
            take = await _start(click_session, oral_exam, part, version, clock)
            await click_session.commit()
            return take.id

    first, second = await asyncio.gather(click(), click())
    assert first == second
    session.expunge_all()
    takes = list(await session.scalars(select(OralTake).where(OralTake.attempt_part_id == part)))
    assert [(t.take, t.state) for t in takes] == [(1, "recording")]
