"""Accounts: argon2 hashes, clear refusals and rate-limited sign-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import PASSWORD
from vakt.accounts import Role, User, authenticate, create_user
from vakt.db import utcnow
from vakt.errors import Conflict, TooManyRequests, VaktError


async def _login(
    session: AsyncSession, username: str, password: str, address: str = "10.0.0.1"
) -> User:
    return await authenticate(
        session, username=username, password=password, address=address,
        max_per_account=3, max_per_address=5, window_start=utcnow() - timedelta(minutes=15),
    )  # fmt: skip


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


@pytest.mark.asyncio
async def test_rate_limit_per_account(session: AsyncSession, users: dict[str, User]) -> None:
    for attempt in range(3):
        with pytest.raises(VaktError):
            await _login(session, "grader", "wrong", address=f"10.0.1.{attempt}")
    with pytest.raises(TooManyRequests):
        await _login(session, "grader", PASSWORD, address="10.0.2.1")  # even the right password


@pytest.mark.asyncio
async def test_rate_limit_per_address(session: AsyncSession, users: dict[str, User]) -> None:
    for username in ["a1", "a2", "a3", "a4", "a5"]:
        with pytest.raises(VaktError):
            await _login(session, username, "wrong", address="192.0.2.7")
    with pytest.raises(TooManyRequests):
        await _login(session, "proctor", PASSWORD, address="192.0.2.7")
    assert (await _login(session, "proctor", PASSWORD, address="192.0.2.8")).username == "proctor"


@pytest.mark.asyncio
async def test_inactive_user_cannot_sign_in(session: AsyncSession, users: dict[str, User]) -> None:
    users["proctor"].is_active = False
    await session.flush()
    with pytest.raises(VaktError):
        await _login(session, "proctor", PASSWORD)
