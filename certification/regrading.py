"""Blind re-grading on appeal: the appeal handler has the appealed parts' open answers graded
again by graders who have not seen them and do not see the earlier marks. Grading does the work
through the ``Regrading`` extension point (wired in ``web.app``); certification records which
parts each appeal had graded again, and holds the appeal's outcome, and so the new decision,
until every re-grading it ordered is finished."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy.exc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.access import APPEAL_HANDLERS
from certification.models import Appeal, AppealRegrading
from certification.schemas import AppealStatus
from exam.lookups import definition_of, parts_of
from exam.models import Attempt, AttemptPart
from exam.roles import require
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict, NotFound
from vakt.i18n import _l

NOT_FINISHED = _l(
    "The re-grading of the appealed parts is not finished yet: record the outcome when every "
    "part has its new marks."
)


class PartGrading(Protocol):
    """Where the grading of one part's open answers stands."""

    @property
    def scripts(self) -> int:
        """Open answers in the part (0: only automatically scored questions)."""
        ...

    @property
    def grading_round(self) -> int:
        """1 as handed in; more after each re-grading."""
        ...

    @property
    def finished(self) -> bool:
        """Every open answer of the latest round has its final mark."""
        ...

    @property
    def withdrawn(self) -> bool:
        """The part was withdrawn from grading (the attempt ended for cheating)."""
        ...


class Regrading(Protocol):
    """What certification asks of grading for an appeal (grading implements it)."""

    async def grading_of(
        self, session: AsyncSession, attempt_part_ids: Iterable[int]
    ) -> Mapping[int, PartGrading]:
        """How the grading of each of these parts stands."""
        ...

    async def start(
        self, session: AsyncSession, attempt_part_id: int, *, actor_id: int, now: datetime
    ) -> int:
        """Grade the part's open answers again, blindly; how many answers (a ``VaktError``
        when the part cannot be graded again)."""
        ...


@dataclass(frozen=True)
class RegradingRow:
    """One part of the appealed attempt as the appeal's page shows it."""

    part: AttemptPart
    title: str
    grading: PartGrading | None
    ordered: AppealRegrading | None

    @property
    def can_order(self) -> bool:
        """The part has open answers, all graded, and no re-grading of this appeal yet."""
        grading = self.grading
        return (
            self.ordered is None
            and grading is not None
            and grading.scripts > 0
            and grading.finished
            and not grading.withdrawn
        )


async def _attempt_of(session: AsyncSession, appeal: Appeal) -> Attempt | None:
    return await session.scalar(
        select(Attempt)
        .where(Attempt.registration_id == appeal.registration_id)
        .order_by(Attempt.id.desc())
        .limit(1)
    )


async def regrading_rows(
    session: AsyncSession, appeal: Appeal, regrading: Regrading
) -> list[RegradingRow]:
    """The handed-in parts of the appealed attempt, each with its grading and whether this
    appeal had it graded again."""
    attempt = await _attempt_of(session, appeal)
    if attempt is None:
        return []
    parts = [p for p in await parts_of(session, attempt.id) if p.submitted_at is not None]
    titles = {p.key: p.title for p in (await definition_of(session, attempt)).parts}
    grading = await regrading.grading_of(session, [p.id for p in parts])
    ordered = {
        row.attempt_part_id: row
        for row in await session.scalars(
            select(AppealRegrading).where(AppealRegrading.appeal_id == appeal.id)
        )
    }
    return [
        RegradingRow(p, titles.get(p.part_key, p.part_key), grading.get(p.id), ordered.get(p.id))
        for p in parts
    ]


async def unfinished(session: AsyncSession, appeal: Appeal, regrading: Regrading) -> bool:
    """Whether a re-grading this appeal ordered is still going on."""
    ordered = list(
        await session.scalars(
            select(AppealRegrading.attempt_part_id).where(AppealRegrading.appeal_id == appeal.id)
        )
    )
    if not ordered:
        return False
    grading = await regrading.grading_of(session, ordered)
    return any(not grading[part_id].finished for part_id in ordered)


async def order_regrading(
    session: AsyncSession,
    *,
    handler: User,
    appeal_id: int,
    attempt_part_id: int,
    now: datetime,
    regrading: Regrading,
) -> AppealRegrading:
    """Have a part of the appealed attempt graded again, blindly, while the appeal is open
    (the appeal goes into review); audited. Another attempt's part is reported as missing."""
    require(handler, APPEAL_HANDLERS, _l("Only the appeal handlers order a re-grading."))
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(_l("There is no such appeal."))
    if appeal.status not in (AppealStatus.RECEIVED, AppealStatus.IN_REVIEW):
        raise Conflict(_l("The outcome of this appeal has been recorded already."))
    attempt = await _attempt_of(session, appeal)
    part = await session.get(AttemptPart, attempt_part_id)
    if attempt is None or part is None or part.attempt_id != attempt.id:
        raise NotFound(_l("The appealed exam has no such part."))
    if await session.scalar(
        select(AppealRegrading.id).where(
            AppealRegrading.appeal_id == appeal.id,
            AppealRegrading.attempt_part_id == attempt_part_id,
        )
    ):
        raise Conflict(_l("This part is being graded again for this appeal already."))
    answers = await regrading.start(session, attempt_part_id, actor_id=handler.id, now=now)
    order = AppealRegrading(
        appeal_id=appeal.id, attempt_part_id=attempt_part_id, ordered_at=now,
        ordered_by_id=handler.id,
    )  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(order)
            await session.flush()
    except sqlalchemy.exc.IntegrityError:
        raise Conflict(_l("This part is being graded again for this appeal already.")) from None
    before = appeal.status.value
    appeal.status = AppealStatus.IN_REVIEW
    await audit.record(
        session, actor_id=handler.id, action="certification.regrading_ordered",
        entity_type="appeal", entity_id=appeal.id,
        before={"status": before},
        after={"status": appeal.status.value, "attempt_part_id": attempt_part_id,
               "answers": answers},
    )  # fmt: skip
    return order
