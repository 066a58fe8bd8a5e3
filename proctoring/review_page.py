"""What the proctor review pages show, read in one call per page: the queue with the names of
those holding claims and the choices of its filters, and one attempt's review (identity checks,
a timeline of its flags with where each lies in the part's recording, the recordings with their
gaps, the parts' clocks, the decisions taken so far)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
from proctoring.recordings import missing_chunks, stream_starts
from proctoring.review import flags_of_attempt
from proctoring.review_claims import attempt_of, holds_claim, review_of
from proctoring.review_queue import QueueSlice, review_queue
from proctoring.schemas import ReviewFilters
from proctoring.service import policy_for_scheme
from proctoring.storage import MediaStore
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
    player: int | None = None
    """The piece that begins the WebM file holding that moment (its player's)."""
    player_seconds: int | None = None
    """How far into that file the flag begins."""
    in_gap: bool = False
    """Whether the flag begins where a piece of the recording is missing."""


def clock_text(seconds: int) -> str:
    """A position in a recording as players show it: m:ss, or h:mm:ss from an hour."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


@dataclass(frozen=True)
class RecordingStretch:
    """Consecutive pieces of a recording that were all received, or all missing (a gap)."""

    missing: bool
    first_piece: int
    """0-based, as stored."""
    last_piece: int
    start_seconds: int
    """Where the stretch begins in the recording (piece number times the piece's length)."""
    end_seconds: int
    started_at: datetime
    ended_at: datetime

    @property
    def start_text(self) -> str:
        """The start as the player shows positions."""
        return clock_text(self.start_seconds)

    @property
    def end_text(self) -> str:
        """The end as the player shows positions."""
        return clock_text(self.end_seconds)


@dataclass(frozen=True)
class RecordingView:
    """A part's recording and the chunks missing from it (0-based numbers)."""

    recording: Recording
    part: AttemptPart
    gaps: list[int]
    chunk_seconds: int
    """How long each piece is (the scheme's policy)."""
    streams: list[int]
    """The pieces that begin a WebM file (``recordings.stream_starts``): one player each."""

    def player_for(self, seconds: int) -> tuple[int, int]:
        """The player holding a position in the recording (the piece its file begins with),
        and the position in that player."""
        start = self.streams[0] if self.streams else 0
        for index in self.streams:
            if index * self.chunk_seconds <= seconds:
                start = index
        return start, max(0, seconds - start * self.chunk_seconds)

    def player_src(self, start: int) -> str:
        """The address of the player's file (the whole recording when it is one file)."""
        base = f"/proctor/recordings/{self.recording.id}"
        return base if self.streams == [0] else f"{base}?from={start}"

    def player_started_at(self, start: int) -> datetime:
        """When the player's file begins (by the pieces' length)."""
        return self.recording.started_at + timedelta(seconds=start * self.chunk_seconds)

    def player_start_text(self, start: int) -> str:
        """Where the player's file begins in the recording, as players show positions."""
        return clock_text(start * self.chunk_seconds)

    @property
    def stretches(self) -> list[RecordingStretch]:
        """The recording from its start, received stretches and gaps in turn."""
        missing = set(self.gaps)
        runs: list[tuple[bool, int, int]] = []
        for index in range(self.recording.chunk_count + len(self.gaps)):
            gap = index in missing
            if runs and runs[-1][0] == gap:
                runs[-1] = (gap, runs[-1][1], index)
            else:
                runs.append((gap, index, index))
        size, started = self.chunk_seconds, self.recording.started_at
        return [
            RecordingStretch(
                missing=gap,
                first_piece=first,
                last_piece=last,
                start_seconds=first * size,
                end_seconds=(last + 1) * size,
                started_at=started + timedelta(seconds=first * size),
                ended_at=started + timedelta(seconds=(last + 1) * size),
            )
            for gap, first, last in runs
        ]

    def in_gap(self, seconds: int) -> bool:
        """Whether this position lies in a missing piece."""
        return seconds // self.chunk_seconds in set(self.gaps)

    @property
    def missing_numbers(self) -> str:
        """The missing chunks as people count them (from 1), listed."""
        return ", ".join(str(index + 1) for index in self.gaps)

    @property
    def playable(self) -> bool:
        """Whether anything of it can be played."""
        return self.recording.purged_at is None and bool(self.streams)


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
    session: AsyncSession, store: MediaStore, attempt_id: int, *, viewer: User, now: datetime
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
    chunk_seconds = (await policy_for_scheme(session, sitting.scheme_id)).chunk_seconds
    views = [
        RecordingView(
            recording=recording,
            part=by_id[recording.attempt_part_id],
            gaps=await missing_chunks(session, recording),
            chunk_seconds=chunk_seconds,
            streams=await stream_starts(session, store, recording)
            if recording.purged_at is None
            else [],
        )
        for recording in recordings
    ]
    views.sort(key=lambda view: view.part.part_index)
    playable = {view.part.id: view for view in views if view.playable}
    timeline = []
    for flag in await flags_of_attempt(session, attempt):
        part = by_id.get(flag.attempt_part_id) if flag.attempt_part_id is not None else None
        view = playable.get(part.id) if part is not None else None
        seconds = recording_position(flag, view.recording) if view is not None else None
        player = view.player_for(seconds) if view is not None and seconds is not None else None
        timeline.append(
            TimelineEntry(
                flag=flag,
                part=part,
                recording_id=view.recording.id if view is not None else None,
                seconds=seconds,
                player=player[0] if player else None,
                player_seconds=player[1] if player else None,
                in_gap=view is not None and seconds is not None and view.in_gap(seconds),
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
