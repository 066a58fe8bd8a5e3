"""A recording the candidate's recorder started again is several WebM files run together: the
proctor's review page has a player for each, each fetched on its own (``?from=`` its first
piece, with Range), and "Play from here" names the player holding the flag and the moment in
it. A ``from`` that begins no file is not found."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import FixedClock
from proctoring.models import FlagType, Recording, RecordingChunk
from proctoring.storage import MediaStore
from tests.exam.factories import OPENS, Exam
from tests.proctoring.reviewing import flagged_attempt
from tests.web.helpers import sign_in
from vakt.settings import Settings

MAGIC = b"\x1a\x45\xdf\xa3"
PIECES = {0: MAGIC + b"a", 1: b"bb", 2: MAGIC + b"c", 3: b"dd"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(OPENS + timedelta(minutes=10))


@pytest.mark.asyncio
async def test_one_player_per_webm_file(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, settings: Settings
) -> None:
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate,
        [(FlagType.WINDOW_UNFOCUSED, OPENS + timedelta(seconds=7)),
         (FlagType.PASTE, OPENS + timedelta(seconds=13))],
    )  # fmt: skip
    recording = Recording(
        attempt_part_id=flagged.part_id, storage_key=MediaStore.new_key(), started_at=OPENS,
        chunk_count=len(PIECES), total_bytes=sum(map(len, PIECES.values())),
    )  # fmt: skip
    session.add(recording)
    await session.flush()
    store = MediaStore(settings.data_dir / "media")
    for index, data in PIECES.items():
        digest = hashlib.sha256(data).hexdigest()
        store.write_chunk(recording.storage_key, index, digest, data)
        session.add(
            RecordingChunk(
                recording_id=recording.id, index=index, size=len(data), sha256=digest,
                received_at=OPENS,
            )
        )  # fmt: skip
    await session.commit()
    await sign_in(client, "proctor")

    page = await client.get(f"/proctor/review/attempts/{flagged.attempt_id}")
    assert page.status_code == 200
    base = f"/proctor/recordings/{recording.id}"
    assert f'src="{base}?from=0"' in page.text and f'src="{base}?from=2"' in page.text
    # 7 s is in the first file (pieces of 5 s); 13 s is 3 s into the second, begun at 10 s.
    assert f'data-player="player-{recording.id}-0" data-at="7"' in page.text
    assert f'data-player="player-{recording.id}-2" data-at="3"' in page.text
    played = await client.get(
        f"/proctor/review/attempts/{flagged.attempt_id}",
        params={"recording": recording.id, "at": 13},
    )
    assert f'src="{base}?from=2#t=3"' in played.text
    assert f'src="{base}?from=0"' in played.text

    whole = await client.get(base)
    assert whole.content == b"".join(PIECES.values())
    first = await client.get(base, params={"from": "0"})
    assert first.status_code == 200 and first.content == PIECES[0] + PIECES[1]
    second = await client.get(base, params={"from": "2"})
    assert second.content == PIECES[2] + PIECES[3]
    ranged = await client.get(f"{base}?from=2", headers={"Range": "bytes=4-6"})
    assert ranged.status_code == 206 and ranged.content == b"cdd"
    assert ranged.headers["content-range"] == "bytes 4-6/7"
    for bad in ("1", "3", "4", "-1", "abc", "٢", "9" * 30, "%ED%A0%80"):
        missing = await client.get(f"{base}?from={bad}")
        assert missing.status_code == 404, bad
