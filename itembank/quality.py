"""Items marked for review by their statistics: the bank's side of the assessment's quality.

The bank keeps the marks and the bounds that set them; it knows nothing of exams. What an item
version's statistics were in each sitting comes through ``VersionStatistics``, filled by grading
(``grading.quality_queries.SnapshotStatistics``, wired in ``web.app.create_app``), and grading
marks versions through ``mark_for_review`` when it computes a sitting's figures.

A version is marked when, with at least ``min_responses`` responses, its facility is below or
above the scheme's bounds or its discrimination below its bound. The mark says why, with the
figure, the bound and the sitting; a new version of the item clears it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank.access import BLUEPRINT_ROLES
from itembank.models import (
    ItemQualityBounds,
    ItemReviewMark,
    ItemVersion,
    ReviewReason,
)
from itembank.schemes import get_scheme
from vakt import audit
from vakt.accounts import User
from vakt.errors import Forbidden, VaktError
from vakt.i18n import LazyText, _l
from vakt.scheme_settings import store_scheme_settings

BOUNDS_EDITORS = BLUEPRINT_ROLES
"""Who sets a scheme's bounds: the staff who design its exams."""

REASON_TEXTS: dict[ReviewReason, LazyText] = {
    ReviewReason.TOO_HARD: _l(
        "Facility {value} is below the bound {bound}: too hard, or is the key wrong?"
    ),
    ReviewReason.TOO_EASY: _l(
        "Facility {value} is above the bound {bound}: nearly everyone gets it right."
    ),
    ReviewReason.LOW_DISCRIMINATION: _l(
        "Discrimination {value} is below the bound {bound}: strong candidates do no better "
        "on it than weak ones."
    ),
}
"""Why a version is marked, in words (``{value}`` and ``{bound}`` filled in)."""


BOUND_LABELS: dict[str, LazyText] = {
    "min_facility": _l("Lowest facility (p)"),
    "max_facility": _l("Highest facility (p)"),
    "min_discrimination": _l("Lowest discrimination"),
    "min_responses": _l("Fewest responses to judge"),
}
"""The bounds' names on the pages and in their error messages."""


class QualityBounds(BaseModel):
    """A scheme's bounds for marking versions for review (data, never code)."""

    model_config = ConfigDict(extra="forbid")

    min_facility: float = Field(default=0.20, ge=0, le=1)
    max_facility: float = Field(default=0.95, ge=0, le=1)
    min_discrimination: float = Field(default=0.10, ge=-1, le=1)
    min_responses: int = Field(default=10, ge=2, le=100_000)
    """Below this many responses no version is judged ("too few responses")."""

    @model_validator(mode="after")
    def _ordered(self) -> QualityBounds:
        if self.min_facility >= self.max_facility:
            raise ValueError("min_facility must be below max_facility")
        return self


@dataclass(frozen=True)
class VersionFigures:
    """One item version's statistics in one sitting."""

    source_id: int
    """The sitting's id."""
    source: str
    """The sitting's name."""
    measured_at: datetime
    part_key: str
    responses: int
    max_points: float
    facility: float | None
    discrimination: float | None
    mean: float | None
    sd: float | None
    choice_shares: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per choice question, the share of candidates who chose each option ("": none)."""


class VersionStatistics(Protocol):
    """Where the bank finds what a version's statistics were, sitting by sitting."""

    async def of_version(self, session: AsyncSession, version_id: int) -> list[VersionFigures]:
        """The version's figures in every sitting that has them, oldest sitting first."""
        ...


class NoStatistics:
    """Statistics where nothing measures items (the bank on its own)."""

    async def of_version(self, session: AsyncSession, version_id: int) -> list[VersionFigures]:
        """No figures."""
        return []


@dataclass(frozen=True)
class Finding:
    """A figure outside its bound."""

    reason: ReviewReason
    value: float
    bound: float


@dataclass(frozen=True)
class Judgement:
    """What a version's figures in one sitting say against the bounds."""

    too_few: bool
    """Fewer responses than the bounds need: nothing is judged."""
    findings: list[Finding]


def judge(figures: VersionFigures, bounds: QualityBounds) -> Judgement:
    """The figures against the bounds (none judged below ``min_responses`` responses)."""
    if figures.responses < bounds.min_responses:
        return Judgement(too_few=True, findings=[])
    findings = []
    if figures.facility is not None and figures.facility < bounds.min_facility:
        findings.append(Finding(ReviewReason.TOO_HARD, figures.facility, bounds.min_facility))
    if figures.facility is not None and figures.facility > bounds.max_facility:
        findings.append(Finding(ReviewReason.TOO_EASY, figures.facility, bounds.max_facility))
    if figures.discrimination is not None and figures.discrimination < bounds.min_discrimination:
        findings.append(
            Finding(
                ReviewReason.LOW_DISCRIMINATION, figures.discrimination, bounds.min_discrimination
            )
        )
    return Judgement(too_few=False, findings=findings)


async def bounds_for_scheme(session: AsyncSession, scheme_id: int) -> QualityBounds:
    """The scheme's bounds (the defaults until the staff change them)."""
    row = await session.get(ItemQualityBounds, scheme_id)
    return QualityBounds.model_validate(row.settings) if row else QualityBounds()


def validate_bounds(values: dict[str, Any]) -> QualityBounds:
    """The bounds these values describe; a 422 naming what is wrong."""
    try:
        return QualityBounds.model_validate(values)
    except ValidationError as error:
        location = error.errors()[0]["loc"]
        if not location:
            raise VaktError(
                _l("The lowest facility must be below the highest."),
                field="min_facility",
                status_code=422,
            ) from None
        name = str(location[0])
        raise VaktError(
            _l("{name}: the value is missing, not a number, or outside the allowed range."),
            field=name,
            status_code=422,
            name=BOUND_LABELS.get(name, name),
        ) from None


async def set_bounds(
    session: AsyncSession, *, scheme_id: int, values: dict[str, Any], actor: User, now: datetime
) -> QualityBounds:
    """Change a scheme's bounds (audited); marks already set stay until their sitting's figures
    are computed again or a new version clears them."""
    if not actor.has_any(*BOUNDS_EDITORS):
        raise Forbidden(_l("Your roles do not give access to this page."))
    await get_scheme(session, scheme_id)
    bounds = validate_bounds(values)
    await store_scheme_settings(
        session,
        ItemQualityBounds,
        scheme_id=scheme_id,
        settings=bounds.model_dump(mode="json"),
        actor_id=actor.id,
        now=now,
        action="item.quality_bounds_changed",
    )
    return bounds


async def _is_newest(session: AsyncSession, version: ItemVersion) -> bool:
    newest = await session.scalar(
        select(func.max(ItemVersion.number)).where(ItemVersion.item_id == version.item_id)
    )
    return newest == version.number


async def mark_for_review(
    session: AsyncSession,
    *,
    version_id: int,
    figures: VersionFigures,
    bounds: QualityBounds,
    now: datetime,
) -> list[ItemReviewMark]:
    """Mark the version for review by its figures in one sitting, replacing what that sitting's
    earlier figures marked (each mark set or withdrawn is audited); a version that a newer one
    has replaced is left alone. Returns the version's open marks from that sitting."""
    version = await session.get(ItemVersion, version_id)
    if version is None or not await _is_newest(session, version):
        return []
    existing = {
        mark.reason: mark
        for mark in await session.scalars(
            select(ItemReviewMark).where(
                ItemReviewMark.version_id == version_id,
                ItemReviewMark.source_id == figures.source_id,
                ItemReviewMark.cleared_at.is_(None),
            )
        )
    }
    found = {finding.reason: finding for finding in judge(figures, bounds).findings}
    kept = []
    for reason, mark in existing.items():
        if reason in found:
            finding = found[reason]
            mark.value, mark.bound, mark.responses = finding.value, finding.bound, figures.responses
            mark.source = figures.source
            kept.append(mark)
            continue
        await session.delete(mark)
        await audit.record(
            session,
            actor_id=None,
            action="item.review_mark_withdrawn",
            entity_type="item_version",
            entity_id=version_id,
            before={"reason": reason.value, "value": mark.value, "source_id": mark.source_id},
        )
    for reason, finding in found.items():
        if reason in existing:
            continue
        mark = ItemReviewMark(
            version_id=version_id, reason=reason, value=finding.value, bound=finding.bound,
            responses=figures.responses, source_id=figures.source_id, source=figures.source,
            marked_at=now,
        )  # fmt: skip
        session.add(mark)
        kept.append(mark)
        await audit.record(
            session,
            actor_id=None,
            action="item.marked_for_review",
            entity_type="item_version",
            entity_id=version_id,
            after={
                "reason": reason.value,
                "value": finding.value,
                "bound": finding.bound,
                "responses": figures.responses,
                "source_id": figures.source_id,
            },
        )
    await session.flush()
    return kept


async def clear_marks(
    session: AsyncSession, *, item_id: int, new_version_id: int, actor_id: int | None, now: datetime
) -> int:
    """A new version of the item clears its earlier versions' marks (audited); how many."""
    marks = list(
        await session.scalars(
            select(ItemReviewMark)
            .join(ItemVersion, ItemVersion.id == ItemReviewMark.version_id)
            .where(
                ItemVersion.item_id == item_id,
                ItemReviewMark.version_id != new_version_id,
                ItemReviewMark.cleared_at.is_(None),
            )
        )
    )
    for mark in marks:
        mark.cleared_at, mark.cleared_by_version_id = now, new_version_id
        await audit.record(
            session,
            actor_id=actor_id,
            action="item.review_mark_cleared",
            entity_type="item_version",
            entity_id=mark.version_id,
            after={"reason": mark.reason.value, "by_version_id": new_version_id},
        )
    return len(marks)


async def open_marks(session: AsyncSession, version_id: int) -> list[ItemReviewMark]:
    """The version's marks that no new version has cleared, oldest first."""
    return list(
        await session.scalars(
            select(ItemReviewMark)
            .where(ItemReviewMark.version_id == version_id, ItemReviewMark.cleared_at.is_(None))
            .order_by(ItemReviewMark.id)
        )
    )


async def marked_versions(session: AsyncSession, version_ids: Sequence[int]) -> set[int]:
    """Which of these versions are marked for review."""
    if not version_ids:
        return set()
    return set(
        await session.scalars(
            select(ItemReviewMark.version_id)
            .where(
                ItemReviewMark.version_id.in_(list(version_ids)),
                ItemReviewMark.cleared_at.is_(None),
            )
            .distinct()
        )
    )
