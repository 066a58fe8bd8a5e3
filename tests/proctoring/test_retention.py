"""Retention of proctoring media: an appeal holds its registration's recordings, snapshots and
check-in photos while it is open and for the retention time after it ended."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import policy
from certification.appeals import file_appeal, record_outcome
from certification.models import Appeal, CertificationDecision
from certification.retention_holds import AppealMediaHolds
from certification.schemas import AppealStatus, CertificationRules, DecisionOutcome
from exam.checkin import IdentityStatus
from exam.models import Attempt, Registration, Sitting
from grading.regrading import BlindRegrading
from proctoring import retention
from proctoring.models import IdentityReason, IdentityVerification, Recording, Snapshot
from proctoring.storage import MediaStore
from tests.exam.factories import OPENS, Exam
from tests.proctoring.reviewing import flagged_attempt, registration_of
from tests.vakt.test_cli import vakt
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import utcnow
from vakt.settings import Settings

APPEAL_DAYS = 21
RETENTION_DAYS = 183
RELEASED = OPENS + timedelta(days=1)
PAST_CUTOFF = RELEASED + timedelta(days=APPEAL_DAYS + RETENTION_DAYS + 1)
GROUNDS = "The camera froze and the proctor paused me unfairly."


@dataclass
class Media:
    """One registration's recording, snapshot and check-in photo."""

    registration_id: int
    recording_id: int
    snapshot_id: int
    verification_id: int


async def _media(
    session: AsyncSession,
    store: MediaStore,
    registration_id: int,
    candidate: User,
    released_at: datetime = RELEASED,
) -> Media:
    """Start the candidate's attempt, store its media and release its result; committed."""
    started = await flagged_attempt(session, registration_id, candidate, [])
    key = store.new_key()
    store.write_chunk(key, 0, "0" * 64, b"webm")
    recording = Recording(
        attempt_part_id=started.part_id, storage_key=key, is_answer=False, started_at=OPENS
    )
    snapshot = Snapshot(
        attempt_id=started.attempt_id, attempt_part_id=started.part_id,
        stored_name=store.write_image(b"jpeg"), taken_at=OPENS,
    )  # fmt: skip
    verification = IdentityVerification(
        registration_id=registration_id, live_photo_name=store.write_image(b"jpeg"), face_count=1,
        threshold=0.6, outcome=IdentityStatus.PASSED, reason=IdentityReason.MATCH,
        checked_at=OPENS,
    )  # fmt: skip
    session.add_all([recording, snapshot, verification])
    attempt = await session.get(Attempt, started.attempt_id)
    assert attempt is not None
    attempt.results_released_at = released_at
    await session.commit()
    return Media(registration_id, recording.id, snapshot.id, verification.id)


async def _purged(session: AsyncSession, media: Media) -> tuple[bool, bool, bool]:
    """Whether the recording, the snapshot and the check-in photo are marked deleted."""
    recording = await session.get(Recording, media.recording_id, populate_existing=True)
    snapshot = await session.get(Snapshot, media.snapshot_id, populate_existing=True)
    verification = await session.get(
        IdentityVerification, media.verification_id, populate_existing=True
    )
    assert recording is not None and snapshot is not None and verification is not None
    return (
        recording.purged_at is not None,
        snapshot.purged_at is not None,
        verification.purged_at is not None,
    )


async def _purge(session: AsyncSession, store: MediaStore, now: datetime) -> retention.PurgeReport:
    report = await retention.purge_expired(
        session, store, now=now, appeal_days=APPEAL_DAYS, retention_days=RETENTION_DAYS,
        holds=AppealMediaHolds(),
    )  # fmt: skip
    await session.commit()
    return report


async def _appeal(session: AsyncSession, candidate: User, registration_id: int) -> int:
    """File the candidate's appeal five days after the release; its id (committed)."""
    appeal = await file_appeal(
        session, candidate=candidate, registration_id=registration_id, grounds=GROUNDS,
        now=RELEASED + timedelta(days=5), timezone="Europe/Oslo",
    )  # fmt: skip
    appeal_id = appeal.id
    await session.commit()
    return appeal_id


def _store(settings: Settings) -> MediaStore:
    return MediaStore(settings.data_dir / "media")


@pytest.mark.asyncio
async def test_an_open_appeal_keeps_the_media_until_retention_after_its_end(
    session: AsyncSession, exam: Exam, users: dict[str, User], settings: Settings
) -> None:
    store = _store(settings)
    appealed = await _media(session, store, exam.registration_id, exam.candidate)
    other = await _media(session, store, await registration_of(session, exam.other), exam.other)
    appeal_id = await _appeal(session, exam.candidate, appealed.registration_id)
    recording = await session.get(Recording, appealed.recording_id)
    assert recording is not None
    folder = store.root / "recordings" / recording.storage_key

    report = await _purge(session, store, PAST_CUTOFF)
    assert report.recordings == [other.recording_id]
    assert report.held_registrations == [appealed.registration_id]
    assert await _purged(session, other) == (True, True, True)
    assert await _purged(session, appealed) == (False, False, False)
    assert any(folder.iterdir())

    await record_outcome(
        session, handler=users["administrator"], appeal_id=appeal_id,
        status=AppealStatus.IN_REVIEW, grounds="", now=PAST_CUTOFF,
        regrading=BlindRegrading(),
    )  # fmt: skip
    await session.commit()
    report = await _purge(session, store, PAST_CUTOFF + timedelta(days=400))
    assert report.total == 0, "in review, the appeal is still open"

    handled = PAST_CUTOFF + timedelta(days=401)
    await record_outcome(
        session, handler=users["administrator"], appeal_id=appeal_id,
        status=AppealStatus.REJECTED, grounds="The recording shows no fault.", now=handled,
        regrading=BlindRegrading(),
    )  # fmt: skip
    await session.commit()
    report = await _purge(session, store, handled + timedelta(days=RETENTION_DAYS - 1))
    assert report.total == 0, "kept for the retention time after the appeal ended"
    assert await _purged(session, appealed) == (False, False, False)

    report = await _purge(session, store, handled + timedelta(days=RETENTION_DAYS + 1))
    assert report.recordings == [appealed.recording_id]
    assert report.held_registrations == []
    assert await _purged(session, appealed) == (True, True, True)
    assert not folder.exists()
    entries = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "proctoring.media_purged")
            .order_by(AuditEntry.seq)
        )
    ).all()
    assert [e.after["held_for_appeals"] for e in entries] == [  # type: ignore[index]
        [appealed.registration_id],
        [],
    ]


@pytest.mark.asyncio
async def test_an_upheld_appeal_holds_until_the_new_decision_and_retention_after_it(
    session: AsyncSession, exam: Exam, users: dict[str, User], settings: Settings
) -> None:
    store = _store(settings)
    appealed = await _media(session, store, exam.registration_id, exam.candidate)
    appeal_id = await _appeal(session, exam.candidate, appealed.registration_id)
    await record_outcome(
        session, handler=users["administrator"], appeal_id=appeal_id,
        status=AppealStatus.UPHELD, grounds="The pause was wrong.",
        now=RELEASED + timedelta(days=9), regrading=BlindRegrading(),
    )  # fmt: skip
    await session.commit()
    long_after = PAST_CUTOFF + timedelta(days=RETENTION_DAYS + 30)
    assert (await _purge(session, store, long_after)).total == 0, "no new decision yet"

    registration = await session.get(Registration, appealed.registration_id)
    assert registration is not None
    sitting = await session.get(Sitting, registration.sitting_id)
    assert sitting is not None
    decided_at = long_after + timedelta(days=1)
    decision = CertificationDecision(
        registration_id=registration.id, candidate_id=registration.candidate_id,
        scheme_id=sitting.scheme_id, outcome=DecisionOutcome.CERTIFIED, grounds="Anew.",
        requirements=[], decided_by_id=users["decision_maker"].id, decided_at=decided_at,
    )  # fmt: skip
    session.add(decision)
    await session.flush()
    appeal = await session.get(Appeal, appeal_id)
    assert appeal is not None
    appeal.new_decision_id = decision.id
    await session.commit()
    report = await _purge(session, store, decided_at + timedelta(days=RETENTION_DAYS - 1))
    assert report.total == 0
    report = await _purge(session, store, decided_at + timedelta(days=RETENTION_DAYS + 1))
    assert report.recordings == [appealed.recording_id]


@pytest.mark.asyncio
async def test_a_scheme_with_longer_to_appeal_keeps_the_media_until_its_window_closes(
    session: AsyncSession, exam: Exam, users: dict[str, User], settings: Settings
) -> None:
    store = _store(settings)
    registration = await session.get(Registration, exam.registration_id)
    assert registration is not None
    sitting = await session.get(Sitting, registration.sitting_id)
    assert sitting is not None
    await policy.set_rules(
        session, scheme_id=sitting.scheme_id, rules=CertificationRules(appeal_days=365),
        actor=users["administrator"], now=OPENS,
    )  # fmt: skip
    media = await _media(session, store, exam.registration_id, exam.candidate)
    # Past the purge's own cutoff, but the candidate may still appeal: kept.
    report = await _purge(session, store, PAST_CUTOFF)
    assert report.total == 0 and report.held_registrations == [media.registration_id]
    # The scheme's window closed (and a day more): deleted.
    report = await _purge(session, store, RELEASED + timedelta(days=365 + 2))
    assert report.recordings == [media.recording_id]


@pytest.mark.asyncio
async def test_without_holds_proctoring_alone_purges_after_the_window(
    session: AsyncSession, exam: Exam, settings: Settings
) -> None:
    store = _store(settings)
    appealed = await _media(session, store, exam.registration_id, exam.candidate)
    await _appeal(session, exam.candidate, appealed.registration_id)
    report = await retention.purge_expired(
        session, store, now=PAST_CUTOFF, appeal_days=APPEAL_DAYS, retention_days=RETENTION_DAYS
    )
    assert report.recordings == [appealed.recording_id]
    assert report.held_registrations == []


@pytest.mark.asyncio
async def test_the_purge_command_keeps_the_media_of_an_open_appeal(
    session: AsyncSession, exam: Exam, settings: Settings
) -> None:
    store = _store(settings)
    # The command goes by the system's time: results released long before the cutoff.
    long_ago = utcnow() - timedelta(
        days=settings.appeal_days + settings.recording_retention_days + 30
    )
    appealed = await _media(session, store, exam.registration_id, exam.candidate, long_ago)
    other = await _media(
        session, store, await registration_of(session, exam.other), exam.other, long_ago
    )
    await file_appeal(
        session, candidate=exam.candidate, registration_id=appealed.registration_id,
        grounds=GROUNDS, now=long_ago + timedelta(days=2), timezone="Europe/Oslo",
    )  # fmt: skip
    await session.commit()
    env = {
        "VAKT_DATABASE_URL": settings.database_url,
        "VAKT_DATA_DIR": str(settings.data_dir),
        "VAKT_DEFAULT_LANGUAGE": "en",
    }
    dry = await asyncio.to_thread(vakt, "recordings", "purge", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "Would delete 1 recordings, 1 snapshots and 1 check-in photos." in dry.stdout
    ran = await asyncio.to_thread(vakt, "recordings", "purge", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "Deleted 1 recordings, 1 snapshots and 1 check-in photos." in ran.stdout
    assert "Kept the media of 1 registration(s) for appeals." in ran.stdout
    assert await _purged(session, other) == (True, True, True)
    assert await _purged(session, appealed) == (False, False, False)
    recording = await session.get(Recording, appealed.recording_id)
    assert recording is not None
    assert any((store.root / "recordings" / recording.storage_key).iterdir())
