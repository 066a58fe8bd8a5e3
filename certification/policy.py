"""A scheme's certification rules: read (the defaults until changed) and changed by the body's
staff, every change audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from certification.access import CERTIFICATION_STAFF, STAFF_ONLY
from certification.models import CertificationPolicy
from certification.schemas import CertificationRules
from exam.roles import require
from itembank.schemes import get_scheme
from vakt.accounts import User
from vakt.errors import VaktError
from vakt.i18n import LazyText, _l
from vakt.scheme_settings import store_scheme_settings
from vakt.validation import error_messages

RULE_LABELS: dict[str, LazyText] = {
    "validity_months": _l("Months a certificate is valid"),
    "completion_months": _l("Months to meet every requirement, from the first passed part"),
    "fee_required": _l("The fee must be paid (or waived) before certification"),
    "register_public": _l("Valid certificates are listed in the public register"),
    "appeal_days": _l("Days to appeal after the result is sent"),
    "recertification_months_before": _l("Recertification opens, months before expiry"),
    "recertification_months_after": _l("Recertification closes, months after expiry"),
}
"""The rules' names as people read them (the staff's form and its error messages)."""


async def rules_for_scheme(session: AsyncSession, scheme_id: int) -> CertificationRules:
    """The scheme's certification rules (the defaults where none are stored)."""
    row = await session.get(CertificationPolicy, scheme_id)
    return CertificationRules() if row is None else CertificationRules.model_validate(row.settings)


def validate_rules(values: dict[str, Any]) -> CertificationRules:
    """The rules these values describe; a 422 naming the first field at fault in words."""
    try:
        return CertificationRules.model_validate(values)
    except ValidationError as error:
        location = error.errors(include_url=False)[0]["loc"]
        messages = error_messages(error, labels=RULE_LABELS)
        raise VaktError(
            _l("{problem}"),
            field=str(location[0]) if location else None,
            status_code=422,
            details=list(messages[1:]),
            problem=messages[0],
        ) from None


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
    await get_scheme(session, scheme_id)
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
