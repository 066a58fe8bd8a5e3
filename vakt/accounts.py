"""Accounts: users, their roles, argon2 passwords and rate-limited authentication."""

from __future__ import annotations

import asyncio
import enum
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vakt import audit
from vakt.db import Base, UTCDateTime, utcnow
from vakt.errors import Conflict, NotFound, TooManyRequests, VaktError
from vakt.i18n import LANGUAGES, _l
from vakt.settings import Settings


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
    employer: Mapped[str] = mapped_column(String(200), default="", server_default="")
    """Where the person works, when known: a grader may declare a conflict with an employer."""
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
    """A sign-in attempt, kept to slow down guessing (``LoginThrottle``)."""

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
    employer: str = "",
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
        employer=employer.strip()[:200],
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


@dataclass(frozen=True)
class LoginThrottle:
    """How failed sign-ins slow down further tries, instead of locking anyone out.

    Failures are counted per pair of account and network address: after ``free_failures`` of
    them each further try from that address must wait ``first_delay``, doubling with each
    failure up to ``max_delay``; a success from that address starts the pair afresh. A locked
    account would let anyone lock its owner out; a pair only slows the one guessing, so the
    owner signing in from elsewhere is never held up. Failures from one address to any accounts
    are counted too, with a larger allowance and a shorter longest wait, so that one address
    cannot guess one password across many accounts while an exam centre behind one address
    still signs its candidates in.
    """

    free_failures: int = 5
    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)
    address_free_failures: int = 100
    address_max_delay: timedelta = timedelta(minutes=1)
    window: timedelta = timedelta(hours=1)
    """Failures older than this are forgotten."""
    timezone: str = "Europe/Oslo"
    """The time zone in which the person is told when to try again."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        """The throttle the installation is configured with."""
        return cls(
            free_failures=settings.login_free_failures,
            first_delay=timedelta(seconds=settings.login_first_delay_seconds),
            max_delay=timedelta(seconds=settings.login_max_delay_seconds),
            address_free_failures=settings.login_address_free_failures,
            address_max_delay=timedelta(seconds=settings.login_address_max_delay_seconds),
            window=timedelta(seconds=settings.login_failure_window_seconds),
            timezone=settings.timezone,
        )

    def delay(self, failures: int, *, free: int, cap: timedelta) -> timedelta:
        """The wait after ``failures`` failures: none for the first ``free``, then doubling."""
        if failures < free:
            return timedelta(0)
        # Past 30 doublings every sensible cap is reached; the bound keeps the number small.
        doublings = min(failures - free, 30)
        wait: timedelta = self.first_delay * (1 << doublings)
        return min(cap, wait)


class SignInThrottled(TooManyRequests):
    """Too many recent failed sign-ins: the next try may come at ``retry_at``."""

    def __init__(self, retry_at: datetime, *, now: datetime, timezone: str) -> None:
        # Whole seconds, rounded up, so that a try at the time shown is never early.
        if retry_at.microsecond:
            retry_at = retry_at.replace(microsecond=0) + timedelta(seconds=1)
        super().__init__(
            _l("Too many failed sign-in attempts. Try again after {time}."),
            time=retry_at.astimezone(ZoneInfo(timezone)).strftime("%H:%M:%S"),
        )
        self.retry_at = retry_at
        self.retry_after_seconds = max(1, math.ceil((retry_at - now).total_seconds()))


async def sign_in_allowed_at(
    session: AsyncSession, *, username: str, address: str, now: datetime, throttle: LoginThrottle
) -> datetime | None:
    """When the next try at ``username`` from ``address`` may come, or None when it may now."""
    since = now - throttle.window
    # By id, not time: a success and a failure can carry the same time.
    last_success = (
        select(func.max(LoginAttempt.id))
        .where(
            LoginAttempt.username == username,
            LoginAttempt.address == address,
            LoginAttempt.succeeded,
        )
        .scalar_subquery()
    )
    pair_failures, pair_last = (
        await session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                LoginAttempt.username == username,
                LoginAttempt.address == address,
                ~LoginAttempt.succeeded,
                LoginAttempt.at >= since,
                or_(last_success.is_(None), LoginAttempt.id > last_success),
            )
        )
    ).one()
    # A success does not forgive an address its failures: anyone could sign in to an account
    # of their own in between guesses at others.
    address_failures, address_last = (
        await session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                LoginAttempt.address == address,
                ~LoginAttempt.succeeded,
                LoginAttempt.at >= since,
            )
        )
    ).one()
    allowed: list[datetime] = []
    if pair_last is not None:
        allowed.append(
            pair_last
            + throttle.delay(pair_failures, free=throttle.free_failures, cap=throttle.max_delay)
        )
    if address_last is not None:
        allowed.append(
            address_last
            + throttle.delay(
                address_failures,
                free=throttle.address_free_failures,
                cap=throttle.address_max_delay,
            )
        )
    latest = max(allowed, default=None)
    return latest if latest is not None and latest > now else None


async def verify_password(user: User, password: str) -> bool:
    """Whether ``password`` is this active user's; always as slow, whatever the answer."""
    if user.is_active and user.password_hash:
        return await _verify_password(user.password_hash, password)
    await _verify_password(None, password)
    return False


async def authenticate(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    address: str,
    now: datetime,
    throttle: LoginThrottle,
) -> User:
    """Check a username and password, counting failures; raise a clear error when refused.

    A try that comes too soon after failures is refused with ``SignInThrottled`` before the
    password is looked at, and is not counted: it tested nothing. The caller commits the
    session even when this raises, so failed attempts are remembered.
    """
    username = username.strip().lower()
    allowed_at = await sign_in_allowed_at(
        session, username=username, address=address, now=now, throttle=throttle
    )
    if allowed_at is not None:
        raise SignInThrottled(allowed_at, now=now, timezone=throttle.timezone)
    user = await session.scalar(select(User).where(User.username == username))
    if user is not None:
        ok = await verify_password(user, password)
    else:
        # Spend the same effort for unknown users so timing does not reveal which accounts exist.
        await _verify_password(None, password)
        ok = False
    session.add(LoginAttempt(username=username, address=address, at=now, succeeded=ok))
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


async def user_by_username(session: AsyncSession, username: str) -> User:
    """The user with this username; a clear 404 when there is none."""
    username = username.strip().lower()
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_l("There is no user with the username {username}."), username=username)
    return user


@cache
def _dummy_hash() -> str:
    return password_hasher().hash("not a real password")
