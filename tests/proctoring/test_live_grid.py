"""The proctors' live grid of a sitting, read in one query: running attempts only, with their
live channel, newest frame, undecided flags (count and the worst), the running part, its time
left and whether it is paused; and the live frames the flagger keeps for it (one per connection)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam import pauses
from exam.models import AttemptStatus
from proctoring import live_grid
from proctoring.models import (
    ConnectionState,
    FlagDecision,
    FlagType,
    Snapshot,
)
from proctoring.monitor import LIVE_FRAME_SECONDS, LiveFlagger
from proctoring.observations import FacesObserved
from proctoring.schemas import Policy
from proctoring.service import set_live_state
from proctoring.storage import MediaStore
from tests.exam.factories import OPENS, Exam
from tests.proctoring.reviewing import flagged_attempt, registration_of, second_sitting
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import create_sessionmaker
from vakt.errors import Forbidden, NotFound
from vakt.settings import Settings

NOW = OPENS + timedelta(minutes=2)
JPEG = b"\xff\xd8\xff\xe0 a frame \xff\xd9"


@pytest.mark.asyncio
async def test_grid_shows_running_attempts_with_flags_live_state_and_time_left(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    flagged = await flagged_attempt(
        session,
        exam.registration_id,
        exam.candidate,
        [(FlagType.NETWORK_LOSS, OPENS), (FlagType.MULTIPLE_FACES, OPENS + timedelta(minutes=2))],
    )
    other_registration = await registration_of(session, exam.other)
    await set_live_state(
        session,
        registration_id=exam.registration_id,
        now=NOW,
        connection_state=ConnectionState.CONNECTED,
        video_live=True,
        audio_live=False,
    )
    await session.commit()

    grid = await live_grid.live_grid(session, exam.sitting_id, now=NOW)

    [card] = grid.cards  # the other candidate has not started: not live
    assert card.registration_id == exam.registration_id != other_registration
    assert card.attempt_id == flagged.attempt_id
    assert card.candidate == exam.candidate.full_name
    assert (card.connection, card.camera, card.microphone) == ("connected", True, False)
    assert (card.open_flags, card.worst) == (2, "high")
    assert (card.newest_flag_id, card.newest_flag) == (flagged.flags[1], "multiple_faces")
    assert (card.part_id, card.part_number, card.paused) == (flagged.part_id, 1, False)
    assert card.frame_id is None
    assert card.seconds_left is not None and card.deadline is not None
    assert card.seconds_left == int((datetime.fromisoformat(card.deadline) - NOW).total_seconds())
    assert card.as_json()["candidate"] == exam.candidate.full_name


@pytest.mark.asyncio
async def test_decided_flags_leave_the_count_and_a_pause_freezes_the_clock(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    flagged = await flagged_attempt(
        session, exam.registration_id, exam.candidate, [(FlagType.PASTE, OPENS)]
    )
    before = await live_grid.live_grid(session, exam.sitting_id, now=NOW)
    from proctoring.models import Flag

    flag = await session.get(Flag, flagged.flags[0])
    assert flag is not None
    flag.decision = FlagDecision.DISMISSED
    await pauses.pause_part(
        session,
        attempt_part_id=flagged.part_id,
        registration_id=flagged.registration_id,
        actor=users["proctor"],
        grounds="Sjekker rommet",
        now=NOW,
    )
    await session.commit()

    later = NOW + timedelta(minutes=1)
    [card] = (await live_grid.live_grid(session, exam.sitting_id, now=later)).cards
    assert (card.open_flags, card.worst, card.newest_flag_id) == (0, None, None)
    assert card.paused
    assert card.seconds_left == before.cards[0].seconds_left, "paused: the clock stands still"
    assert (
        before.digest() != (await live_grid.live_grid(session, exam.sitting_id, now=NOW)).digest()
    )


@pytest.mark.asyncio
async def test_the_digest_ignores_running_clocks_and_ended_attempts_leave(
    session: AsyncSession, exam: Exam
) -> None:
    flagged = await flagged_attempt(session, exam.registration_id, exam.candidate, [])
    first = await live_grid.live_grid(session, exam.sitting_id, now=NOW)
    second = await live_grid.live_grid(session, exam.sitting_id, now=NOW + timedelta(seconds=7))
    assert first.cards[0].seconds_left != second.cards[0].seconds_left
    assert first.digest() == second.digest()

    from exam.models import Attempt

    attempt = await session.get(Attempt, flagged.attempt_id)
    assert attempt is not None
    attempt.status = AttemptStatus.FINISHED
    await session.commit()
    assert (await live_grid.live_grid(session, exam.sitting_id, now=NOW)).cards == []


@pytest.mark.asyncio
async def test_only_the_sittings_own_attempts_and_frames(
    session: AsyncSession, exam: Exam, users: dict[str, User], settings: Settings
) -> None:
    flagged = await flagged_attempt(session, exam.registration_id, exam.candidate, [])
    other_sitting, _registration, _third = await second_sitting(session, exam)
    assert (await live_grid.live_grid(session, other_sitting, now=NOW)).cards == []

    store = MediaStore(settings.data_dir / "media")
    snapshot = Snapshot(
        attempt_id=flagged.attempt_id, stored_name=store.write_image(JPEG), taken_at=NOW
    )
    session.add(snapshot)
    await session.commit()
    [card] = (await live_grid.live_grid(session, exam.sitting_id, now=NOW)).cards
    assert card.frame_id == snapshot.id

    proctor = users["proctor"]
    frame = await live_grid.live_frame(
        session, store, sitting_id=exam.sitting_id, snapshot_id=snapshot.id, viewer=proctor, now=NOW
    )
    assert frame == JPEG
    with pytest.raises(NotFound):
        await live_grid.live_frame(
            session,
            store,
            sitting_id=other_sitting,
            snapshot_id=snapshot.id,
            viewer=proctor,
            now=NOW,
        )
    with pytest.raises(NotFound):
        await live_grid.live_frame(
            session,
            store,
            sitting_id=exam.sitting_id,
            snapshot_id=snapshot.id + 1,
            viewer=proctor,
            now=NOW,
        )
    for role in ("grader", "candidate", "administrator"):
        with pytest.raises(Forbidden):
            await live_grid.live_frame(
                session, store, sitting_id=exam.sitting_id, snapshot_id=snapshot.id,
                viewer=users[role], now=NOW,
            )  # fmt: skip
    with pytest.raises(NotFound):
        await live_grid.live_sitting(session, other_sitting + 1000, viewer=proctor)


@pytest.mark.asyncio
async def test_opening_the_grid_is_audited_and_notes_the_proctor(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    from proctoring.involvement import ProctoringInvolvement

    await flagged_attempt(session, exam.registration_id, exam.candidate, [])
    shown = await live_grid.open_grid(session, exam.sitting_id, viewer=users["proctor"], now=NOW)
    await session.commit()
    assert [card.registration_id for card in shown.grid.cards] == [exam.registration_id]
    entries = list(
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "proctoring.live_grid_viewed")
        )
    )
    assert len(entries) == 1 and entries[0].actor_id == users["proctor"].id
    examined = await ProctoringInvolvement().examiners_of(session, exam.registration_id)
    assert users["proctor"].id in examined


@pytest.mark.asyncio
async def test_the_flagger_keeps_one_newest_frame_per_connection(
    session: AsyncSession, engine: AsyncEngine, exam: Exam, settings: Settings
) -> None:
    flagged = await flagged_attempt(session, exam.registration_id, exam.candidate, [])
    store = MediaStore(settings.data_dir / "media")
    flagger = LiveFlagger(
        registration_id=exam.registration_id,
        policy=Policy(),
        sessionmaker=create_sessionmaker(engine),
        store=store,
    )

    def faces(seconds: float) -> FacesObserved:
        return FacesObserved(NOW + timedelta(seconds=seconds), 1, None, False, JPEG)

    await flagger.observe(faces(0))
    [first] = (await live_grid.live_grid(session, exam.sitting_id, now=NOW)).cards
    assert first.frame_id is not None
    await flagger.observe(faces(LIVE_FRAME_SECONDS / 2))
    [same] = (await live_grid.live_grid(session, exam.sitting_id, now=NOW)).cards
    assert same.frame_id == first.frame_id, "not yet time for a new frame"
    await flagger.observe(faces(LIVE_FRAME_SECONDS))
    [newer] = (await live_grid.live_grid(session, exam.sitting_id, now=NOW)).cards
    assert newer.frame_id is not None and newer.frame_id > first.frame_id
    rows = await session.scalar(
        select(func.count()).select_from(Snapshot).where(Snapshot.attempt_id == flagged.attempt_id)
    )
    assert rows == 1, "the replaced frame is deleted"
    files = list((store.root / "images").iterdir())
    assert len(files) == 1
