"""Accounts: users, their roles, argon2 passwords and rate-limited authentication."""

from __future__ import annotations

import asyncio
import enum
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vakt import audit
from vakt.db import Base, UTCDateTime, utcnow
from vakt.errors import Conflict, TooManyRequests, VaktError
from vakt.i18n import LANGUAGES, _l


class Role(enum.StrEnum):
    """What a user may do. A user may hold several roles."""

    CANDIDATE = "candidate"
    ITEM_WRITER = "item_writer"
    ITEM_REVIEWER = "item_reviewer"
    GRADER = "grader"
    PROCTOR = "proctor"
    DECISION_MAKER = "decision_maker"
    ADMINISTRATOR = "administrator"


ROLE_LABELS = {
    Role.CANDIDATE: _l("Candidate"),
    Role.ITEM_WRITER: _l("Item writer"),
    Role.ITEM_REVIEWER: _l("Item reviewer"),
    Role.GRADER: _l("Grader"),
    Role.PROCTOR: _l("Proctor"),
    Role.DECISION_MAKER: _l("Decision maker"),
    Role.ADMINISTRATOR: _l("Administrator"),
}

MIN_PASSWORD_LENGTH = 10


class User(Base):
    """A person who signs in to Vakt."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="user"
    )

    @property
    def roles(self) -> frozenset[Role]:
        """The roles this user holds."""
        return frozenset(Role(row.role) for row in self.role_rows)

    def has_any(self, *roles: Role) -> bool:
        """True when the user holds at least one of ``roles``."""
        return bool(self.roles.intersection(roles))


class UserRole(Base):
    """One role held by one user."""

    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    user: Mapped[User] = relationship(back_populates="role_rows")


class ExternalIdentity(Base):
    """An identity at an OpenID Connect provider (national e-ID) that signs in one user.

    The provider's subject identifier is only unique within its issuer, so the pair is the key.
    """

    __tablename__ = "external_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(500))
    # OpenID Connect Core 1.0 §2: "sub" is at most 255 ASCII characters.
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """A sign-in attempt, kept to rate-limit guessing per account and per network address."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)


def password_hasher() -> PasswordHasher:
    """argon2id with the library's recommended parameters."""
    return PasswordHasher()


async def hash_password(password: str) -> str:
    """The argon2 hash of ``password``, computed in a thread.

    A hash costs ~0.1 s of CPU on purpose; on the event loop it would hold up every other
    request of the worker (thousands of autosaves during a sitting) for that long.
    """
    return await asyncio.to_thread(password_hasher().hash, password)


async def _verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, spends the same effort and answers no."""

    def verify() -> bool:
        try:
            matches = password_hasher().verify(password_hash or _dummy_hash(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matches and password_hash is not None

    return await asyncio.to_thread(verify)


def validate_password(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise VaktError(
            _l("The password must have at least {count} characters."),
            field="password",
            count=MIN_PASSWORD_LENGTH,
        )


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    full_name: str,
    password: str | None,
    roles: set[Role],
    email: str | None = None,
    language: str | None = None,
    actor_id: int | None = None,
) -> User:
    """Create a user with roles; the password is stored only as an argon2 hash."""
    username = username.strip().lower()
    if not username or len(username) > 120:
        raise VaktError(_l("A username is required (at most 120 characters)."), field="username")
    if not full_name.strip():
        raise VaktError(_l("A full name is required."), field="full_name")
    if language is not None and language not in LANGUAGES:
        raise VaktError(_l("Unknown language."), field="language")
    if password is not None:
        validate_password(password)
    existing = await session.scalar(select(User.id).where(User.username == username))
    if existing is not None:
        raise Conflict(_l("The username {username} is taken."), field="username", username=username)
    user = User(
        username=username,
        full_name=full_name.strip(),
        email=email,
        language=language,
        password_hash=await hash_password(password) if password is not None else None,
        role_rows=[UserRole(role=role.value) for role in sorted(roles)],
    )
    session.add(user)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        after={"username": username, "roles": sorted(r.value for r in roles)},
    )
    return user


async def recent_failures(
    session: AsyncSession, *, username: str, address: str, since: datetime
) -> tuple[int, int]:
    """Failed attempts since ``since``: (for this account, from this address)."""
    by_account = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, ~LoginAttempt.succeeded, LoginAttempt.at >= since)
    )
    by_address = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.address == address, ~LoginAttempt.succeeded, LoginAttempt.at >= since)
    )
    return int(by_account or 0), int(by_address or 0)


async def authenticate(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    address: str,
    max_per_account: int,
    max_per_address: int,
    window_start: datetime,
) -> User:
    """Check a username and password, counting failures; raise a clear error when refused.

    The caller commits the session even when this raises, so failed attempts are remembered.
    """
    username = username.strip().lower()
    failures_account, failures_address = await recent_failures(
        session, username=username, address=address, since=window_start
    )
    if failures_account >= max_per_account or failures_address >= max_per_address:
        raise TooManyRequests(
            _l("Too many failed sign-in attempts. Wait a few minutes and try again.")
        )
    user = await session.scalar(select(User).where(User.username == username))
    if user is not None and user.is_active and user.password_hash:
        ok = await _verify_password(user.password_hash, password)
    else:
        # Spend the same effort for unknown users so timing does not reveal which accounts exist.
        await _verify_password(None, password)
        ok = False
    session.add(LoginAttempt(username=username, address=address, at=utcnow(), succeeded=ok))
    if not ok or user is None:
        await audit.record(
            session,
            actor_id=None,
            action="auth.login_failed",
            entity_type="user",
            entity_id=username,
            after={"address": address},
        )
        raise VaktError(_l("Wrong username or password."), status_code=401)
    if user.password_hash and password_hasher().check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    await audit.record(
        session,
        actor_id=user.id,
        action="auth.login",
        entity_type="user",
        entity_id=user.id,
        after={"address": address},
    )
    return user


@cache
def _dummy_hash() -> str:
    return password_hasher().hash("not a real password")
