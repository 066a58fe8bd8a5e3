"""A scheme's certification rules: read (the defaults until changed) and changed by the body's
staff, every change audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from certification.access import CERTIFICATION_STAFF, STAFF_ONLY
from certification.models import CertificationPolicy
from certification.schemas import CertificationRules
from exam.roles import require
from vakt.accounts import User
from vakt.scheme_settings import store_scheme_settings


async def rules_for_scheme(session: AsyncSession, scheme_id: int) -> CertificationRules:
    """The scheme's certification rules (the defaults where none are stored)."""
    row = await session.get(CertificationPolicy, scheme_id)
    return CertificationRules() if row is None else CertificationRules.model_validate(row.settings)


async def set_rules(
    session: AsyncSession,
    *,
    scheme_id: int,
    rules: CertificationRules,
    actor: User,
    now: datetime,
) -> CertificationRules:
    """Store the scheme's certification rules (audited as ``certification.rules_changed``)."""
    require(actor, CERTIFICATION_STAFF, STAFF_ONLY)
    await store_scheme_settings(
        session,
        CertificationPolicy,
        scheme_id=scheme_id,
        settings=rules.model_dump(mode="json"),
        actor_id=actor.id,
        now=now,
        action="certification.rules_changed",
    )
    return rules
