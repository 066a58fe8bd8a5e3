"""Marking a claimed script by the grading guide: a mark per criterion within its range and a
comment, saved as the grader goes (an older save never overwrites a newer one) and open to
change until submitted. When every marking a script needs is in, the marks agree (the final
mark follows the scheme's rule) or go to a lead grader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.roles import require
from grading.access import GRADERS, REFUSED
from grading.holds import NO_HOLDS, IdentityHolds
from grading.models import Marking, MarkingStatus, Script, ScriptStatus
from grading.policy import rules_for_scheme
from grading.quality import when_graded
from grading.results import settle_part
from grading.schemas import FinalRule
from grading.scripts import open_question_of, script_by_code
from itembank.schemas import GradingGuide
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l
from vakt.text import storable

MAX_COMMENT = 10_000


@dataclass(frozen=True)
class Scale:
    """What a script's marks are given against: each criterion's most points (one overall mark
    when the guide has no criteria), and the question's points they add up to."""

    maxima: list[float]
    points: float

    @classmethod
    def of(cls, guide: GradingGuide, points: float) -> Scale:
        """The scale of a question's guide."""
        maxima = [criterion.max_points for criterion in guide.criteria]
        return cls(maxima or [points], points)

    def total(self, marks: list[float]) -> float:
        """The script's points from complete marks: the criteria's sum, scaled to the question's
        points when the guide's criteria add up to something else."""
        most = sum(self.maxima)
        if most <= 0:
            return 0.0
        return round(sum(marks) * self.points / most, 4)


async def own_marking(session: AsyncSession, code: str, grader: User) -> tuple[Marking, Script]:
    """The grader's own marking of the script with this code; a 404 for anyone else's."""
    require(grader, GRADERS, REFUSED)
    script = await script_by_code(session, code)
    marking = await session.scalar(
        select(Marking).where(Marking.script_id == script.id, Marking.grader_id == grader.id)
    )
    if marking is None:
        raise NotFound(_l("No such script."))
    return marking, script


def _still_open(marking: Marking, now: datetime) -> None:
    if marking.submitted_at is not None:
        raise Conflict(_l("Your marks on this script are submitted; they can no longer change."))
    if marking.expires_at < now:
        raise Conflict(
            _l(
                "Your claim on this script ran out and it went back to the queue. "
                "Claim a script again."
            )
        )


def whole_if_whole(points: float) -> float | int:
    """Points as a message shows them: 6, not 6.0 (halves stay 2.5)."""
    return int(points) if float(points).is_integer() else points


def check_marks(values: object, scale: Scale) -> list[float | None]:
    """The marks, each within its criterion's range (None: not marked yet); a 400 naming the
    criterion (``marks.N``) for one that is not a number or out of range."""
    if not isinstance(values, list) or len(values) != len(scale.maxima):
        raise VaktError(
            _l("Give one mark for each criterion ({count})."),
            field="marks",
            count=len(scale.maxima),
        )
    checked: list[float | None] = []
    for index, (value, most) in enumerate(zip(values, scale.maxima, strict=True)):
        if value is None or value == "":
            checked.append(None)
            continue
        number = number_of(value)
        if number is None:
            raise VaktError(
                _l("Criterion {number}: the mark must be a number."),
                field=f"marks.{index}",
                number=index + 1,
            )
        if not 0 <= number <= most:
            raise VaktError(
                _l("Criterion {number}: the mark must be from 0 to {most}."),
                field=f"marks.{index}",
                number=index + 1,
                most=whole_if_whole(most),
            )
        checked.append(number)
    return checked


def number_of(value: object) -> float | None:
    """A mark typed or sent as a number (a decimal comma is fine); None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip().replace(",", "."))
        else:
            return None
    except (ValueError, OverflowError):  # not a number, or an integer beyond any float
        return None
    return number if math.isfinite(number) else None


async def save_marks(
    session: AsyncSession,
    *,
    code: str,
    grader: User,
    marks: object,
    comment: str,
    sequence: int,
    now: datetime,
) -> Marking:
    """Save the grader's marks and comment as they are now (autosave; an older ``sequence``
    never overwrites a newer save). Marks may be incomplete until submitted; each change of
    the marks is audited."""
    marking, script = await own_marking(session, code, grader)
    _still_open(marking, now)
    question = await open_question_of(session, script)
    checked = check_marks(marks, Scale.of(question.guide, script.max_points))
    storable(comment, "comment")
    if len(comment) > MAX_COMMENT:
        raise VaktError(
            _l("The comment may have at most {count} characters."), field="comment",
            count=MAX_COMMENT,
        )  # fmt: skip
    if sequence <= marking.sequence:
        return marking
    changed = checked != marking.marks
    before = {"slot": marking.slot, "marks": marking.marks}
    marking.marks, marking.comment = checked, comment
    marking.sequence, marking.saved_at = sequence, now
    if changed:
        # Each change of a mark is on the record; the comment is, as submitted. Last, so the
        # audit log's head is held for as short a time as may be (see ``vakt.audit``).
        await audit.record(
            session,
            actor_id=grader.id,
            action="grading.marks_changed",
            entity_type="grading_script",
            entity_id=script.id,
            before=before,
            after={"slot": marking.slot, "marks": checked},
        )
    return marking


async def submit_marks(
    session: AsyncSession,
    *,
    code: str,
    grader: User,
    now: datetime,
    holds: IdentityHolds = NO_HOLDS,
) -> Marking:
    """Submit the grader's marks: every criterion must be marked. Audited with the marks; when
    it is the script's last marking, the marks are compared and the script settled (its part's
    result waits while the registration is held). The entries are appended after every other
    write (``audit.deferred``)."""
    async with audit.deferred(session):
        marking, script = await own_marking(session, code, grader)
        _still_open(marking, now)
        await _lock_script(session, script)
        question = await open_question_of(session, script)
        scale = Scale.of(question.guide, script.max_points)
        marks = check_marks(marking.marks, scale)
        missing = [index for index, mark in enumerate(marks) if mark is None]
        if missing:
            raise VaktError(
                _l("Criterion {number} has no mark yet."),
                field=f"marks.{missing[0]}",
                number=missing[0] + 1,
            )
        complete = [mark for mark in marks if mark is not None]
        marking.total = scale.total(complete)
        marking.status, marking.submitted_at = MarkingStatus.SUBMITTED, now
        await audit.record(
            session,
            actor_id=grader.id,
            action="grading.marks_submitted",
            entity_type="grading_script",
            entity_id=script.id,
            after={"slot": marking.slot, "marks": complete, "total": marking.total,
                   "comment": marking.comment},
        )  # fmt: skip
        await _compare(session, script, now=now, holds=holds)
    return marking


async def save_and_submit(
    session: AsyncSession,
    *,
    code: str,
    grader: User,
    marks: object,
    comment: str,
    sequence: int,
    now: datetime,
    holds: IdentityHolds = NO_HOLDS,
) -> Marking:
    """Save the marks as they are on the grader's screen, then submit them (the form's
    Submit: what was typed last is what is submitted)."""
    _marking, script = await own_marking(session, code, grader)
    # Before the audit log's head (see ``_lock_script``).
    await _lock_script(session, script)
    async with audit.deferred(session):
        await save_marks(
            session, code=code, grader=grader, marks=marks, comment=comment, sequence=sequence,
            now=now,
        )  # fmt: skip
        return await submit_marks(session, code=code, grader=grader, now=now, holds=holds)


async def _lock_script(session: AsyncSession, script: Script) -> None:
    """Take the script's row before the audit log's head row (PostgreSQL; SQLite writes one
    transaction at a time). A claim holds the script rows it locked, the one it took and any it
    skipped after rechecking them, until it has appended to the audit log; a submit holding the
    head while it waits for such a row, to make the script final, would deadlock with it. The
    lock also has the last two submits of a script compare their marks one after the other."""
    await session.execute(
        select(Script.id).where(Script.id == script.id).with_for_update(key_share=True)
    )


async def _compare(
    session: AsyncSession, script: Script, *, now: datetime, holds: IdentityHolds
) -> None:
    """When every marking the script needs is submitted: agree on the final mark by the
    scheme's rule, or send the script to a lead grader."""
    totals = [
        total
        for total in await session.scalars(
            select(Marking.total).where(
                Marking.script_id == script.id, Marking.submitted_at.is_not(None)
            )
        )
        if total is not None
    ]
    if len(totals) < script.required_marks:
        return
    rules = await rules_for_scheme(session, script.scheme_id)
    tolerance = script.max_points * rules.tolerance_percent / 100
    if len(totals) > 1 and max(totals) - min(totals) > tolerance + 1e-9:
        script.status = ScriptStatus.RECONCILIATION
        await audit.record(
            session,
            actor_id=None,
            action="grading.sent_to_reconciliation",
            entity_type="grading_script",
            entity_id=script.id,
            after={"totals": totals, "tolerance": tolerance},
        )
        return
    final = min(totals) if rules.final_rule is FinalRule.LOWER else sum(totals) / len(totals)
    await finalize(
        session, script, round(final, 4), now=now, how=rules.final_rule.value, holds=holds
    )


async def finalize(
    session: AsyncSession,
    script: Script,
    points: float,
    *,
    now: datetime,
    how: str,
    holds: IdentityHolds = NO_HOLDS,
) -> None:
    """Fix the script's final mark and settle its part's result if every script is final; the
    sitting's last script to become final has its assessment's figures computed."""
    script.status, script.final_points, script.finalized_at = ScriptStatus.FINAL, points, now
    await audit.record(
        session,
        actor_id=None,
        action="grading.script_final",
        entity_type="grading_script",
        entity_id=script.id,
        after={"points": points, "by": how},
    )
    await settle_part(session, script.attempt_part_id, now=now, holds=holds)
    await when_graded(session, script.sitting_id, now=now)
