"""Sign-in with an external identity (e-ID): accounts are found by (issuer, subject) only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import PASSWORD
from vakt import audit
from vakt.accounts import ExternalIdentity, LoginThrottle, Role, User, authenticate
from vakt.audit import AuditEntry
from vakt.db import utcnow
from vakt.errors import Forbidden, VaktError
from vakt.oidc import ExternalClaims, sign_in_external, username_base

BANKID = "https://auth.bankid.example/oidc"
OTHER = "https://idporten.example"


def _claims(sub: str = "9578-6000-4-365161", iss: str = BANKID, **extra: Any) -> dict[str, Any]:
    return {"iss": iss, "sub": sub, "name": "Kari Nordmann", **extra}


async def _sign_in(session: AsyncSession, claims: dict[str, Any]) -> User:
    return await sign_in_external(session, claims, address="10.0.0.9")


@pytest.mark.asyncio
async def test_first_sign_in_creates_a_candidate_without_a_password(
    session: AsyncSession,
) -> None:
    user = await _sign_in(
        session, _claims(email="kari@example.no", email_verified=True, locale="nb-NO")
    )
    await session.commit()
    assert user.roles == {Role.CANDIDATE}
    assert user.full_name == "Kari Nordmann"
    assert user.username == "kari.nordmann"
    assert user.email == "kari@example.no"
    assert user.language == "nb"
    assert user.password_hash is None
    identity = await session.scalar(select(ExternalIdentity))
    assert identity is not None
    assert (identity.issuer, identity.subject, identity.user_id) == (
        BANKID,
        "9578-6000-4-365161",
        user.id,
    )
    assert identity.last_login_at >= identity.created_at - timedelta(seconds=1)


@pytest.mark.asyncio
async def test_the_same_identity_signs_in_the_same_user(session: AsyncSession) -> None:
    first = await _sign_in(session, _claims())
    await session.commit()
    identity = await session.scalar(select(ExternalIdentity))
    assert identity is not None
    first_login = identity.last_login_at
    # The name at the provider may change; the account stays the same.
    again = await _sign_in(session, _claims(name="Kari Nordmann-Hansen"))
    await session.commit()
    assert again.id == first.id
    assert await session.scalar(select(func.count()).select_from(ExternalIdentity)) == 1
    await session.refresh(identity)
    assert identity.last_login_at >= first_login


@pytest.mark.asyncio
async def test_same_subject_at_another_issuer_is_another_person(session: AsyncSession) -> None:
    at_bankid = await _sign_in(session, _claims(sub="abc"))
    elsewhere = await _sign_in(session, _claims(sub="abc", iss=OTHER))
    await session.commit()
    assert at_bankid.id != elsewhere.id
    # Same name, so the second account gets the next free username.
    assert {at_bankid.username, elsewhere.username} == {"kari.nordmann", "kari.nordmann2"}


@pytest.mark.asyncio
async def test_matching_email_never_takes_over_a_password_account(
    session: AsyncSession, users: dict[str, User]
) -> None:
    admin = users["administrator"]
    admin.email = "admin@vakt.example"
    await session.commit()
    user = await _sign_in(
        session, _claims(sub="attacker", email="admin@vakt.example", email_verified=True)
    )
    await session.commit()
    assert user.id != admin.id
    assert user.roles == {Role.CANDIDATE}


@pytest.mark.asyncio
async def test_password_sign_in_is_impossible_for_an_e_id_account(session: AsyncSession) -> None:
    user = await _sign_in(session, _claims(name="Ola Nordmann"))
    await session.commit()
    for password in ("", PASSWORD, "None", user.username):
        with pytest.raises(VaktError) as refused:
            await authenticate(
                session, username=user.username, password=password, address="10.0.0.9",
                now=utcnow(), throttle=LoginThrottle(free_failures=100),
            )  # fmt: skip
        assert refused.value.status_code == 401


@pytest.mark.asyncio
async def test_creation_link_and_sign_in_are_audited(session: AsyncSession) -> None:
    user = await _sign_in(session, _claims())
    await _sign_in(session, _claims())
    await session.commit()
    entries = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "user", AuditEntry.entity_id == str(user.id))
            .order_by(AuditEntry.seq)
        )
    ).all()
    assert [entry.action for entry in entries] == [
        "user.create",
        "user.identity_link",
        "auth.login",
        "auth.login",
    ]
    link = entries[1]
    assert link.actor_id == user.id
    assert link.after is not None and link.after["issuer"] == BANKID
    assert link.after["subject"] == "9578-6000-4-365161"
    login = entries[2]
    assert login.after == {"address": "10.0.0.9", "method": "oidc", "issuer": BANKID}
    assert (await audit.verify_chain(session)).ok


@pytest.mark.asyncio
async def test_closed_account_is_refused_and_the_refusal_audited(session: AsyncSession) -> None:
    user = await _sign_in(session, _claims())
    user.is_active = False
    await session.commit()
    with pytest.raises(Forbidden):
        await _sign_in(session, _claims())
    refusal = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "auth.login_failed")
    )
    assert refusal is not None and refusal.after is not None
    assert refusal.after["reason"] == "inactive"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "x"},
        {"iss": BANKID},
        {"iss": BANKID, "sub": ""},
        {"iss": BANKID, "sub": 42},
        {"iss": BANKID, "sub": "x" * 256},
    ],
)
async def test_token_without_issuer_and_subject_is_refused(
    session: AsyncSession, claims: dict[str, Any]
) -> None:
    with pytest.raises(VaktError):
        await _sign_in(session, claims)
    assert await session.scalar(select(func.count()).select_from(ExternalIdentity)) == 0


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"name": "Kari Nordmann"}, "kari.nordmann"),
        ({"given_name": "Bjørn Ærlig", "family_name": "Østgård"}, "bjorn.aerlig.ostgard"),
        ({"name": "Zoë O'Brien-Åsen"}, "zoe.o.brien.asen"),
        ({"name": "李小龍", "email": "bruce.lee@example.com"}, "bruce.lee"),
        ({"name": "李小龍"}, "eid"),
        ({}, "eid"),
        ({"name": "x" * 300}, "x" * 40),
        ({"name": "../../etc/passwd; DROP TABLE"}, "etc.passwd.drop.table"),
    ],
)
def test_usernames_are_plain_ascii(claims: dict[str, Any], expected: str) -> None:
    parsed = ExternalClaims.from_id_token({"iss": BANKID, "sub": "s-1", **claims})
    assert username_base(parsed) == expected


def test_unverified_email_is_not_kept_and_names_fall_back() -> None:
    parsed = ExternalClaims.from_id_token(
        {"iss": BANKID, "sub": "s-1", "email": "a@b.no", "email_verified": False}
    )
    assert parsed.email is None
    assert parsed.full_name == "s-1"
    named = ExternalClaims.from_id_token(
        {"iss": BANKID, "sub": "s-1", "given_name": "Kari", "family_name": "Nordmann"}
    )
    assert named.full_name == "Kari Nordmann"
    assert named.language is None
