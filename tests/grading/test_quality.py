"""A sitting's statistics from real attempts: handed in through the exam, graded by two
graders, computed by themselves when the last script is final and stored; the bank's versions
outside the scheme's bounds marked for review, and a new version clearing the mark."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import FixedClock
from grading import quality
from grading.models import GraderAgreement, ItemStatistics, PartStatistics, StatisticsSnapshot
from grading.quality_queries import SnapshotStatistics
from itembank import quality as bank_quality
from itembank import versions
from itembank.models import ItemReviewMark, ReviewReason
from tests.exam.factories import OPENS
from tests.grading.graded_sitting import GradedSitting, graded_sitting
from tests.itembank.factories import single_choice
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.errors import Forbidden, VaktError

# The six candidates' scores (see tests/grading/factories.py, ANSWERS):
#
#          SC-0 SC-1 SC-2 | mc | essay (first, second grader -> final)
#     c1     1    1    1  |  3 |  9, 9 -> 9
#     c2     1    1    1  |  3 |  8, 7 -> 7.5
#     c3     1    1    0  |  2 |  6, 6 -> 6
#     c4     1    0    0  |  1 |  5, 3 -> 4   (2 apart: within the 20 % tolerance)
#     c5     1    0    0  |  1 |  3, 4 -> 3.5 (SC-2 not answered)
#     c6     1    0    1  |  2 |  2, 2 -> 2


async def _snapshot(session: AsyncSession, built: GradedSitting) -> StatisticsSnapshot:
    snapshot = await session.scalar(
        select(StatisticsSnapshot).where(StatisticsSnapshot.sitting_id == built.sitting_id)
    )
    assert snapshot is not None
    return snapshot


async def _items(session: AsyncSession, snapshot: StatisticsSnapshot) -> dict[int, ItemStatistics]:
    rows = await session.scalars(
        select(ItemStatistics).where(ItemStatistics.snapshot_id == snapshot.id)
    )
    return {row.item_version_id: row for row in rows}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(OPENS + timedelta(minutes=1))


@pytest.mark.asyncio
async def test_the_last_final_script_computes_the_sittings_statistics(
    session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)
    snapshot = await _snapshot(session, built)
    assert snapshot.computed_by_id is None and snapshot.candidates == 6
    items = await _items(session, snapshot)
    sc0, sc1, sc2 = (items[built.versions[x].id] for x in ("SC-0", "SC-1", "SC-2"))
    essay = items[built.versions["ES-0"].id]

    # Facility: right answers / 6.
    assert (sc0.facility, sc1.facility, sc2.facility) == pytest.approx((1.0, 0.5, 0.5))
    # SC-0: everyone right, so it correlates with nothing.
    assert sc0.discrimination is None
    # SC-1 = (1,1,1,0,0,0) against the rest of mc (SC-0 + SC-2) = (2,2,1,1,1,2); the rest over
    # its 2 most points is (1,1,.5,.5,.5,1), which correlates as the rest itself does:
    #   means .5 and 1.5; deviations (.5,.5,.5,-.5,-.5,-.5), (.5,.5,-.5,-.5,-.5,.5)
    #   products .25+.25-.25+.25+.25-.25 = .5; squares 1.5 and 1.5: r = .5 / 1.5 = 1/3
    assert sc1.discrimination == pytest.approx(1 / 3)
    # SC-2 = (1,1,0,0,0,1) against (2,2,2,1,1,1): the same arithmetic, r = 1/3.
    assert sc2.discrimination == pytest.approx(1 / 3)
    # Choice shares: SC-1 chosen A 3, B 2, C 1 of 6; SC-2 A 3, B 2, none 1.
    assert sc1.choice_shares["RESPONSE"] == pytest.approx(
        {"A": 0.5, "B": 2 / 6, "C": 1 / 6, "": 0.0}
    )
    assert sc2.choice_shares["RESPONSE"] == pytest.approx(
        {"A": 0.5, "B": 2 / 6, "C": 0.0, "": 1 / 6}
    )
    # The essay's final marks (9, 7.5, 6, 4, 3.5, 2): mean 32/6, p = mean / 10;
    # squared deviations 13.4444 + 4.6944 + .4444 + 1.7778 + 3.3611 + 11.1111 = 34.8333,
    # s = sqrt(34.8333 / 5) = 2.63944. Alone in its part: no rest to correlate with.
    assert essay.mean == pytest.approx(32 / 6)
    assert essay.facility == pytest.approx(32 / 60)
    assert essay.sd == pytest.approx(math.sqrt(34.8333333 / 5))
    assert essay.discrimination is None and essay.choice_shares == {}

    parts = {
        row.part_key: row
        for row in await session.scalars(
            select(PartStatistics).where(PartStatistics.snapshot_id == snapshot.id)
        )
    }
    # mc, right or wrong: p = (1, .5, .5), sum p q = 0 + .25 + .25 = .5; totals (3,3,2,1,1,2),
    # mean 2, population variance (1+1+0+1+1+0)/6 = 2/3.
    # KR-20 = 3/2 * (1 - .5 / (2/3)) = 1.5 * .25 = 0.375
    # SEM = sqrt(4/5) * sqrt(1 - .375) = sqrt(.8 * .625) = sqrt(.5)
    mc = parts["mc"]
    assert (mc.responses, mc.items, mc.reliability_kind) == (6, 3, "kr20")
    assert mc.reliability == pytest.approx(0.375)
    assert mc.sem == pytest.approx(math.sqrt(0.5))
    assert mc.mean == pytest.approx(2.0)
    # One item: no reliability, no SEM.
    knowledge = parts["kunnskap"]
    assert (knowledge.items, knowledge.reliability, knowledge.sem) == (1, None, None)

    (pair,) = await session.scalars(
        select(GraderAgreement).where(GraderAgreement.snapshot_id == snapshot.id)
    )
    assert (pair.first_grader_id, pair.second_grader_id) == (
        built.first_grader.id,
        built.second_grader.id,
    )
    # A = (9,8,6,5,3,2), B = (9,7,6,3,4,2); A - B = (0,1,0,2,-1,0): exact 3/6, adjacent 5/6.
    # Quadratic kappa = 1 - (sum w O / n) / (sum w E / n), with
    #   sum w O / n = mean (A - B)^2 = (0+1+0+4+1+0)/6 = 1
    #   sum w E / n = var A + var B + (mean A - mean B)^2 (population)
    #               = (219/6 - 5.5^2) + (195/6 - (31/6)^2) + (2/6)^2 = 6.25 + 5.80556 + .11111
    #               = 73/6
    #   kappa = 1 - 6/73 = 67/73
    assert pair.scripts == 6
    assert pair.exact == pytest.approx(0.5)
    assert pair.adjacent == pytest.approx(5 / 6)
    assert pair.kappa == pytest.approx(67 / 73)
    assert (
        await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "grading.statistics_computed")
        )
        == 1
    )


@pytest.mark.asyncio
async def test_too_few_responses_mark_nothing_and_the_bounds_are_data(
    session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)
    # Six responses, fewer than the default ten: nothing is judged.
    assert not list(await session.scalars(select(ItemReviewMark)))
    statistics = await SnapshotStatistics().of_version(session, built.versions["SC-0"].id)
    (figures,) = statistics
    assert figures.source == "Kvalitetsprøve" and figures.responses == 6
    assert bank_quality.judge(figures, bank_quality.QualityBounds()).too_few

    admin = users["administrator"]
    with pytest.raises(VaktError) as refused:
        await bank_quality.set_bounds(
            session, scheme_id=built.scheme_id, actor=admin, now=OPENS,
            values={"min_facility": 0.9, "max_facility": 0.5},
        )  # fmt: skip
    assert refused.value.status_code == 422
    with pytest.raises(Forbidden):
        await bank_quality.set_bounds(
            session, scheme_id=built.scheme_id, actor=users["item_writer"], now=OPENS,
            values={"min_responses": 5},
        )  # fmt: skip
    await bank_quality.set_bounds(
        session, scheme_id=built.scheme_id, actor=admin, now=OPENS,
        values={"min_responses": 5, "min_discrimination": 0.4},
    )  # fmt: skip
    with pytest.raises(Forbidden):
        await quality.compute_statistics(
            session, built.sitting_id, now=OPENS, actor=users["grader"]
        )
    await quality.compute_statistics(session, built.sitting_id, now=OPENS, actor=admin)
    await session.commit()

    marks = {
        (mark.version_id, mark.reason): mark
        for mark in await session.scalars(select(ItemReviewMark))
    }
    sc0, sc1, sc2 = (built.versions[x].id for x in ("SC-0", "SC-1", "SC-2"))
    # SC-0: p = 1 above 0.95; SC-1 and SC-2: discrimination 1/3 below 0.4; the essay's p of
    # .53 is within the bounds and it has no discrimination to judge.
    assert set(marks) == {
        (sc0, ReviewReason.TOO_EASY),
        (sc1, ReviewReason.LOW_DISCRIMINATION),
        (sc2, ReviewReason.LOW_DISCRIMINATION),
    }
    too_easy = marks[sc0, ReviewReason.TOO_EASY]
    assert (too_easy.value, too_easy.bound, too_easy.responses) == (1.0, 0.95, 6)
    assert too_easy.source == "Kvalitetsprøve"
    assert marks[sc1, ReviewReason.LOW_DISCRIMINATION].value == pytest.approx(1 / 3)

    # Computing again changes nothing: no second mark for the same finding.
    await quality.compute_statistics(session, built.sitting_id, now=OPENS, actor=admin)
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(ItemReviewMark)) == 3

    # A new version of SC-0 clears its mark (audited); the others stay.
    await versions.create_version(
        session,
        item_id=built.versions["SC-0"].item_id,
        document=single_choice("SC-0", stem_html="<p>Ny tekst</p>"),
        actor_id=users["item_writer"].id,
    )
    await session.commit()
    assert await bank_quality.open_marks(session, sc0) == []
    assert len(await bank_quality.open_marks(session, sc1)) == 1
    cleared = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "item.review_mark_cleared")
    )
    assert cleared is not None and cleared.entity_id == str(sc0)
    # The old version is not marked again by a later computation: candidates see the new one.
    await quality.compute_statistics(session, built.sitting_id, now=OPENS, actor=admin)
    await session.commit()
    assert await bank_quality.open_marks(session, sc0) == []


@pytest.mark.asyncio
async def test_a_mark_is_withdrawn_when_its_sitting_no_longer_shows_it(
    session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)
    admin = users["administrator"]
    await bank_quality.set_bounds(
        session, scheme_id=built.scheme_id, actor=admin, now=OPENS,
        values={"min_responses": 5, "min_discrimination": 0.4},
    )  # fmt: skip
    await quality.compute_statistics(session, built.sitting_id, now=OPENS, actor=admin)
    sc1 = built.versions["SC-1"].id
    assert len(await bank_quality.open_marks(session, sc1)) == 1
    await bank_quality.set_bounds(
        session, scheme_id=built.scheme_id, actor=admin, now=OPENS,
        values={"min_responses": 5, "min_discrimination": 0.2},
    )  # fmt: skip
    await quality.compute_statistics(session, built.sitting_id, now=OPENS, actor=admin)
    await session.commit()
    assert await bank_quality.open_marks(session, sc1) == []
    withdrawn = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "item.review_mark_withdrawn")
    )
    assert withdrawn == 2  # SC-1 and SC-2


@pytest.mark.asyncio
async def test_an_empty_sitting_has_empty_statistics(
    session: AsyncSession, users: dict[str, User]
) -> None:
    from tests.grading.graded_sitting import build_sitting

    built = await build_sitting(session, users, candidates=1)
    snapshot = await quality.compute_statistics(
        session, built.sitting_id, now=OPENS, actor=users["administrator"]
    )
    await session.commit()
    assert snapshot.candidates == 0
    assert await _items(session, snapshot) == {}
    assert await SnapshotStatistics().of_version(session, built.versions["SC-0"].id) == []
