"""What the proctor review pages show, read in one call per page: the queue with the names of
those holding claims and the choices of its filters, and one attempt's review (identity checks,
a timeline of its flags with where each lies in the part's recording, the recordings with their
gaps, the parts' clocks, the decisions taken so far)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart, Registration, Sitting
from exam.roles import require
from itembank.models import Scheme
from proctoring.access import CHEATING_CONFIRMERS, REVIEW_REFUSED, REVIEWERS
from proctoring.involvement import note_involvement
from proctoring.models import (
    AttemptReview,
    Flag,
    IdentityDecision,
    IdentityVerification,
    Recording,
)
from proctoring.recordings import missing_chunks
from proctoring.review import flags_of_attempt
from proctoring.review_claims import attempt_of, holds_claim, review_of
from proctoring.review_queue import QueueSlice, review_queue
from proctoring.schemas import ReviewFilters
from vakt.accounts import User


@dataclass(frozen=True)
class QueuePage:
    """A page of the review queue with what its rows and filters name."""

    queue: QueueSlice
    names: dict[int, str]
    """Who holds each claim, by user id."""
    sittings: list[Sitting]
    schemes: list[Scheme]


async def _names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}


async def queue_page(
    session: AsyncSession,
    *,
    viewer: User,
    now: datetime,
    filters: ReviewFilters,
    page: int = 1,
    page_size: int | None = None,
) -> QueuePage:
    """A page of the review queue (``review_queue``) with the claim holders' names and the
    sittings and schemes to filter by."""
    queue = await review_queue(
        session, viewer=viewer, now=now, filters=filters, page=page, page_size=page_size
    )
    return QueuePage(
        queue=queue,
        names=await _names(session, {entry.claimed_by_id for entry in queue.entries}),
        sittings=list(await session.scalars(select(Sitting).order_by(Sitting.opens_at.desc()))),
        schemes=list(await session.scalars(select(Scheme).order_by(Scheme.name))),
    )


@dataclass(frozen=True)
class TimelineEntry:
    """A flag on the attempt's timeline, with where it lies in its part's recording."""

    flag: Flag
    part: AttemptPart | None
    recording_id: int | None
    """The part's recording, when there is one to play."""
    seconds: int | None
    """How far into that recording the flag begins."""


@dataclass(frozen=True)
class RecordingView:
    """A part's recording and the chunks missing from it (0-based numbers)."""

    recording: Recording
    part: AttemptPart
    gaps: list[int]

    @property
    def missing_numbers(self) -> str:
        """The missing chunks as people count them (from 1), listed."""
        return ", ".join(str(index + 1) for index in self.gaps)

    @property
    def playable(self) -> bool:
        """Whether anything of it can be played."""
        return self.recording.purged_at is None and self.recording.chunk_count > 0


@dataclass(frozen=True)
class AttemptReviewPage:
    """Everything a proctor reviews and decides about one attempt."""

    attempt: Attempt
    registration: Registration
    sitting: Sitting
    candidate: User
    review: AttemptReview | None
    timeline: list[TimelineEntry]
    verifications: list[IdentityVerification]
    recordings: list[RecordingView]
    parts: list[AttemptPart]
    identity: IdentityDecision | None
    names: dict[int, str]
    """The people named by the review (claim holder, proposer, deciders), by user id."""
    holds_claim: bool
    """Whether the viewer holds a live claim (the decision forms are theirs to use)."""


def recording_position(flag: Flag, recording: Recording) -> int:
    """Whole seconds from the recording's start to the flag's (never negative: a flag raised
    before the recorder started is shown from the beginning)."""
    return max(0, int((flag.started_at - recording.started_at).total_seconds()))


async def attempt_review_page(
    session: AsyncSession, attempt_id: int, *, viewer: User, now: datetime
) -> AttemptReviewPage:
    """The attempt's review page (a 404 for an unknown attempt). Looking at it is noted as
    having proctored the candidate: the viewer then takes no part in grading them."""
    require(viewer, REVIEWERS | CHEATING_CONFIRMERS, REVIEW_REFUSED)
    attempt = await attempt_of(session, attempt_id)
    registration = await session.get(Registration, attempt.registration_id)
    assert registration is not None
    sitting = await session.get(Sitting, registration.sitting_id)
    candidate = await session.get(User, registration.candidate_id)
    assert sitting is not None and candidate is not None
    await note_involvement(session, registration_id=registration.id, proctor=viewer, now=now)
    parts = list(
        await session.scalars(
            select(AttemptPart)
            .where(AttemptPart.attempt_id == attempt.id)
            .order_by(AttemptPart.part_index)
        )
    )
    by_id = {part.id: part for part in parts}
    recordings = [
        recording
        for recording in await session.scalars(
            select(Recording).where(Recording.attempt_part_id.in_(list(by_id) or [0]))
        )
    ]
    views = [
        RecordingView(
            recording=recording,
            part=by_id[recording.attempt_part_id],
            gaps=await missing_chunks(session, recording),
        )
        for recording in recordings
    ]
    views.sort(key=lambda view: view.part.part_index)
    playable = {view.part.id: view.recording for view in views if view.playable}
    timeline = []
    for flag in await flags_of_attempt(session, attempt):
        part = by_id.get(flag.attempt_part_id) if flag.attempt_part_id is not None else None
        recording = playable.get(part.id) if part is not None else None
        timeline.append(
            TimelineEntry(
                flag=flag,
                part=part,
                recording_id=recording.id if recording is not None else None,
                seconds=recording_position(flag, recording) if recording is not None else None,
            )
        )
    review = await review_of(session, attempt.id)
    identity = await session.get(IdentityDecision, registration.id)
    named: set[int | None] = {flag.decided_by_id for flag in (e.flag for e in timeline)}
    if review is not None:
        named |= {
            review.claimed_by_id,
            review.proposed_by_id,
            review.confirmed_by_id,
            review.rejected_by_id,
            review.cleared_by_id,
        }
    if identity is not None:
        named.add(identity.decided_by_id)
    return AttemptReviewPage(
        attempt=attempt,
        registration=registration,
        sitting=sitting,
        candidate=candidate,
        review=review,
        timeline=timeline,
        verifications=list(
            await session.scalars(
                select(IdentityVerification)
                .where(IdentityVerification.registration_id == registration.id)
                .order_by(IdentityVerification.checked_at)
            )
        ),
        recordings=views,
        parts=parts,
        identity=identity,
        names=await _names(session, named),
        holds_claim=holds_claim(review, viewer, now),
    )
