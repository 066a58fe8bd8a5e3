"""The oral answer's video for grading: with the answer marked, the WebM file its start mark
is in, through the piece of its end mark; without marks, the whole recording."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts
from exam.models import OralTake, OralTakeState
from itembank.models import ExamForm
from proctoring.media import OralAnswerRecordings
from proctoring.models import RecordingChunk
from proctoring.recordings import prepare_recording
from proctoring.storage import MediaStore
from proctoring.webm import EBML_MAGIC
from tests.exam.factories import CHECKED_IN, OPENS, build_oral_exam
from vakt.accounts import User

PIECES = [EBML_MAGIC + b"first", b"second", b"third", EBML_MAGIC + b"again", b"fifth"]
"""Two WebM files (the recorder started again at piece 3), as bytes that only need to begin
like one."""


@pytest.mark.asyncio
async def test_the_answer_video_is_the_file_of_its_marks(
    session: AsyncSession, users: dict[str, User], tmp_path: Path
) -> None:
    exam = await build_oral_exam(session, users, opens=OPENS)
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=exam.registration_id,
        candidate=exam.candidate, now=OPENS,
    )  # fmt: skip
    part = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=OPENS
    )
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    version = form.items[0].item_version_id
    store = MediaStore(tmp_path / "media")
    recording = await prepare_recording(session, part=part, is_answer=True, now=OPENS)
    for index, data in enumerate(PIECES):
        digest = hashlib.sha256(data).hexdigest()
        store.write_chunk(recording.storage_key, index, digest, data)
        session.add(
            RecordingChunk(
                recording_id=recording.id, index=index, size=len(data), sha256=digest,
                received_at=OPENS, verified=True,
            )
        )  # fmt: skip
    await session.flush()
    videos = OralAnswerRecordings(store)

    def contents(found: object) -> list[bytes]:
        assert found is not None
        return [Path(path).read_bytes() for path in found.files]  # type: ignore[attr-defined]

    # Not marked (recorded before answers were): the whole recording, as before.
    assert contents(await videos.answer_of(session, part.id, version, "RESPONSE")) == PIECES
    take = OralTake(
        attempt_part_id=part.id, item_version_id=version, question_id="RESPONSE", take=1,
        state=OralTakeState.RECORDED, started_at=OPENS, start_stream=0, start_ms=1200,
        start_chunk=1, stopped_at=OPENS, end_stream=0, end_ms=2400, end_chunk=1,
    )  # fmt: skip
    session.add(take)
    await session.flush()
    assert contents(await videos.answer_of(session, part.id, version, "RESPONSE")) == PIECES[:2]
    # A retake recorded in the recorder's second file: that file, through its end mark.
    session.add(
        OralTake(
            attempt_part_id=part.id, item_version_id=version, question_id="RESPONSE", take=2,
            state=OralTakeState.RECORDED, started_at=OPENS, start_stream=3, start_ms=100,
            start_chunk=3, stopped_at=OPENS, end_stream=3, end_ms=900, end_chunk=4,
        )
    )  # fmt: skip
    await session.flush()
    assert contents(await videos.answer_of(session, part.id, version, "RESPONSE")) == PIECES[3:]
