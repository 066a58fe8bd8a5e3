"""Sending the e-mails of notifications (``vakt.notifications``): the job that empties the outbox.

Each round takes the messages whose time has come, one at a time: a conditional UPDATE moves the
message's next try on by a lease and counts the try, and only the job whose UPDATE changed the
row sends it, so two jobs (two workers, two servers) never send one message twice. The e-mail is
sent outside any transaction; its outcome is written in a new one: sent, tried again later (the
wait doubles each time), or failed after the last try. A job that dies while sending leaves the
message to be tried again when the lease is over.

Without an SMTP host the messages are written to the console instead (``vakt demo``).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol, TextIO

import aiosmtplib
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vakt import audit
from vakt.accounts import User
from vakt.notifications import Kinds, MailState, Notification, render, user_language
from vakt.settings import Settings

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
"""How long a job has to send a message it took before another job may take it."""
BATCH = 100
"""Messages taken in one round at most."""
MAX_ERROR_LENGTH = 500


class Mailer(Protocol):
    """Something that delivers an e-mail or raises."""

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message``; an exception means it was not delivered."""
        ...


class SmtpMailer:
    """Delivery to the SMTP server the settings name."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        """Send through the server (STARTTLS, TLS or plain, as configured)."""
        settings = self._settings
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() or None,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )


class ConsoleMailer:
    """Writes each e-mail to a stream (standard output) instead of sending it: the demo's."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, message: EmailMessage) -> None:
        """Print the message's headers and text."""
        stream = self._stream or sys.stdout
        stream.write(
            f"--- e-mail (not sent: VAKT_SMTP_HOST is not set) ---\n"
            f"To: {message['To']}\nSubject: {message['Subject']}\n\n"
            f"{message.get_content().rstrip()}\n---\n"
        )
        stream.flush()


def mailer_for(settings: Settings) -> Mailer:
    """SMTP when a host is configured, else the console."""
    return SmtpMailer(settings) if settings.smtp_host else ConsoleMailer()


@dataclass(frozen=True)
class MailPolicy:
    """How messages are sent: the sender, the body's time zone, how often to try, and the kinds
    of message they are written from."""

    kinds: Kinds
    sender: str
    default_language: str
    timezone: str
    retry_seconds: float
    max_attempts: int
    secrets: tuple[str, ...] = ()
    """Values never to be written into a recorded error (the SMTP password)."""

    @classmethod
    def from_settings(cls, settings: Settings, kinds: Kinds) -> MailPolicy:
        """The policy the settings describe."""
        password = settings.smtp_password.get_secret_value()
        return cls(
            kinds=kinds,
            sender=settings.mail_from or "vakt@localhost",
            default_language=settings.default_language,
            timezone=settings.timezone,
            retry_seconds=settings.mail_retry_seconds,
            max_attempts=settings.mail_max_attempts,
            secrets=(password,) if password else (),
        )

    def wait_after(self, attempts: int) -> timedelta:
        """The wait before the next try after ``attempts`` failed ones (doubling)."""
        return timedelta(seconds=self.retry_seconds * 2 ** max(attempts - 1, 0))


def error_text(exc: BaseException, secrets: tuple[str, ...]) -> str:
    """What went wrong, short, with any secret blanked out."""
    text = f"{type(exc).__name__}: {exc}"
    for secret in secrets:
        text = text.replace(secret, "***")
    return text[:MAX_ERROR_LENGTH]


async def _claim(session: AsyncSession, notification_id: int, now: datetime) -> int | None:
    """Take the message for this job: the try's number, or None when it is not due (any more)."""
    taken = (
        await session.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.mail_state == MailState.PENDING,
                Notification.mail_next_at <= now,
            )
            .values(
                mail_next_at=now + LEASE,
                mail_attempts=Notification.mail_attempts + 1,
            )
            .returning(Notification.mail_attempts)
        )
    ).scalar_one_or_none()
    return taken


def _email(notification: Notification, recipient: User, policy: MailPolicy) -> EmailMessage:
    written = render(
        notification,
        policy.kinds,
        user_language(recipient, policy.default_language),
        policy.timezone,
    )
    message = EmailMessage()
    message["From"] = policy.sender
    message["To"] = recipient.email or ""
    message["Subject"] = written.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=policy.sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(written.body)
    return message


async def _settle(
    session: AsyncSession,
    notification_id: int,
    attempt: int,
    *,
    error: str | None,
    now: datetime,
    policy: MailPolicy,
) -> None:
    """Write the try's outcome (unless another job took the message since: lease over)."""
    if error is None:
        values = {
            "mail_state": MailState.SENT,
            "mail_sent_at": now,
            "mail_next_at": None,
            "mail_error": None,
        }
        action = "notification.mail_sent"
    elif attempt >= policy.max_attempts:
        values = {"mail_state": MailState.FAILED, "mail_next_at": None, "mail_error": error}
        action = "notification.mail_failed"
    else:
        values = {"mail_next_at": now + policy.wait_after(attempt), "mail_error": error}
        action = "notification.mail_retry"
    changed = (
        await session.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.mail_state == MailState.PENDING,
                Notification.mail_attempts == attempt,
            )
            .values(**values)
            .returning(Notification.id)
        )
    ).scalar_one_or_none()
    if changed is not None:
        await audit.record(
            session,
            actor_id=None,
            action=action,
            entity_type="notification",
            entity_id=notification_id,
            after={"attempt": attempt, **({"error": error} if error else {})},
        )


async def send_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    mailer: Mailer,
    notification_id: int,
    *,
    now: Callable[[], datetime],
    policy: MailPolicy,
) -> bool:
    """Take, send and settle one message; True when this job sent it."""
    async with sessionmaker() as session:
        attempt = await _claim(session, notification_id, now())
        if attempt is None:
            return False
        row = (
            await session.execute(
                select(Notification, User)
                .join(User, User.id == Notification.recipient_id)
                .where(Notification.id == notification_id)
            )
        ).one()
        await session.commit()
    notification, recipient = row
    error: str | None = None
    if not recipient.email:
        error = "the recipient has no e-mail address any more"
    else:
        try:
            await mailer.send(_email(notification, recipient, policy))
        except Exception as exc:
            error = error_text(exc, policy.secrets)
            logger.warning("e-mail of notification %s failed: %s", notification_id, error)
    async with sessionmaker() as session:
        await _settle(session, notification_id, attempt, error=error, now=now(), policy=policy)
        await session.commit()
    return error is None


async def send_due_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    mailer: Mailer,
    *,
    now: Callable[[], datetime],
    policy: MailPolicy,
) -> int:
    """Send every message whose time has come; how many this job sent."""
    async with sessionmaker() as session:
        due = list(
            await session.scalars(
                select(Notification.id)
                .where(Notification.mail_next_at <= now())
                .order_by(Notification.mail_next_at, Notification.id)
                .limit(BATCH)
            )
        )
    sent = 0
    for notification_id in due:
        try:
            sent += await send_one(sessionmaker, mailer, notification_id, now=now, policy=policy)
        except Exception:
            logger.exception("sending notification %s failed; trying again later", notification_id)
    return sent


async def send_forever(
    sessionmaker: async_sessionmaker[AsyncSession],
    mailer: Mailer,
    *,
    now: Callable[[], datetime],
    policy: MailPolicy,
    interval_seconds: float,
) -> None:
    """Send waiting e-mails every ``interval_seconds`` until cancelled; a failed round is logged
    and tried again."""
    while True:
        try:
            sent = await send_due_once(sessionmaker, mailer, now=now, policy=policy)
            if sent:
                logger.info("sent %d e-mails", sent)
        except Exception:
            logger.exception("sending e-mails failed; trying again")
        await asyncio.sleep(interval_seconds)
