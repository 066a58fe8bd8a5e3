"""Sessions on the server: only a digest stored, ended for good, idle and absolute timeouts,
"last seen" written sparingly, and password changes that end the other sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import PASSWORD
from vakt.accounts import LoginAttempt, LoginThrottle, SignInThrottled, User
from vakt.audit import AuditEntry
from vakt.errors import Conflict, VaktError
from vakt.oidc import sign_in_external
from vakt.sessions import (
    EndReason,
    SessionPolicy,
    UserSession,
    active_session_counts,
    change_password,
    end_session,
    end_sessions,
    resolve_session,
    sessions_of,
    start_session,
    token_digest,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
POLICY = SessionPolicy(idle=timedelta(minutes=30), lifetime=timedelta(hours=8))
NEW_PASSWORD = "a brand new passphrase"


async def _start(session: AsyncSession, user: User, now: datetime = NOW) -> str:
    return await start_session(
        session, user, now=now, policy=POLICY, address="10.0.0.1", user_agent="Firefox"
    )


async def _resolve(session: AsyncSession, token: str, now: datetime) -> User | None:
    found = await resolve_session(session, token, now=now, policy=POLICY, activity=None)
    return found.user if found else None


async def _change(
    session: AsyncSession,
    user: User,
    *,
    current: str = PASSWORD,
    new: str = NEW_PASSWORD,
    repeated: str | None = None,
    keep: UserSession | None = None,
    now: datetime = NOW,
) -> int:
    return await change_password(
        session, user, current=current, new=new,
        repeated=new if repeated is None else repeated, keep=keep, address="10.0.0.1",
        now=now, throttle=LoginThrottle(free_failures=2),
    )  # fmt: skip


@pytest.mark.asyncio
async def test_only_a_digest_of_the_id_is_stored(
    session: AsyncSession, users: dict[str, User]
) -> None:
    token = await _start(session, users["candidate"])
    assert len(token) >= 43
    row = await session.scalar(select(UserSession))
    assert row is not None
    assert row.token_digest == token_digest(token) != token
    assert token not in (row.token_digest, row.address, row.user_agent)
    assert (row.created_at, row.last_seen_at, row.expires_at) == (NOW, NOW, NOW + POLICY.lifetime)
    assert await _resolve(session, token, NOW) == users["candidate"]
    assert await _resolve(session, token_digest(token), NOW) is None  # the digest opens nothing
    assert await _resolve(session, "made-up", NOW) is None


@pytest.mark.asyncio
async def test_the_user_and_roles_come_with_the_session(
    session: AsyncSession, users: dict[str, User]
) -> None:
    token = await _start(session, users["writer_reviewer"])
    await session.commit()
    session.expunge_all()  # nothing from before: the roles must come with the lookup
    found = await resolve_session(session, token, now=NOW, policy=POLICY, activity=None)
    assert found is not None
    assert {role.value for role in found.user.roles} == {"item_writer", "item_reviewer"}


@pytest.mark.asyncio
async def test_an_ended_session_stays_ended(session: AsyncSession, users: dict[str, User]) -> None:
    token = await _start(session, users["candidate"])
    found = await resolve_session(session, token, now=NOW, policy=POLICY, activity=None)
    assert found is not None
    later = NOW + timedelta(minutes=1)
    await end_session(
        session, found.row, now=later, reason=EndReason.SIGNED_OUT, actor_id=found.user.id
    )
    assert (found.row.ended_at, found.row.ended_reason) == (later, "signed_out")
    assert await _resolve(session, token, later) is None
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "auth.session_ended")
    )
    assert entry is not None and entry.after == {"reason": "signed_out", "session": found.row.id}


@pytest.mark.asyncio
async def test_idle_and_absolute_timeouts(session: AsyncSession, users: dict[str, User]) -> None:
    token = await _start(session, users["candidate"])
    # Used every 29 minutes, it lives until its absolute end…
    moment = NOW
    while moment + timedelta(minutes=29) < NOW + POLICY.lifetime:
        moment += timedelta(minutes=29)
        assert await _resolve(session, token, moment) is not None, moment
    assert await _resolve(session, token, NOW + POLICY.lifetime) is None
    # …and left alone for longer than the idle timeout, it is over.
    idle = await _start(session, users["proctor"])
    assert await _resolve(session, idle, NOW + POLICY.idle) is not None
    assert await _resolve(session, idle, NOW + 2 * POLICY.idle + timedelta(seconds=1)) is None


@pytest.mark.asyncio
async def test_an_idle_session_does_not_come_back(
    session: AsyncSession, users: dict[str, User]
) -> None:
    token = await _start(session, users["candidate"])
    assert await _resolve(session, token, NOW + POLICY.idle + timedelta(seconds=1)) is None
    # The refused request did not count as use.
    assert await _resolve(session, token, NOW + POLICY.idle + timedelta(seconds=2)) is None


@pytest.mark.asyncio
async def test_last_seen_is_written_at_most_once_a_minute(
    session: AsyncSession, users: dict[str, User]
) -> None:
    token = await _start(session, users["candidate"])
    found = await resolve_session(
        session, token, now=NOW + timedelta(seconds=59), policy=POLICY, activity=None
    )
    assert found is not None and found.row.last_seen_at == NOW
    assert not session.dirty
    found = await resolve_session(
        session, token, now=NOW + timedelta(seconds=60), policy=POLICY, activity=None
    )
    assert found is not None and found.row.last_seen_at == NOW + timedelta(seconds=60)


@pytest.mark.asyncio
async def test_an_inactive_user_is_signed_out(
    session: AsyncSession, users: dict[str, User]
) -> None:
    token = await _start(session, users["proctor"])
    users["proctor"].is_active = False
    await session.flush()
    assert await _resolve(session, token, NOW) is None


@pytest.mark.asyncio
async def test_ending_every_session_of_a_user(
    session: AsyncSession, users: dict[str, User]
) -> None:
    candidate = users["candidate"]
    kept, first, second = [await _start(session, candidate) for _ in range(3)]
    old = await _start(session, candidate, now=NOW - POLICY.lifetime)  # ran out long ago
    other = await _start(session, users["proctor"])
    now = NOW + timedelta(minutes=5)
    counts = await active_session_counts(session, now=now, policy=POLICY)
    assert counts == {candidate.id: 3, users["proctor"].id: 1}
    keep = await resolve_session(session, kept, now=now, policy=POLICY, activity=None)
    assert keep is not None
    ended = await end_sessions(
        session, candidate.id, now=now, reason=EndReason.ENDED_BY_ADMINISTRATOR,
        actor_id=users["administrator"].id, keep=keep.row,
    )  # fmt: skip
    assert ended == 2
    for token in (first, second, old):
        assert await _resolve(session, token, now) is None
    assert await _resolve(session, kept, now) == candidate
    assert await _resolve(session, other, now) == users["proctor"]
    assert [row.id for row in await sessions_of(session, candidate.id, now=now, policy=POLICY)] == [
        keep.row.id
    ]
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "auth.sessions_ended")
    )
    assert entry is not None and entry.actor_id == users["administrator"].id
    assert entry.entity_id == str(candidate.id)
    assert entry.after == {"reason": "ended_by_administrator", "count": 2}


@pytest.mark.asyncio
async def test_a_password_change_ends_the_other_sessions(
    session: AsyncSession, users: dict[str, User]
) -> None:
    user = users["grader"]
    here, elsewhere = await _start(session, user), await _start(session, user)
    current = await resolve_session(session, here, now=NOW, policy=POLICY, activity=None)
    assert current is not None
    assert await _change(session, user, keep=current.row) == 1
    assert await _resolve(session, here, NOW) == user
    assert await _resolve(session, elsewhere, NOW) is None
    ended = await session.scalar(select(UserSession).where(UserSession.id != current.row.id))
    assert ended is not None and ended.ended_reason == EndReason.PASSWORD_CHANGED
    actions = set(await session.scalars(select(AuditEntry.action)))
    assert {"auth.password_changed", "auth.sessions_ended"} <= actions
    # The old password no longer works; the new one does.
    with pytest.raises(VaktError):
        await _change(session, user, current=PASSWORD, new="yet another passphrase")
    again = await _change(
        session, user, current=NEW_PASSWORD, new="yet another passphrase", keep=current.row
    )
    assert again == 0


@pytest.mark.asyncio
async def test_a_password_change_refuses_bad_input(
    session: AsyncSession, users: dict[str, User]
) -> None:
    user = users["grader"]
    before = user.password_hash
    with pytest.raises(VaktError) as mismatch:
        await _change(session, user, repeated="something else entirely")
    assert mismatch.value.field == "new_password"
    with pytest.raises(VaktError) as short:
        await _change(session, user, new="kort")
    assert short.value.field == "password"
    with pytest.raises(VaktError) as wrong:
        await _change(session, user, current="not my password")
    assert wrong.value.field == "current_password" and wrong.value.status_code == 400
    assert user.password_hash == before
    # Only the wrong current password was a guess; typing errors in the new one were not.
    attempts = (await session.scalars(select(LoginAttempt))).all()
    assert [(a.username, a.succeeded) for a in attempts] == [("grader", False)]


@pytest.mark.asyncio
async def test_guessing_the_current_password_is_slowed_down(
    session: AsyncSession, users: dict[str, User]
) -> None:
    user = users["grader"]
    for _ in range(2):
        with pytest.raises(VaktError):
            await _change(session, user, current="a guess at it")
    with pytest.raises(SignInThrottled) as waiting:
        await _change(session, user)  # even the right one, until the wait is over
    assert waiting.value.retry_at == NOW + timedelta(seconds=1)
    assert await _change(session, user, now=NOW + timedelta(seconds=1)) == 0


@pytest.mark.asyncio
async def test_an_e_id_account_has_no_password_to_change(session: AsyncSession) -> None:
    user = await sign_in_external(
        session, {"iss": "https://eid.example", "sub": "kari", "name": "Kari"}, address="x"
    )
    with pytest.raises(Conflict) as refused:
        await _change(session, user, current="")
    assert "no password" in refused.value.message.msgid
