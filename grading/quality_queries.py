"""What the pages about the assessment's quality show, read from the stored snapshots: the
staff's statistics page of a sitting with its CSV files, and an item version's figures across
sittings for the bank's item page (``SnapshotStatistics``, the bank's ``VersionStatistics``).

For the staff only: graders are named here, and candidates in the scores' export.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.lookups import get_sitting
from exam.models import Attempt, AttemptPart, AttemptStatus, Registration, Sitting
from grading.models import GraderAgreement, ItemStatistics, PartStatistics, StatisticsSnapshot
from itembank import blueprints, quality
from itembank.models import ItemVersion, Scheme
from vakt.accounts import User


class SnapshotStatistics:
    """An item version's figures in every sitting whose statistics were computed (the bank's
    ``itembank.quality.VersionStatistics``)."""

    async def of_version(
        self, session: AsyncSession, version_id: int
    ) -> list[quality.VersionFigures]:
        """The version's figures per sitting, oldest sitting first."""
        rows = await session.execute(
            select(ItemStatistics, StatisticsSnapshot, Sitting)
            .join(StatisticsSnapshot, StatisticsSnapshot.id == ItemStatistics.snapshot_id)
            .join(Sitting, Sitting.id == StatisticsSnapshot.sitting_id)
            .where(ItemStatistics.item_version_id == version_id)
            .order_by(Sitting.opens_at, Sitting.id, ItemStatistics.part_key)
        )
        return [figures_of(item, snapshot, sitting) for item, snapshot, sitting in rows]


def figures_of(
    item: ItemStatistics, snapshot: StatisticsSnapshot, sitting: Sitting
) -> quality.VersionFigures:
    """A stored item row as the bank's figures of one sitting."""
    return quality.VersionFigures(
        source_id=sitting.id,
        source=sitting.name,
        measured_at=snapshot.computed_at,
        part_key=item.part_key,
        responses=item.responses,
        max_points=item.max_points,
        facility=item.facility,
        discrimination=item.discrimination,
        mean=item.mean,
        sd=item.sd,
        choice_shares=dict(item.choice_shares or {}),
    )


@dataclass(frozen=True)
class ItemRow:
    """An item version's figures in the sitting, with what the bank says of them."""

    version: ItemVersion
    figures: quality.VersionFigures
    judgement: quality.Judgement


@dataclass(frozen=True)
class PairRow:
    """Two graders, named, and how their marks agreed."""

    first: User
    second: User
    agreement: GraderAgreement


@dataclass(frozen=True)
class StatisticsPage:
    """The staff's statistics page of a sitting."""

    sitting: Sitting
    scheme: Scheme
    titles: dict[str, str]
    """The parts' titles by key, in the blueprint's order."""
    snapshot: StatisticsSnapshot | None
    computed_by: User | None
    parts: list[PartStatistics]
    items: list[ItemRow]
    pairs: list[PairRow]
    bounds: quality.QualityBounds


async def statistics_page(session: AsyncSession, sitting_id: int) -> StatisticsPage:
    """The sitting's stored figures (none until computed); a 404 for no such sitting."""
    sitting = await get_sitting(session, sitting_id)
    scheme = await session.get(Scheme, sitting.scheme_id)
    assert scheme is not None
    definition = blueprints.definition_of(
        await blueprints.get_blueprint(session, sitting.blueprint_id)
    )
    titles = {part.key: part.title for part in definition.parts}
    order = {key: index for index, key in enumerate(titles)}
    bounds = await quality.bounds_for_scheme(session, sitting.scheme_id)
    snapshot = await session.scalar(
        select(StatisticsSnapshot).where(StatisticsSnapshot.sitting_id == sitting_id)
    )
    if snapshot is None:
        return StatisticsPage(sitting, scheme, titles, None, None, [], [], [], bounds)
    parts = sorted(
        await session.scalars(
            select(PartStatistics).where(PartStatistics.snapshot_id == snapshot.id)
        ),
        key=lambda p: (order.get(p.part_key, len(order)), p.part_key),
    )
    rows = (
        await session.execute(
            select(ItemStatistics, ItemVersion)
            .join(ItemVersion, ItemVersion.id == ItemStatistics.item_version_id)
            .where(ItemStatistics.snapshot_id == snapshot.id)
        )
    ).all()
    items = []
    for item, version in rows:
        figures = figures_of(item, snapshot, sitting)
        items.append(ItemRow(version, figures, quality.judge(figures, bounds)))
    items.sort(
        key=lambda row: (
            order.get(row.figures.part_key, len(order)),
            row.version.item.external_id,
            row.version.number,
        )
    )
    pairs = []
    for agreement in await session.scalars(
        select(GraderAgreement)
        .where(GraderAgreement.snapshot_id == snapshot.id)
        .order_by(GraderAgreement.first_grader_id, GraderAgreement.second_grader_id)
    ):
        first = await session.get(User, agreement.first_grader_id)
        second = await session.get(User, agreement.second_grader_id)
        assert first is not None and second is not None
        pairs.append(PairRow(first, second, agreement))
    computed_by = (
        await session.get(User, snapshot.computed_by_id) if snapshot.computed_by_id else None
    )
    return StatisticsPage(
        sitting, scheme, titles, snapshot, computed_by, parts, items, pairs, bounds
    )


@dataclass(frozen=True)
class ScoreRow:
    """One part of one attempt as the scores' export lists it."""

    registration_id: int
    username: str
    full_name: str
    part_key: str
    score: float | None
    max_score: float | None
    passed: bool | None
    overridden: bool
    terminated: bool


async def score_rows(session: AsyncSession, sitting_id: int) -> list[ScoreRow]:
    """Every started part of every attempt in the sitting, by candidate and part; a 404 for no
    such sitting."""
    await get_sitting(session, sitting_id)
    rows = await session.execute(
        select(AttemptPart, Attempt, Registration, User)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .join(Registration, Registration.id == Attempt.registration_id)
        .join(User, User.id == Registration.candidate_id)
        .where(Registration.sitting_id == sitting_id)
        .order_by(User.full_name, Registration.id, AttemptPart.part_index)
    )
    return [
        ScoreRow(
            registration_id=registration.id,
            username=candidate.username,
            full_name=candidate.full_name,
            part_key=part.part_key,
            score=part.score,
            max_score=part.max_score,
            passed=part.passed,
            overridden=part.result_override_at is not None,
            terminated=attempt.status == AttemptStatus.TERMINATED,
        )
        for part, attempt, registration, candidate in rows
    ]
