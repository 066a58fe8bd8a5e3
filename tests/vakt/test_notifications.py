"""Notifications: the inbox row is written in the caller's transaction and its e-mail is sent by
the job afterwards, through a real SMTP server (aiosmtpd) listening on a free port."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exam.notices import RESULTS_RELEASED
from tests.conftest import free_port
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import create_engine, create_sessionmaker
from vakt.i18n import _l, format_moment
from vakt.mail import ConsoleMailer, MailPolicy, SmtpMailer, error_text, send_due_once
from vakt.notifications import (
    Kind,
    Kinds,
    MailState,
    Notification,
    inbox,
    notify,
    render,
    unread_count,
)
from vakt.settings import Settings
from web.app import notification_kinds

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
KINDS = notification_kinds()
PASSWORD_VALUE = "pw-Zq81-never-shown"


@dataclass
class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    """A real SMTP server on a free port, collecting what it is sent."""
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield collector, port
    finally:
        controller.stop()


def _mail_settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
            "mail_from": "Vakt <vakt@example.org>",
        }
    )


@pytest_asyncio.fixture
async def recipients(session: AsyncSession, users: dict[str, User]) -> dict[str, User]:
    """A Norwegian candidate and an English grader with addresses; a proctor without one."""
    users["candidate"].email, users["candidate"].language = "kandidat@example.org", "nb"
    users["grader"].email, users["grader"].language = "grader@example.org", "en"
    users["proctor"].email = None
    await session.commit()
    return users


async def _released(session: AsyncSession, user: User, sitting: str = "Sveis 2026") -> int:
    row = await notify(
        session,
        recipient_id=user.id,
        kind=RESULTS_RELEASED,
        params={"sitting": sitting, "released_at": NOW},
        now=NOW,
    )
    return row.id


def _clock(moment: datetime) -> Any:
    return lambda: moment


@pytest.mark.asyncio
async def test_a_message_is_mailed_after_commit_in_the_recipients_language(
    session: AsyncSession,
    engine: AsyncEngine,
    recipients: dict[str, User],
    settings: Settings,
    smtp: tuple[Collector, int],
) -> None:
    collector, port = smtp
    configured = _mail_settings(settings, port)
    norwegian = await _released(session, recipients["candidate"])
    english = await _released(session, recipients["grader"], "Welding 2026")
    await session.commit()

    sent = await send_due_once(
        create_sessionmaker(engine),
        SmtpMailer(configured),
        now=_clock(NOW),
        policy=MailPolicy.from_settings(configured, KINDS),
    )

    assert sent == 2
    by_recipient = {rcpt[0]: message for rcpt, message in collector.received}
    assert set(by_recipient) == {"kandidat@example.org", "grader@example.org"}
    nb = by_recipient["kandidat@example.org"]
    assert nb["Subject"] == "Eksamensresultatene dine er klare"
    assert nb["From"] == "Vakt <vakt@example.org>"
    oslo_time = format_moment(NOW, "short", "Europe/Oslo", "nb")
    body = nb.get_content()
    assert "Sveis 2026" in body and oslo_time in body and "Min side" in body
    en = by_recipient["grader@example.org"]
    assert en["Subject"] == "Your exam results are ready"
    assert format_moment(NOW, "short", "Europe/Oslo", "en") in en.get_content()

    session.expire_all()
    for notification_id in (norwegian, english):
        row = await session.get(Notification, notification_id)
        assert row is not None
        assert row.mail_state == MailState.SENT and row.mail_sent_at == NOW
        assert row.mail_attempts == 1 and row.mail_next_at is None
    # The audit log tells who got which kind of message, never what it said.
    entries = list(
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "notification")
            .order_by(AuditEntry.seq)
        )
    )
    assert [entry.action for entry in entries].count("notification.create") == 2
    assert [entry.action for entry in entries].count("notification.mail_sent") == 2
    assert not any("Sveis" in str(entry.after) for entry in entries)

    # Sent once: a further round finds nothing to do.
    again = await send_due_once(
        create_sessionmaker(engine),
        SmtpMailer(configured),
        now=_clock(NOW + timedelta(hours=1)),
        policy=MailPolicy.from_settings(configured, KINDS),
    )
    assert again == 0 and len(collector.received) == 2


@pytest.mark.asyncio
async def test_a_rolled_back_change_sends_nothing(
    session: AsyncSession,
    engine: AsyncEngine,
    recipients: dict[str, User],
    settings: Settings,
    smtp: tuple[Collector, int],
) -> None:
    collector, port = smtp
    configured = _mail_settings(settings, port)
    await _released(session, recipients["candidate"])
    await session.rollback()

    sent = await send_due_once(
        create_sessionmaker(engine),
        SmtpMailer(configured),
        now=_clock(NOW + timedelta(minutes=5)),
        policy=MailPolicy.from_settings(configured, KINDS),
    )

    assert sent == 0 and collector.received == []
    assert await session.scalar(select(Notification.id)) is None


@pytest.mark.asyncio
async def test_two_jobs_at_once_send_each_message_once(
    session: AsyncSession,
    recipients: dict[str, User],
    settings: Settings,
    smtp: tuple[Collector, int],
) -> None:
    collector, port = smtp
    configured = _mail_settings(settings, port)
    ids = [await _released(session, recipients["candidate"], f"Sitting {n}") for n in range(6)]
    await session.commit()
    # Two workers: each its own engine (its own connections), as two processes would have.
    engines = [create_engine(settings.database_url) for _ in range(2)]
    try:
        results = await asyncio.gather(
            *(
                send_due_once(
                    create_sessionmaker(worker),
                    SmtpMailer(configured),
                    now=_clock(NOW),
                    policy=MailPolicy.from_settings(configured, KINDS),
                )
                for worker in engines
            )
        )
    finally:
        for worker in engines:
            await worker.dispose()

    assert sum(results) == len(ids)
    subjects_bodies = [message.get_content() for _rcpt, message in collector.received]
    assert len(subjects_bodies) == len(ids)
    for n in range(6):
        assert sum(f"Sitting {n} " in body for body in subjects_bodies) == 1
    session.expire_all()
    rows = list(await session.scalars(select(Notification).where(Notification.id.in_(ids))))
    assert all(row.mail_state == MailState.SENT and row.mail_attempts == 1 for row in rows)


@pytest.mark.asyncio
async def test_a_server_that_is_down_is_tried_again_then_the_message_fails(
    session: AsyncSession,
    engine: AsyncEngine,
    recipients: dict[str, User],
    settings: Settings,
) -> None:
    down = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": free_port(),  # nobody listens there
            "smtp_tls": "none",
            "smtp_username": "vakt",
            "smtp_password": SecretStr(PASSWORD_VALUE),
            "smtp_timeout_seconds": 5.0,
            "mail_from": "vakt@example.org",
            "mail_retry_seconds": 60.0,
            "mail_max_attempts": 3,
        }
    )
    notification_id = await _released(session, recipients["candidate"])
    await session.commit()
    makers = create_sessionmaker(engine)
    mail_policy = MailPolicy.from_settings(down, KINDS)

    async def round_at(moment: datetime) -> Notification:
        assert (
            await send_due_once(makers, SmtpMailer(down), now=_clock(moment), policy=mail_policy)
            == 0
        )
        session.expire_all()
        row = await session.get(Notification, notification_id)
        assert row is not None
        return row

    first = await round_at(NOW)
    assert first.mail_state == MailState.PENDING and first.mail_attempts == 1
    assert first.mail_next_at == NOW + timedelta(seconds=60)
    assert first.mail_error and PASSWORD_VALUE not in first.mail_error
    # Not due yet: not tried.
    assert (await round_at(NOW + timedelta(seconds=59))).mail_attempts == 1
    second = await round_at(NOW + timedelta(seconds=60))
    assert second.mail_attempts == 2
    assert second.mail_next_at == NOW + timedelta(seconds=60 + 120)  # the wait doubles
    third = await round_at(NOW + timedelta(seconds=180))
    assert third.mail_state == MailState.FAILED and third.mail_attempts == 3
    assert third.mail_next_at is None and third.mail_error
    assert PASSWORD_VALUE not in third.mail_error
    # Still in the inbox, unread.
    candidate = await session.get(User, third.recipient_id)
    assert candidate is not None
    assert [row.id for row in await inbox(session, candidate)] == [notification_id]
    audit_text = " ".join(
        str(entry.after)
        for entry in await session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "notification")
        )
    )
    assert PASSWORD_VALUE not in audit_text


def test_a_recorded_error_never_holds_the_password() -> None:
    error = error_text(
        RuntimeError(f"535 authentication failed for vakt:{PASSWORD_VALUE}"), (PASSWORD_VALUE,)
    )
    assert PASSWORD_VALUE not in error and "***" in error and error.startswith("RuntimeError")
    assert len(error_text(RuntimeError("x" * 5000), ())) <= 500


@pytest.mark.asyncio
async def test_without_an_address_the_message_is_in_the_inbox_only(
    session: AsyncSession,
    engine: AsyncEngine,
    recipients: dict[str, User],
    settings: Settings,
    smtp: tuple[Collector, int],
) -> None:
    collector, port = smtp
    configured = _mail_settings(settings, port)
    proctor = recipients["proctor"]
    notification_id = await _released(session, proctor)
    await session.commit()
    assert (
        await send_due_once(
            create_sessionmaker(engine),
            SmtpMailer(configured),
            now=_clock(NOW),
            policy=MailPolicy.from_settings(configured, KINDS),
        )
        == 0
    )
    assert collector.received == []
    row = await session.get(Notification, notification_id)
    assert row is not None and row.mail_state == MailState.NO_ADDRESS
    assert await unread_count(session, proctor) == 1


@pytest.mark.asyncio
async def test_without_an_smtp_host_the_message_is_written_to_the_console(
    session: AsyncSession, engine: AsyncEngine, recipients: dict[str, User], settings: Settings
) -> None:
    await _released(session, recipients["candidate"])
    await session.commit()
    console = io.StringIO()
    sent = await send_due_once(
        create_sessionmaker(engine),
        ConsoleMailer(console),
        now=_clock(NOW),
        policy=MailPolicy.from_settings(settings, KINDS),
    )
    assert sent == 1
    assert "To: kandidat@example.org" in console.getvalue()
    assert "Subject: Eksamensresultatene dine er klare" in console.getvalue()


def test_two_kinds_under_one_key_are_a_programming_error() -> None:
    again = Kind(key=RESULTS_RELEASED.key, subject=_l("Other"), body=_l("Other"))
    with pytest.raises(ValueError, match="two kinds"):
        Kinds.of([RESULTS_RELEASED], [again])


@pytest.mark.asyncio
async def test_a_message_of_a_kind_no_longer_known_still_reads(
    session: AsyncSession, recipients: dict[str, User]
) -> None:
    gone = Kind(key="exam.no_longer_sent", subject=_l("Gone"), body=_l("Gone"))
    row = await notify(
        session, recipient_id=recipients["candidate"].id, kind=gone, params={}, now=NOW
    )
    assert render(row, KINDS, "en", "Europe/Oslo").subject == "You have a message from Vakt."


def test_an_smtp_host_needs_a_sender() -> None:
    with pytest.raises(ValueError, match="VAKT_MAIL_FROM"):
        Settings(smtp_host="smtp.example.org", _env_file=None)  # type: ignore[call-arg]
