"""Blind re-grading: after an appeal, every open answer of a part is graded again, as new scripts
with new codes, by graders who have not seen that part before (neither marked nor reconciled any
of its scripts) and who never see the earlier marks: a re-grading script has markings of its own,
and nothing on a grader's screen leads from it to the earlier round.

The earlier round's scripts are superseded the moment the re-grading starts; they are kept, marks
and all, for the record. The part keeps its earlier result until every new script is final, and
then gets the result the new marks give (``grading.results.settle_part``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy.exc
from sqlalchemy import ColumnElement, Select, and_, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from grading.models import Marking, Reconciliation, Script, ScriptStatus
from grading.policy import rules_for_scheme
from grading.scripts import marks_needed, new_code
from vakt import audit
from vakt.errors import Conflict
from vakt.i18n import _l

NOTHING_TO_REGRADE = _l(
    "This part has no open answers to grade again: its questions are scored automatically."
)
STILL_GRADING = _l(
    "This part is still being graded: it can be graded again once its marks are final."
)
WITHDRAWN = _l("This part was withdrawn from grading: the attempt ended for cheating.")
STARTED_ALREADY = _l("The re-grading of this part has been started already.")


@dataclass(frozen=True)
class PartGrading:
    """Where the grading of one part's open answers stands."""

    attempt_part_id: int
    scripts: int
    """Open answers in the part (0: only choice questions, scored automatically)."""
    grading_round: int
    """1 as handed in; more after each blind re-grading."""
    finished: bool
    """Every script of the latest round is final."""
    withdrawn: bool
    """The attempt ended for cheating: nothing of it is graded."""


def current_scripts(attempt_part_ids: Iterable[int]) -> Select[Script]:
    """The scripts that count for these parts: the latest round of each answer."""
    return select(Script).where(
        Script.attempt_part_id.in_(list(attempt_part_ids)),
        Script.status != ScriptStatus.SUPERSEDED,
    )


async def grading_of(
    session: AsyncSession, attempt_part_ids: Iterable[int]
) -> dict[int, PartGrading]:
    """How the grading of each of these parts stands (every part named is in the answer)."""
    wanted = list(attempt_part_ids)
    found: dict[int, list[Script]] = {part_id: [] for part_id in wanted}
    for script in await session.scalars(current_scripts(wanted)):
        found[script.attempt_part_id].append(script)
    return {
        part_id: PartGrading(
            attempt_part_id=part_id,
            scripts=len(scripts),
            grading_round=max((s.grading_round for s in scripts), default=1),
            finished=all(s.status == ScriptStatus.FINAL for s in scripts),
            withdrawn=any(s.status == ScriptStatus.WITHDRAWN for s in scripts),
        )
        for part_id, scripts in found.items()
    }


async def start_regrading(
    session: AsyncSession, attempt_part_id: int, *, actor_id: int, now: datetime
) -> list[Script]:
    """Grade the part's open answers again, blindly: a new script for each (a new code, the
    scheme's number of graders), the earlier ones superseded (audited). Refused for a part
    without open answers, one still being graded and one withdrawn from grading."""
    scripts = list(await session.scalars(current_scripts([attempt_part_id]).order_by(Script.id)))
    if not scripts:
        raise Conflict(NOTHING_TO_REGRADE)
    if any(s.status == ScriptStatus.WITHDRAWN for s in scripts):
        raise Conflict(WITHDRAWN)
    if any(s.status != ScriptStatus.FINAL for s in scripts):
        raise Conflict(STILL_GRADING)
    rules = await rules_for_scheme(session, scripts[0].scheme_id)
    made = []
    try:
        async with session.begin_nested():
            for earlier in scripts:
                script = Script(
                    code=new_code(),
                    scheme_id=earlier.scheme_id,
                    sitting_id=earlier.sitting_id,
                    registration_id=earlier.registration_id,
                    attempt_part_id=earlier.attempt_part_id,
                    item_version_id=earlier.item_version_id,
                    question_id=earlier.question_id,
                    kind=earlier.kind,
                    max_points=earlier.max_points,
                    required_marks=marks_needed(rules),
                    created_at=now,
                    grading_round=earlier.grading_round + 1,
                    replaces_id=earlier.id,
                )
                earlier.status = ScriptStatus.SUPERSEDED
                session.add(script)
                made.append(script)
            await session.flush()
    except sqlalchemy.exc.IntegrityError:
        # Another request started the same round a moment earlier (unique per answer and round).
        raise Conflict(STARTED_ALREADY) from None
    for script in made:
        await audit.record(
            session,
            actor_id=actor_id,
            action="grading.regrading_started",
            entity_type="grading_script",
            entity_id=script.id,
            after={
                "attempt_part_id": attempt_part_id,
                "round": script.grading_round,
                "replaces_id": script.replaces_id,
                "marks": script.required_marks,
            },
        )
    return made


def parts_seen_by(user_id: int) -> Select[int]:
    """The parts of which this person marked or reconciled a script, in any round."""
    seen = aliased(Script)
    both = union(
        select(seen.attempt_part_id)
        .join(Marking, Marking.script_id == seen.id)
        .where(Marking.grader_id == user_id),
        select(seen.attempt_part_id)
        .join(Reconciliation, Reconciliation.script_id == seen.id)
        .where(Reconciliation.lead_id == user_id),
    ).subquery()
    return select(both.c.attempt_part_id)


def unseen_if_regraded(user_id: int) -> ColumnElement[bool]:
    """A condition on scripts: a re-grading script only for someone who has not seen its part
    (first-round scripts are governed by the one-marking-per-grader rule instead)."""
    return or_(
        Script.grading_round == 1,
        and_(Script.grading_round > 1, Script.attempt_part_id.not_in(parts_seen_by(user_id))),
    )


async def has_seen_part(session: AsyncSession, user_id: int, attempt_part_id: int) -> bool:
    """Whether this person marked or reconciled any script of the part, in any round."""
    return attempt_part_id in set(await session.scalars(parts_seen_by(user_id)))


class BlindRegrading:
    """Certification's ``Regrading`` extension point, done by grading."""

    async def grading_of(
        self, session: AsyncSession, attempt_part_ids: Iterable[int]
    ) -> dict[int, PartGrading]:
        """How the grading of each of these parts stands."""
        return await grading_of(session, attempt_part_ids)

    async def start(
        self, session: AsyncSession, attempt_part_id: int, *, actor_id: int, now: datetime
    ) -> int:
        """Grade the part's open answers again, blindly; how many answers."""
        return len(await start_regrading(session, attempt_part_id, actor_id=actor_id, now=now))
