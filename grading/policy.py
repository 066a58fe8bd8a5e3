"""A scheme's grading rules: how many graders per script, the tolerance between two marks, how
two marks become one, how long a claim lasts. Data, never code: the defaults until changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from exam.roles import require
from grading.access import GRADING_ADMINISTRATORS, REFUSED
from grading.models import GradingPolicy
from grading.schemas import GradingRules
from vakt import audit
from vakt.accounts import User
from vakt.errors import VaktError
from vakt.i18n import _l


async def rules_for_scheme(session: AsyncSession, scheme_id: int) -> GradingRules:
    """The scheme's grading rules (the defaults until staff change them)."""
    row = await session.get(GradingPolicy, scheme_id)
    return GradingRules.model_validate(row.settings) if row else GradingRules()


def validate_rules(values: dict[str, Any]) -> GradingRules:
    """The rules these values describe; a 422 naming the first field at fault."""
    try:
        return GradingRules.model_validate(values)
    except ValidationError as error:
        where = str(error.errors()[0]["loc"][0]) if error.errors()[0]["loc"] else ""
        raise VaktError(
            _l("{name}: the value is missing, not allowed, or outside the allowed range."),
            field=where or None,
            status_code=422,
            name=where,
        ) from None


async def set_rules(
    session: AsyncSession, *, scheme_id: int, values: dict[str, Any], actor: User, now: datetime
) -> GradingRules:
    """Change a scheme's grading rules (audited); scripts made before keep how many graders
    they were given."""
    require(actor, GRADING_ADMINISTRATORS, REFUSED)
    rules = validate_rules(values)
    row = await session.get(GradingPolicy, scheme_id)
    before = row.settings if row else None
    settings = rules.model_dump(mode="json")
    if row is None:
        session.add(
            GradingPolicy(
                scheme_id=scheme_id, settings=settings, updated_at=now, updated_by_id=actor.id
            )
        )
    else:
        row.settings, row.updated_at, row.updated_by_id = settings, now, actor.id
    await audit.record(
        session,
        actor_id=actor.id,
        action="grading.rules_changed",
        entity_type="scheme",
        entity_id=scheme_id,
        before=before,
        after=settings,
    )
    return rules
