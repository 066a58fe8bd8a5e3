"""Proctoring services: a scheme's policy, a registration's context, and the live channel's
state, which decides whether a part may start.

Browser events are in ``browser_events``, the watchdog in ``watchdog``, recordings in
``recordings``, the identity check in ``identity``, the live connections in ``channels``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart, AttemptStatus, Registration, Sitting
from exam.roles import require
from itembank.models import Scheme
from proctoring.access import POLICY_EDITORS, REFUSED
from proctoring.models import ConnectionState, LiveChannel, ProctoringPolicy
from proctoring.schemas import Policy
from vakt.accounts import User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import LazyText, _l
from vakt.scheme_settings import store_scheme_settings

# ---- policy -----------------------------------------------------------------------------------


async def policy_for_scheme(session: AsyncSession, scheme_id: int) -> Policy:
    """The scheme's proctoring policy (the defaults until staff change it)."""
    row = await session.get(ProctoringPolicy, scheme_id)
    return Policy.model_validate(row.settings) if row else Policy()


@dataclass(frozen=True)
class SchemePolicy:
    """A scheme with its proctoring policy (the staff's settings page)."""

    scheme: Scheme
    policy: Policy


async def scheme_policy(session: AsyncSession, scheme_id: int) -> SchemePolicy:
    """The scheme and its policy; a 404 for a scheme that does not exist."""
    scheme = await session.get(Scheme, scheme_id)
    if scheme is None:
        raise NotFound(_l("No such scheme."))
    return SchemePolicy(scheme, await policy_for_scheme(session, scheme.id))


NUMBER_LABELS: dict[str, LazyText] = {
    "identity_threshold": _l("Identity: largest face distance taken as the same person"),
    "sample_interval_seconds": _l("Seconds between analysed camera frames"),
    "identity_interval_seconds": _l("Seconds between identity comparisons during the exam"),
    "no_face_seconds": _l("Flag no face after (seconds)"),
    "multiple_faces_seconds": _l("Flag more than one face after (seconds)"),
    "face_mismatch_seconds": _l("Flag a face that does not match after (seconds)"),
    "speech_seconds": _l("Flag speech lasting longer than (seconds)"),
    "media_off_seconds": _l("Camera or microphone counts as off after (seconds)"),
    "live_reconnect_grace_seconds": _l(
        "Flag a lost live channel, camera or microphone after (seconds)"
    ),
    "chunk_seconds": _l("Recording piece length (seconds)"),
    "max_chunk_bytes": _l("Largest recording piece (bytes)"),
    "video_bits_per_second": _l("Recording video bitrate (bits per second)"),
    "review_claim_minutes": _l("A proctor's claim on an attempt's review lasts (minutes)"),
}
"""The policy's numbers as people read them (the settings form and its errors), in the order
the form shows them."""
POLICY_LABELS: dict[str, LazyText] = {
    **NUMBER_LABELS,
    "severity": _l("How severe each kind of flag is (the review queue puts the most severe first)"),
}
"""Every field an error can name, as people read it."""


def validate_policy(values: dict[str, Any]) -> Policy:
    """The policy these values describe; a 422 naming the first field at fault (missing, not a
    number, or outside its range)."""
    try:
        return Policy.model_validate(values)
    except ValidationError as error:
        where = str(error.errors()[0]["loc"][0]) if error.errors()[0]["loc"] else ""
        raise VaktError(
            _l("{name}: the value is missing, not a number, or outside the allowed range."),
            field=where or None,
            status_code=422,
            name=POLICY_LABELS.get(where, where),
        ) from None


async def set_policy(
    session: AsyncSession, *, scheme_id: int, values: dict[str, Any], actor: User, now: datetime
) -> Policy:
    """Change a scheme's policy; refuses values out of range with the field at fault."""
    require(actor, POLICY_EDITORS, REFUSED)
    policy = validate_policy(values)
    await store_scheme_settings(
        session,
        ProctoringPolicy,
        scheme_id=scheme_id,
        settings=policy.model_dump(mode="json"),
        actor_id=actor.id,
        now=now,
        action="proctoring.policy_changed",
    )
    return policy


async def policy_for_registration(session: AsyncSession, registration: Registration) -> Policy:
    """The proctoring policy of the scheme a registration's sitting belongs to."""
    sitting = await session.get(Sitting, registration.sitting_id)
    assert sitting is not None
    return await policy_for_scheme(session, sitting.scheme_id)


def attempt_over(attempt: Attempt | None) -> bool:
    """Whether an attempt has ended (handed in or terminated): nothing of it is watched any
    more, and no live channel opens for it."""
    return attempt is not None and attempt.status != AttemptStatus.IN_PROGRESS


@dataclass(frozen=True)
class Context:
    """A registration with what proctoring needs around it."""

    registration: Registration
    policy: Policy
    attempt: Attempt | None
    current_part: AttemptPart | None

    @property
    def attempt_over(self) -> bool:
        """Whether the registration's attempt has ended (``attempt_over``)."""
        return attempt_over(self.attempt)


async def context_of(session: AsyncSession, registration_id: int) -> Context:
    """The registration, its scheme's policy, its attempt and the part running now (if any)."""
    registration = await session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(_l("No such registration."))
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == registration_id)
    )
    current = None
    if attempt is not None:
        current = await session.scalar(
            select(AttemptPart).where(
                AttemptPart.attempt_id == attempt.id,
                AttemptPart.submitted_at.is_(None),
            )
        )
    return Context(
        registration, await policy_for_registration(session, registration), attempt, current
    )


# ---- the live channel's state ------------------------------------------------------------------


async def live_state(session: AsyncSession, registration_id: int) -> LiveChannel | None:
    """The newest known state of the registration's live channel."""
    return await session.get(LiveChannel, registration_id)


async def set_live_state(
    session: AsyncSession,
    *,
    registration_id: int,
    now: datetime,
    connection_state: ConnectionState | None = None,
    video_live: bool | None = None,
    audio_live: bool | None = None,
    connection_id: str | None = None,
    new_connection: bool = False,
    video_stalled: bool = False,
    audio_stalled: bool = False,
) -> LiveChannel | None:
    """Remember what the live channel reported (kept in the database for every worker).

    ``connection_id`` names the peer connection reporting. ``new_connection`` makes it the
    registration's current one; a report from any other connection (one replaced by a newer
    offer, perhaps in another worker process) changes nothing and answers None. A stalled track
    is off since ``now`` (unless it already was) until it is live again; a track that merely
    ended, and every track of a closed connection, is not "off": the page went away, and the
    watchdog flags a channel that stays away.
    """
    row = await session.get(LiveChannel, registration_id, with_for_update=True)
    if row is None:
        # The offer's request and the connection's first observations may both be first here.
        dialect = session.get_bind().dialect.name
        dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        await session.execute(
            dialect_insert(LiveChannel)
            .values(
                registration_id=registration_id,
                connection_state=ConnectionState.NEW,
                video_live=False,
                audio_live=False,
                updated_at=now,
            )
            .on_conflict_do_nothing()
        )
        row = await session.get(
            LiveChannel, registration_id, with_for_update=True, populate_existing=True
        )
        assert row is not None
    if new_connection:
        row.connection_id = connection_id
        row.video_live = row.audio_live = False
        row.video_off_since = row.audio_off_since = None
    elif connection_id is not None and row.connection_id != connection_id:
        return None
    if connection_state is not None:
        if (
            connection_state == ConnectionState.CONNECTED
            and row.connection_state != ConnectionState.CONNECTED
        ):
            row.connected_at = now
        if connection_state in {ConnectionState.CLOSED, ConnectionState.FAILED}:
            row.video_live = row.audio_live = False
            row.video_off_since = row.audio_off_since = None
        row.connection_state = connection_state
    if video_live is not None:
        row.video_live = video_live
        if video_live:
            row.video_off_since = None
    if audio_live is not None:
        row.audio_live = audio_live
        if audio_live:
            row.audio_off_since = None
    if video_stalled and row.video_off_since is None:
        row.video_off_since = now
    if audio_stalled and row.audio_off_since is None:
        row.audio_off_since = now
    row.updated_at = now
    return row


def receives_media(row: LiveChannel | None, *, connection_id: str | None = None) -> bool:
    """Whether the live channel is connected with live picture and sound (what a part's start
    requires), and, given ``connection_id``, on that connection rather than another."""
    return (
        row is not None
        and (connection_id is None or row.connection_id == connection_id)
        and row.connection_state == ConnectionState.CONNECTED
        and row.video_live
        and row.audio_live
    )


@dataclass(frozen=True)
class ReceivedMedia:
    """What the server receives from a registration's live channel, as the page asks it."""

    connection_state: ConnectionState
    video_live: bool
    audio_live: bool
    sees: bool
    """Whether a part may start now (on the named connection, when one was named)."""


async def received_media(
    session: AsyncSession, registration_id: int, *, connection_id: str | None = None
) -> ReceivedMedia:
    """The live channel's state for the exam page; ``connection_id`` (the id the offer's answer
    gave) limits ``sees`` to that connection."""
    row = await live_state(session, registration_id)
    return ReceivedMedia(
        connection_state=row.connection_state if row else ConnectionState.NEW,
        video_live=bool(row and row.video_live),
        audio_live=bool(row and row.audio_live),
        sees=receives_media(row, connection_id=connection_id),
    )


async def require_live_media(session: AsyncSession, context: Context) -> None:
    """Refuse to start a part while the camera and microphone do not reach the server."""
    if not context.policy.enabled:
        return
    row = await live_state(session, context.registration.id)
    if row is None or row.connection_state != ConnectionState.CONNECTED:
        raise Conflict(
            _l(
                "The part cannot start yet: your camera and microphone are not connected to the "
                "exam service. Allow the camera and microphone for this site, keep this page "
                "open until it says they are on, then start again."
            )
        )
    if not row.video_live:
        raise Conflict(
            _l(
                "The part cannot start yet: no picture arrives from your camera. Check that the "
                "camera is connected, not covered and not used by another program."
            )
        )
    if not row.audio_live:
        raise Conflict(
            _l(
                "The part cannot start yet: no sound arrives from your microphone. Check that "
                "the microphone is connected and not muted."
            )
        )
