"""Sign-in with an external identity (national e-ID through OpenID Connect): the account side.

The web layer runs the OpenID Connect flow and verifies the ID token; this module gets the verified
claims and finds, or creates, the account they belong to. No HTTP here.

An identity is the pair (issuer, subject): OpenID Connect promises that ``sub`` never changes and
is never reused *within one issuer*, so that pair, and nothing else, names a person. In particular
an identity is never linked to an existing account because the e-mail addresses match: the e-mail
claim is whatever the person typed at the provider (often unverified), so trusting it would let
anyone who controls a provider account with a staff member's address take over that staff
account. Linking an existing account to an e-ID must be a deliberate act by its owner or an
administrator.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vakt import audit
from vakt.accounts import ExternalIdentity, Role, User, create_user
from vakt.db import utcnow
from vakt.errors import Forbidden, VaktError
from vakt.i18n import _l, normalise_language

MAX_ISSUER_LENGTH = 500
MAX_SUBJECT_LENGTH = 255
USERNAME_BASE_LENGTH = 40
FALLBACK_USERNAME = "eid"
# Letters NFKD does not split into a base letter and an accent.
_TRANSLITERATE = str.maketrans(
    {"æ": "ae", "ø": "o", "ð": "d", "þ": "th", "ß": "ss", "đ": "d", "ł": "l", "œ": "oe"}
)
_NOT_USERNAME = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ExternalClaims:
    """What Vakt uses from a verified ID token."""

    issuer: str
    subject: str
    full_name: str
    email: str | None
    language: str | None

    @classmethod
    def from_id_token(cls, claims: Mapping[str, Any]) -> ExternalClaims:
        """Pick and check the claims; refuse a token without a usable issuer and subject."""
        issuer = claims.get("iss")
        subject = claims.get("sub")
        if not (
            isinstance(issuer, str)
            and isinstance(subject, str)
            and 0 < len(issuer) <= MAX_ISSUER_LENGTH
            and 0 < len(subject) <= MAX_SUBJECT_LENGTH
        ):
            raise VaktError(_l("The e-ID service did not say who you are. Please try again."))
        email = _text(claims, "email")
        if claims.get("email_verified") is False or (email is not None and len(email) > 254):
            # Kept only as contact information, and only when the provider vouches for it.
            email = None
        locale = _text(claims, "locale")
        return cls(
            issuer=issuer,
            subject=subject,
            full_name=_full_name(claims) or email or subject,
            email=email,
            language=normalise_language(locale) if locale else None,
        )


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _full_name(claims: Mapping[str, Any]) -> str | None:
    name = _text(claims, "name")
    if name is None:
        parts = [_text(claims, "given_name"), _text(claims, "family_name")]
        name = " ".join(part for part in parts if part) or None
    return name[:200] if name else None


def username_base(claims: ExternalClaims) -> str:
    """A readable username stem from the person's name (or e-mail), in plain ASCII.

    Only letters, digits and dots survive, so the result is safe in URLs, logs and the
    username column whatever the provider sends.
    """
    sources = [claims.full_name if claims.full_name != claims.subject else None]
    if claims.email:
        sources.append(claims.email.partition("@")[0])
    for source in sources:
        if not source:
            continue
        folded = unicodedata.normalize("NFKD", source.lower().translate(_TRANSLITERATE))
        ascii_only = folded.encode("ascii", "ignore").decode("ascii")
        stem = _NOT_USERNAME.sub(".", ascii_only).strip(".")[:USERNAME_BASE_LENGTH].strip(".")
        if len(stem) >= 2:
            return stem
    return FALLBACK_USERNAME


async def free_username(session: AsyncSession, base: str) -> str:
    """``base``, or ``base2``, ``base3``… : the first one nobody has."""
    taken = set(await session.scalars(select(User.username).where(User.username.startswith(base))))
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"


async def find_identity(
    session: AsyncSession, *, issuer: str, subject: str
) -> ExternalIdentity | None:
    """The identity (issuer, subject), with its user, or None."""
    found: ExternalIdentity | None = await session.scalar(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject
        )
    )
    return found


async def _create_account(session: AsyncSession, claims: ExternalClaims) -> ExternalIdentity:
    user = await create_user(
        session,
        username=await free_username(session, username_base(claims)),
        full_name=claims.full_name,
        # No password: the account signs in only through its e-ID (authenticate() refuses
        # accounts without a hash).
        password=None,
        roles={Role.CANDIDATE},
        email=claims.email,
        language=claims.language,
    )
    identity = ExternalIdentity(user=user, issuer=claims.issuer, subject=claims.subject)
    session.add(identity)
    await session.flush()
    await audit.record(
        session,
        actor_id=user.id,
        action="user.identity_link",
        entity_type="user",
        entity_id=user.id,
        after={"identity_id": identity.id, "issuer": claims.issuer, "subject": claims.subject},
    )
    return identity


async def sign_in_external(
    session: AsyncSession, claims: Mapping[str, Any], *, address: str
) -> User:
    """Sign in the person a verified ID token names; a first sign-in creates a candidate account.

    ``claims`` must already be verified (signature, issuer, audience, expiry, nonce). Raises
    ``VaktError`` for an unusable token and ``Forbidden`` for a closed account. Two first
    sign-ins of the same person at the same moment can collide on the unique constraints when
    the session flushes or commits; the caller may roll back and call again.
    """
    parsed = ExternalClaims.from_id_token(claims)
    identity = await find_identity(session, issuer=parsed.issuer, subject=parsed.subject)
    if identity is None:
        identity = await _create_account(session, parsed)
    user = identity.user
    details = {"address": address, "method": "oidc", "issuer": parsed.issuer}
    if not user.is_active:
        await audit.record(
            session,
            actor_id=None,
            action="auth.login_failed",
            entity_type="user",
            entity_id=user.id,
            after={**details, "reason": "inactive"},
        )
        raise Forbidden(_l("This account is closed. Contact the certification body."))
    identity.last_login_at = utcnow()
    await audit.record(
        session,
        actor_id=user.id,
        action="auth.login",
        entity_type="user",
        entity_id=user.id,
        after=details,
    )
    return user
