"""Sign-in sessions kept on the server; a browser holds only a random id.

Every request finds its user through the session's row, so ending the row (signing out, a
password change, an administrator) ends the session at once, whatever copies of the cookie
exist. The database keeps only the id's SHA-256: a copy of the table signs nobody in.

A session ends when it is ended, after ``SessionPolicy.lifetime`` (the absolute timeout), or
when it has not been used for ``SessionPolicy.idle`` (the idle timeout). Domains that must not
be interrupted by the idle timeout (an exam in progress) say so through ``SessionActivity``;
``vakt`` cannot know them, so the web layer passes one in.

Here the database session is called ``db``, so that "session" always means a sign-in.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ForeignKey, Integer, String, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, joinedload, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from vakt import audit
from vakt.accounts import (
    LoginAttempt,
    LoginThrottle,
    SignInThrottled,
    User,
    hash_password,
    sign_in_allowed_at,
    validate_password,
    verify_password,
)
from vakt.db import Base, UTCDateTime
from vakt.errors import Conflict, VaktError
from vakt.i18n import _l
from vakt.settings import Settings

TOKEN_BYTES = 32
"""Random bytes in a session id: far beyond guessing."""
LAST_SEEN_PRECISION = timedelta(minutes=1)
"""How stale "last seen" may be. Writing it on every request would add a write to every
autosave of every candidate; once a minute is enough for a timeout counted in minutes."""
MAX_USER_AGENT_LENGTH = 300
MAX_ADDRESS_LENGTH = 64


class EndReason(enum.StrEnum):
    """Why a session was ended before it ran out."""

    SIGNED_OUT = "signed_out"
    SIGNED_IN_AGAIN = "signed_in_again"
    """The same browser signed in again and got a new id."""
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a password
    ENDED_BY_ADMINISTRATOR = "ended_by_administrator"


class UserSession(Base):
    """One sign-in of one user in one browser."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 (hex) of the random id the browser holds; the id itself is never stored."""
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The last request, to within ``LAST_SEEN_PRECISION``."""
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The absolute end, however busy the session is."""
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(MAX_ADDRESS_LENGTH), default="")
    user_agent: Mapped[str] = mapped_column(String(MAX_USER_AGENT_LENGTH), default="")
    """Shown to the user in the list of their sessions, so they recognise their browsers."""


class SessionActivity(Protocol):
    """What a domain provides to keep sessions alive past the idle timeout."""

    async def keeps_session_alive(self, db: AsyncSession, user_id: int, since: datetime) -> bool:
        """True when the user has been busy, since ``since`` and still, with something the idle
        timeout must not interrupt (``since`` is when the session would have timed out)."""
        ...


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last."""

    idle: timedelta
    lifetime: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        """The policy the installation is configured with."""
        return cls(
            idle=timedelta(seconds=settings.session_idle_seconds),
            lifetime=timedelta(seconds=settings.session_max_age_seconds),
        )


@dataclass(frozen=True)
class ActiveSession:
    """A session found valid for a request, with its user (and the user's roles) loaded."""

    row: UserSession
    user: User


def token_digest(token: str) -> str:
    """What the database keeps of a session id."""
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(
    db: AsyncSession,
    user: User,
    *,
    now: datetime,
    policy: SessionPolicy,
    address: str,
    user_agent: str,
) -> str:
    """Open a session for ``user`` (already authenticated); the new random id for the cookie."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.add(
        UserSession(
            token_digest=token_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.lifetime,
            address=address[:MAX_ADDRESS_LENGTH],
            user_agent=user_agent[:MAX_USER_AGENT_LENGTH],
        )
    )
    await db.flush()
    return token


async def resolve_session(
    db: AsyncSession,
    token: str,
    *,
    now: datetime,
    policy: SessionPolicy,
    activity: SessionActivity | None,
) -> ActiveSession | None:
    """The valid session with this id and its user, or None (unknown, ended, timed out, or the
    user deactivated).

    One query finds the session, the user and the roles: it runs on every request, autosaves
    included. "Last seen" is written at most once per ``LAST_SEEN_PRECISION``, and the activity
    is asked only when the session would otherwise time out for idleness.
    """
    found = (
        (
            await db.execute(
                select(UserSession, User)
                .join(User, User.id == UserSession.user_id)
                .options(joinedload(User.role_rows))
                .where(UserSession.token_digest == token_digest(token))
            )
        )
        .unique()
        .first()
    )
    if found is None:
        return None
    row, user = found
    if row.ended_at is not None or now >= row.expires_at or not user.is_active:
        return None
    idle_from = row.last_seen_at + policy.idle
    if now > idle_from and (
        activity is None or not await activity.keeps_session_alive(db, user.id, idle_from)
    ):
        return None
    if now - row.last_seen_at >= LAST_SEEN_PRECISION:
        row.last_seen_at = now
        # Written now, before the request's own work: every request that touches the row then
        # locks it first, so two saves of one candidate cannot lock it and an answer in
        # opposite orders (a deadlock on PostgreSQL).
        await db.flush()
    return ActiveSession(row=row, user=user)


async def end_session(
    db: AsyncSession, row: UserSession, *, now: datetime, reason: EndReason, actor_id: int | None
) -> None:
    """End one session (audited)."""
    if row.ended_at is not None:
        return
    row.ended_at = now
    row.ended_reason = reason.value
    await audit.record(
        db,
        actor_id=actor_id,
        action="auth.session_ended",
        entity_type="user",
        entity_id=row.user_id,
        after={"reason": reason.value, "session": row.id},
    )


async def end_session_with_token(
    db: AsyncSession, token: str, *, now: datetime, reason: EndReason, actor_id: int | None
) -> None:
    """End the session with this id, if there is one not ended yet (audited)."""
    row = await db.scalar(
        select(UserSession).where(
            UserSession.token_digest == token_digest(token), UserSession.ended_at.is_(None)
        )
    )
    if row is not None:
        await end_session(db, row, now=now, reason=reason, actor_id=actor_id)


async def end_sessions(
    db: AsyncSession,
    user_id: int,
    *,
    now: datetime,
    reason: EndReason,
    actor_id: int | None,
    keep: UserSession | None = None,
) -> int:
    """End every session of a user, except ``keep``; how many were ended (audited)."""
    conditions = [
        UserSession.user_id == user_id,
        UserSession.ended_at.is_(None),
        UserSession.expires_at > now,
    ]
    if keep is not None:
        conditions.append(UserSession.id != keep.id)
    ended = (
        await db.scalars(
            update(UserSession)
            .where(*conditions)
            .values(ended_at=now, ended_reason=reason.value)
            .returning(UserSession.id)
        )
    ).all()
    await audit.record(
        db,
        actor_id=actor_id,
        action="auth.sessions_ended",
        entity_type="user",
        entity_id=user_id,
        after={"reason": reason.value, "count": len(ended)},
    )
    return len(ended)


def _in_use(now: datetime, policy: SessionPolicy) -> ColumnElement[bool]:
    """Sessions neither ended nor timed out. One idle past the timeout is left out, although an
    exam in progress may still keep it alive: this is for showing, not for deciding."""
    return and_(
        UserSession.ended_at.is_(None),
        UserSession.expires_at > now,
        UserSession.last_seen_at >= now - policy.idle,
    )


async def active_session_counts(
    db: AsyncSession, *, now: datetime, policy: SessionPolicy
) -> dict[int, int]:
    """How many sessions each user has in use, by user id (users with none are left out)."""
    rows = await db.execute(
        select(UserSession.user_id, func.count())
        .where(_in_use(now, policy))
        .group_by(UserSession.user_id)
    )
    return {user_id: count for user_id, count in rows}


async def sessions_of(
    db: AsyncSession, user_id: int, *, now: datetime, policy: SessionPolicy
) -> list[UserSession]:
    """A user's sessions in use, the most recently used first."""
    found = await db.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, _in_use(now, policy))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(found)


async def change_password(
    db: AsyncSession,
    user: User,
    *,
    current: str,
    new: str,
    repeated: str,
    keep: UserSession | None,
    address: str,
    now: datetime,
    throttle: LoginThrottle,
) -> int:
    """Change a user's password and end their other sessions (whoever knew the old password may
    hold one); how many were ended.

    The current password is checked like a sign-in, slowed down in the same way, so a stolen
    session cannot be used to guess it. The caller commits even when this raises, so failures
    are remembered.
    """
    if not user.password_hash:
        raise Conflict(_l("Your account has no password: you sign in with e-ID."))
    if new != repeated:
        raise VaktError(_l("The two new passwords are not the same."), field="new_password")
    validate_password(new)
    allowed_at = await sign_in_allowed_at(
        db, username=user.username, address=address, now=now, throttle=throttle
    )
    if allowed_at is not None:
        raise SignInThrottled(allowed_at, now=now, timezone=throttle.timezone)
    ok = await verify_password(user, current)
    db.add(LoginAttempt(username=user.username, address=address, at=now, succeeded=ok))
    if not ok:
        await audit.record(
            db,
            actor_id=user.id,
            action="auth.password_change_failed",
            entity_type="user",
            entity_id=user.id,
            after={"address": address},
        )
        raise VaktError(_l("The current password is wrong."), field="current_password")
    user.password_hash = await hash_password(new)
    await audit.record(
        db,
        actor_id=user.id,
        action="auth.password_changed",
        entity_type="user",
        entity_id=user.id,
        after={"address": address},
    )
    return await end_sessions(
        db, user.id, now=now, reason=EndReason.PASSWORD_CHANGED, actor_id=user.id, keep=keep
    )
