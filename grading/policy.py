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
from grading.schemas import GradingRules, MarksPerScript
from itembank.schemes import get_scheme
from vakt.accounts import User
from vakt.errors import VaktError
from vakt.i18n import LazyText, _l
from vakt.scheme_settings import store_scheme_settings
from vakt.validation import error_messages

RULE_LABELS: dict[str, LazyText] = {
    "marks_per_script": _l("Graders per script"),
    "double_share_percent": _l("Share of scripts with a second grader (%)"),
    "tolerance_percent": _l("Largest difference between two marks (% of the script's points)"),
    "final_rule": _l("Final mark from two marks within the difference"),
    "claim_minutes": _l("Minutes a grader has to submit a claimed script"),
}
"""The rules' names as people read them (the staff's form and its error messages)."""

_RULE_MESSAGES: dict[str, LazyText] = {
    # The form's choices are named in words, never by their stored values.
    "enum": _l("choose one of the options"),
}


async def rules_for_scheme(session: AsyncSession, scheme_id: int) -> GradingRules:
    """The scheme's grading rules (the defaults until staff change them)."""
    row = await session.get(GradingPolicy, scheme_id)
    return GradingRules.model_validate(row.settings) if row else GradingRules()


def validate_rules(values: dict[str, Any]) -> GradingRules:
    """The rules these values describe; a 422 naming the first field at fault in words
    (``RULE_LABELS``) and saying what is wrong with it."""
    try:
        rules = GradingRules.model_validate(values)
    except ValidationError as error:
        location = error.errors(include_url=False)[0]["loc"]
        messages = error_messages(error, custom=_RULE_MESSAGES, labels=RULE_LABELS)
        raise VaktError(
            _l("{problem}"),
            field=str(location[0]) if location else None,
            status_code=422,
            details=list(messages[1:]),
            problem=messages[0],
        ) from None
    if rules.marks_per_script == MarksPerScript.TWO_FOR_A_SHARE and not (
        0 < rules.double_share_percent < 100
    ):
        # 0 % or 100 % is one or two graders for every script: said so, not hidden in a share.
        raise VaktError(
            _l(
                "With a second grader for a share of the scripts, the share must be between "
                "1 and 99 %. For none or all of them, choose one or two graders per script."
            ),
            field="double_share_percent",
            status_code=422,
        )
    return rules


async def set_rules(
    session: AsyncSession, *, scheme_id: int, values: dict[str, Any], actor: User, now: datetime
) -> GradingRules:
    """Change a scheme's grading rules (audited); scripts made before keep how many graders
    they were given."""
    require(actor, GRADING_ADMINISTRATORS, REFUSED)
    await get_scheme(session, scheme_id)
    rules = validate_rules(values)
    await store_scheme_settings(
        session,
        GradingPolicy,
        scheme_id=scheme_id,
        settings=rules.model_dump(mode="json"),
        actor_id=actor.id,
        now=now,
        action="grading.rules_changed",
    )
    return rules
