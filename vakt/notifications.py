"""Notifications: messages to one person, kept in their inbox (``/my/inbox``) and sent by e-mail.

A domain calls ``notify`` in the transaction of the change the message is about. The row is the
outbox: the e-mail goes out after the commit, from the sending job (``vakt.mail``), so a change
that is rolled back sends nothing, and a message is never lost between the two.

A message is stored without its text: its kind's key (``Kind``, declared by the domain that sends
it) and the values for the kind's placeholders. The text is written when it is read, in the
reader's language and the body's time zone, so the inbox follows a change of language and no
translation is frozen in the database.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from babel.dates import format_date
from sqlalchemy import ForeignKey, Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from vakt import audit
from vakt.accounts import User
from vakt.db import Base, JSONDocument, UTCDateTime, text_enum
from vakt.errors import NotFound
from vakt.i18n import LazyText, _l, format_moment, normalise_language, translations_for


class MailState(enum.StrEnum):
    """Where a message's e-mail stands."""

    PENDING = "pending"
    """Waiting for the sending job (or for its next try)."""
    SENT = "sent"
    FAILED = "failed"
    """Every try failed; the message is in the inbox only."""
    NO_ADDRESS = "no_address"
    """The recipient has no e-mail address: the inbox only."""


@dataclass(frozen=True)
class Kind:
    """What a kind of message says: a subject and a body with ``{placeholders}``. ``times`` names
    the placeholders that hold a time (stored as ISO 8601 UTC, written in the body's time zone).

    Each domain declares the kinds it sends (``exam.notices``, ``certification.notices``); the
    application puts them together in one ``Kinds``."""

    key: str
    """How stored messages refer to the kind: once used, a key stays."""
    subject: LazyText
    body: LazyText
    times: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()
    """Placeholders holding a calendar day (ISO 8601), written the language's way."""


@dataclass(frozen=True)
class Kinds:
    """Every kind of message this installation sends, by key: what a stored message is read
    with (the inbox, the e-mail)."""

    by_key: Mapping[str, Kind]

    @classmethod
    def of(cls, *groups: Iterable[Kind]) -> Kinds:
        """The kinds of several domains together; two kinds under one key are a programming
        error, found when the application is built."""
        by_key: dict[str, Kind] = {}
        for kind in (kind for group in groups for kind in group):
            if kind.key in by_key:
                raise ValueError(f"two kinds of notification under the key {kind.key!r}")
            by_key[kind.key] = kind
        return cls(by_key=MappingProxyType(by_key))

    def get(self, key: str) -> Kind | None:
        """The kind under ``key``; None for a key no domain declares (any more)."""
        return self.by_key.get(key)


class Notification(Base):
    """One message to one person: in their inbox, and (when they have an address) by e-mail."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_state: Mapped[MailState] = mapped_column(text_enum(MailState, 20))
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    """When the sending job may (next) try the e-mail; None once it is settled. A job that takes
    a message moves this on by a lease first, which is how two jobs never send one message."""
    mail_error: Mapped[str | None] = mapped_column(String(500))
    """Why the last try failed (the server's answer; never a password)."""
    mail_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


async def notify(
    session: AsyncSession,
    *,
    recipient_id: int,
    kind: Kind,
    params: dict[str, Any],
    now: datetime,
) -> Notification:
    """Put a message in the recipient's inbox, its e-mail to be sent after the caller's commit.

    ``params``: the values of the kind's placeholders (JSON: text and numbers; a time as an aware
    ``datetime``). The audit log records who got which kind of message, not its values, which may
    be personal."""
    recipient = await session.get(User, recipient_id)
    if recipient is None:
        raise ValueError(f"no user {recipient_id} to notify")
    stored = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in params.items()
    }
    has_address = bool(recipient.email)
    notification = Notification(
        recipient_id=recipient_id,
        kind=kind.key,
        params=stored,
        created_at=now,
        mail_state=MailState.PENDING if has_address else MailState.NO_ADDRESS,
        mail_attempts=0,
        mail_next_at=now if has_address else None,
    )
    session.add(notification)
    await session.flush()
    await audit.record(
        session,
        actor_id=None,
        action="notification.create",
        entity_type="notification",
        entity_id=notification.id,
        after={
            "recipient_id": recipient_id,
            "kind": kind.key,
            "mail": notification.mail_state.value,
        },
    )
    return notification


@dataclass(frozen=True)
class Rendered:
    """A message written for its reader."""

    subject: str
    body: str


def user_language(user: User, default: str) -> str:
    """The language a person's messages are written in: theirs, else the installation's."""
    return normalise_language(user.language) or default


def render(notification: Notification, kinds: Kinds, language: str, timezone: str) -> Rendered:
    """The message's subject and body in ``language``, its times in ``timezone``."""
    translations = translations_for(language)
    definition = kinds.get(notification.kind)
    if definition is None:
        # A kind no longer known: still a message, not an error page.
        fallback = _l("You have a message from Vakt.")
        return Rendered(fallback.render(translations), fallback.render(translations))
    params: dict[str, Any] = {}
    for key, value in notification.params.items():
        if key in definition.times and isinstance(value, str):
            params[key] = format_moment(datetime.fromisoformat(value), "short", timezone, language)
        elif key in definition.dates and isinstance(value, str):
            params[key] = format_date(date.fromisoformat(value), "long", locale=language)
        else:
            params[key] = value
    return Rendered(
        subject=definition.subject.render(translations, params),
        body=definition.body.render(translations, params),
    )


async def inbox(session: AsyncSession, user: User, *, limit: int = 200) -> list[Notification]:
    """The person's own messages, newest first."""
    rows = await session.scalars(
        select(Notification)
        .where(Notification.recipient_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list(rows)


async def unread_count(session: AsyncSession, user: User) -> int:
    """How many of the person's messages they have not marked as read."""
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_read(
    session: AsyncSession, *, user: User, notification_id: int, now: datetime
) -> Notification:
    """Mark one of the person's own messages as read (again: no change). Another person's
    message is "no such message", as if it did not exist."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.recipient_id != user.id:
        raise NotFound(_l("No such message."))
    if notification.read_at is None:
        notification.read_at = now
        await audit.record(
            session,
            actor_id=user.id,
            action="notification.read",
            entity_type="notification",
            entity_id=notification_id,
        )
    return notification
