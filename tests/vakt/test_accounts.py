"""Accounts: argon2 hashes, clear refusals and sign-in slowed down by failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import PASSWORD
from vakt.accounts import LoginThrottle, Role, SignInThrottled, User, authenticate, create_user
from vakt.errors import Conflict, VaktError

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
THROTTLE = LoginThrottle(
    free_failures=3,
    first_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
    address_free_failures=6,
    address_max_delay=timedelta(seconds=30),
    window=timedelta(hours=1),
    timezone="Europe/Oslo",
)


async def _login(
    session: AsyncSession,
    username: str,
    password: str,
    address: str = "10.0.0.1",
    now: datetime = NOW,
) -> User:
    return await authenticate(
        session, username=username, password=password, address=address, now=now,
        throttle=THROTTLE,
    )  # fmt: skip


async def _fail(session: AsyncSession, username: str, address: str, now: datetime) -> None:
    with pytest.raises(VaktError) as wrong:
        await _login(session, username, "wrong password", address=address, now=now)
    assert wrong.value.status_code == 401


@pytest.mark.asyncio
async def test_password_is_stored_as_argon2id(session: AsyncSession) -> None:
    user = await create_user(
        session,
        username="Ola",
        full_name="Ola Nordmann",
        password="et langt passord",
        roles={Role.CANDIDATE},
    )
    assert user.username == "ola"
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert "et langt passord" not in user.password_hash


@pytest.mark.asyncio
async def test_bad_account_input_is_refused(session: AsyncSession, users: dict[str, User]) -> None:
    with pytest.raises(VaktError) as short:
        await create_user(
            session, username="x", full_name="X", password="kort", roles={Role.CANDIDATE}
        )
    assert short.value.field == "password"
    with pytest.raises(Conflict):
        await create_user(
            session, username="CANDIDATE", full_name="X", password=PASSWORD, roles={Role.CANDIDATE}
        )
    with pytest.raises(VaktError):
        await create_user(session, username="  ", full_name="X", password=PASSWORD, roles=set())


@pytest.mark.asyncio
async def test_sign_in_and_wrong_password(session: AsyncSession, users: dict[str, User]) -> None:
    assert (await _login(session, "candidate", PASSWORD)).id == users["candidate"].id
    with pytest.raises(VaktError) as wrong:
        await _login(session, "candidate", "wrong password")
    assert wrong.value.status_code == 401
    with pytest.raises(VaktError) as unknown:
        await _login(session, "nobody", PASSWORD)
    assert unknown.value.message == wrong.value.message  # no hint about which accounts exist


def test_the_wait_doubles_after_the_free_failures_up_to_the_cap() -> None:
    waits = [
        THROTTLE.delay(failures, free=3, cap=timedelta(seconds=60)).total_seconds()
        for failures in range(12)
    ]
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert THROTTLE.delay(10**6, free=3, cap=timedelta(minutes=5)) == timedelta(minutes=5)


@pytest.mark.asyncio
async def test_failures_slow_down_one_account_from_one_address(
    session: AsyncSession, users: dict[str, User]
) -> None:
    # Changed from the old rule, where 3 failures locked the account for every address: now
    # they slow down only further tries from the address they came from.
    for _ in range(3):
        await _fail(session, "grader", "10.0.1.1", NOW)
    with pytest.raises(SignInThrottled) as waiting:
        await _login(session, "grader", PASSWORD, address="10.0.1.1")  # even the right password
    assert waiting.value.status_code == 429
    assert waiting.value.retry_at == NOW + timedelta(seconds=1)
    assert waiting.value.retry_after_seconds == 1
    assert waiting.value.params == {"time": "13:00:01"}  # Oslo time, not UTC
    # The owner, elsewhere, is not held up at all: not with the right password…
    assert (await _login(session, "grader", PASSWORD, address="10.0.2.1")).username == "grader"
    # …nor with a typing error of their own.
    await _fail(session, "grader", "10.0.2.1", NOW)
    # Once the wait is over, the right password works from the first address too.
    later = NOW + timedelta(seconds=1)
    assert (await _login(session, "grader", PASSWORD, "10.0.1.1", later)).username == "grader"


@pytest.mark.asyncio
async def test_each_further_failure_doubles_the_wait(
    session: AsyncSession, users: dict[str, User]
) -> None:
    now = NOW
    for _ in range(3):
        await _fail(session, "grader", "192.0.2.1", now)
    for wait in (1, 2, 4, 8):
        with pytest.raises(SignInThrottled) as early:
            await _login(session, "grader", "wrong password", "192.0.2.1", now)
        assert early.value.retry_at == now + timedelta(seconds=wait)
        # A try refused for coming too soon tested nothing and is not counted.
        with pytest.raises(SignInThrottled):
            await _login(session, "grader", "wrong password", "192.0.2.1", now)
        now += timedelta(seconds=wait)
        await _fail(session, "grader", "192.0.2.1", now)


@pytest.mark.asyncio
async def test_a_success_starts_the_pair_afresh(
    session: AsyncSession, users: dict[str, User]
) -> None:
    for _ in range(3):
        await _fail(session, "proctor", "10.0.3.1", NOW)
    later = NOW + timedelta(seconds=1)
    await _login(session, "proctor", PASSWORD, "10.0.3.1", later)
    for _ in range(3):
        await _fail(session, "proctor", "10.0.3.1", later)


@pytest.mark.asyncio
async def test_old_failures_are_forgotten(session: AsyncSession, users: dict[str, User]) -> None:
    for _ in range(3):
        await _fail(session, "proctor", "10.0.4.1", NOW)
    after_the_window = NOW + THROTTLE.window + timedelta(seconds=1)
    for _ in range(3):
        await _fail(session, "proctor", "10.0.4.1", after_the_window)


@pytest.mark.asyncio
async def test_one_address_guessing_across_accounts_is_slowed(
    session: AsyncSession, users: dict[str, User]
) -> None:
    # Changed from the old rule, where 5 failures from an address refused it outright for the
    # whole window: now that address waits, growing from a second.
    for username in ["a1", "a2", "a3", "a4", "a5", "a6"]:
        await _fail(session, username, "192.0.2.7", NOW)
    with pytest.raises(SignInThrottled) as waiting:
        await _login(session, "proctor", PASSWORD, address="192.0.2.7")
    assert waiting.value.retry_at == NOW + timedelta(seconds=1)
    assert (await _login(session, "proctor", PASSWORD, address="192.0.2.8")).username == "proctor"
    # Signing in to an account of one's own does not forgive the address its failures.
    later = NOW + timedelta(seconds=1)
    assert (await _login(session, "proctor", PASSWORD, "192.0.2.7", later)).username == "proctor"
    await _fail(session, "a7", "192.0.2.7", later)
    with pytest.raises(SignInThrottled) as again:
        await _login(session, "a8", "wrong password", "192.0.2.7", later)
    assert again.value.retry_at == later + timedelta(seconds=2)


@pytest.mark.asyncio
async def test_the_time_to_try_again_is_rounded_up_to_a_whole_second() -> None:
    error = SignInThrottled(
        NOW + timedelta(seconds=2, microseconds=1), now=NOW, timezone="Europe/Oslo"
    )
    assert error.retry_at == NOW + timedelta(seconds=3)
    assert error.retry_after_seconds == 3
    assert error.params == {"time": "13:00:03"}


@pytest.mark.asyncio
async def test_inactive_user_cannot_sign_in(session: AsyncSession, users: dict[str, User]) -> None:
    users["proctor"].is_active = False
    await session.flush()
    with pytest.raises(VaktError):
        await _login(session, "proctor", PASSWORD)
