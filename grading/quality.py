"""The quality of a sitting's assessment: its scores read from the exam and from grading, the
figures of ``grading.statistics`` computed over them, and a snapshot of them stored, so that the
staff's pages and the bank's item pages show them without computing again.

Computed by itself when a sitting's last script becomes final (``when_graded``, from
``grading.marking.finalize``) and whenever the staff ask. Only attempts that were not ended for
cheating count, and of them only the parts with a result: every script in them final.

An item's score is its choice questions' points (scored again from the answers as the hand-in
scored them, ``itembank.scoring``) plus its open questions' final marks. Its discrimination is
the correlation of its score with the rest of the part: the part's other points as a share of
the part's other most points (forms are assembled per candidate, and the share keeps two forms
of different points comparable; with one form it is the plain rest score). A part's
reliability is computed over its items; where candidates had different items (forms are assembled
per candidate), over the items by their place on the form: every form of a sitting is assembled by
the same blueprint rules, so the n-th item of every form is counted as one item.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.lookups import get_sitting
from exam.models import Answer, Attempt, AttemptPart, AttemptStatus, Registration
from exam.roles import require
from grading import statistics
from grading.access import GRADING_ADMINISTRATORS, REFUSED
from grading.models import (
    GraderAgreement,
    ItemStatistics,
    Marking,
    PartStatistics,
    Script,
    ScriptStatus,
    StatisticsSnapshot,
)
from itembank import quality
from itembank.models import ExamForm, ItemVersion
from itembank.schemas import ItemDocument, MultipleResponseQuestion, SingleChoiceQuestion
from itembank.scoring import score_multiple_response, score_single_choice
from vakt import audit
from vakt.accounts import User

CHUNK = 500
"""Ids per IN (...) list: well below what SQLite and asyncpg take in one statement."""


@dataclass
class ItemResponse:
    """A candidate's points on one item of a part, and what they chose in its choice questions."""

    version_id: int
    score: float
    max_points: float
    picks: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class PartResponse:
    """A candidate's part with its result: its points and its items in the order of the form."""

    part_key: str
    score: float
    max_points: float
    items: list[ItemResponse]


async def _by_ids(session: AsyncSession, model: Any, ids: set[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        rows = await session.scalars(
            select(model).where(model.id.in_(ordered[start : start + CHUNK]))
        )
        found.update((row.id, row) for row in rows)
    return found


def _item_response(
    version_id: int,
    document: ItemDocument,
    answers: dict[str, Any],
    marks: dict[str, float],
) -> ItemResponse:
    """An item's points from the candidate's answers and the open questions' final marks."""
    response = ItemResponse(version_id, 0.0, document.max_points)
    for question in document.questions:
        value = answers.get(question.id)
        if isinstance(question, SingleChoiceQuestion):
            chosen = value if isinstance(value, str) else None
            response.score += score_single_choice(question, chosen)
            response.picks[question.id] = [chosen] if chosen else []
        elif isinstance(question, MultipleResponseQuestion):
            picked = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
            response.score += score_multiple_response(question, picked)
            response.picks[question.id] = picked
        else:
            response.score += marks.get(question.id, 0.0)
    return response


async def sitting_responses(session: AsyncSession, sitting_id: int) -> list[PartResponse]:
    """Every part of the sitting with a result, of attempts not ended for cheating, item by
    item."""
    rows = (
        await session.execute(
            select(AttemptPart, Attempt)
            .join(Attempt, Attempt.id == AttemptPart.attempt_id)
            .join(Registration, Registration.id == Attempt.registration_id)
            .where(
                Registration.sitting_id == sitting_id,
                Attempt.status != AttemptStatus.TERMINATED,
                AttemptPart.submitted_at.is_not(None),
                AttemptPart.score.is_not(None),
            )
            .order_by(AttemptPart.id)
        )
    ).all()
    if not rows:
        return []
    forms: dict[int, ExamForm] = await _by_ids(session, ExamForm, {a.form_id for _, a in rows})
    version_ids = {item.item_version_id for form in forms.values() for item in form.items}
    versions: dict[int, ItemVersion] = await _by_ids(session, ItemVersion, version_ids)
    documents = {vid: ItemDocument.model_validate(v.document) for vid, v in versions.items()}
    answers: dict[tuple[int, int], dict[str, Any]] = defaultdict(dict)
    for answer in await session.scalars(
        select(Answer)
        .join(AttemptPart, AttemptPart.id == Answer.attempt_part_id)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .join(Registration, Registration.id == Attempt.registration_id)
        .where(Registration.sitting_id == sitting_id)
    ):
        answers[answer.attempt_part_id, answer.item_version_id][answer.question_id] = answer.value
    marks: dict[tuple[int, int], dict[str, float]] = defaultdict(dict)
    for script in await session.scalars(
        select(Script).where(Script.sitting_id == sitting_id, Script.status == ScriptStatus.FINAL)
    ):
        marks[script.attempt_part_id, script.item_version_id][script.question_id] = (
            script.final_points or 0.0
        )
    responses = []
    for part, attempt in rows:
        items = [
            _item_response(
                row.item_version_id,
                documents[row.item_version_id],
                answers.get((part.id, row.item_version_id), {}),
                marks.get((part.id, row.item_version_id), {}),
            )
            for row in forms[attempt.form_id].items
            if row.part_index == part.part_index
        ]
        assert part.score is not None
        maximum = part.max_score if part.max_score is not None else sum(i.max_points for i in items)
        responses.append(PartResponse(part.part_key, part.score, maximum, items))
    return responses


@dataclass(frozen=True)
class ItemFigures:
    """One item version's figures in a part of a sitting."""

    part_key: str
    version_id: int
    responses: int
    max_points: float
    facility: float | None
    discrimination: float | None
    mean: float | None
    sd: float | None
    choice_shares: dict[str, dict[str, float]]


def _rest_share(part: PartResponse, item: ItemResponse) -> float | None:
    """The part's other points as a share of its other most points (None: nothing else)."""
    rest_most = part.max_points - item.max_points
    if rest_most <= statistics.TOLERANCE:
        return None
    return (part.score - item.score) / rest_most


def item_figures(
    parts: Sequence[PartResponse], options: dict[int, dict[str, list[str]]]
) -> list[ItemFigures]:
    """The figures of every item version in these parts (``options``: each version's choice
    questions and their options), by part and by the versions' first place on a form."""
    groups: dict[tuple[str, int], list[tuple[PartResponse, ItemResponse]]] = {}
    for part in parts:
        for item in part.items:
            groups.setdefault((part.part_key, item.version_id), []).append((part, item))
    figures = []
    for (part_key, version_id), pairs in groups.items():
        scores = np.array([item.score for _, item in pairs])
        most = pairs[0][1].max_points
        rests = [_rest_share(part, item) for part, item in pairs]
        mean, sd = statistics.mean_and_sd(scores)
        shares = {
            question_id: statistics.choice_shares(
                [item.picks.get(question_id, []) for _, item in pairs], choices
            )
            for question_id, choices in options.get(version_id, {}).items()
        }
        figures.append(
            ItemFigures(
                part_key=part_key,
                version_id=version_id,
                responses=len(pairs),
                max_points=most,
                facility=statistics.facility(scores, most),
                discrimination=None
                if any(rest is None for rest in rests)
                else statistics.correlation(scores, [r for r in rests if r is not None]),
                mean=mean,
                sd=sd,
                choice_shares=shares,
            )
        )
    return figures


@dataclass(frozen=True)
class PartFigures:
    """A part's figures in a sitting."""

    part_key: str
    responses: int
    items: int
    max_points: float
    mean: float | None
    sd: float | None
    reliability: statistics.Reliability


def _columns(rows: Sequence[PartResponse]) -> list[list[ItemResponse]]:
    """The parts' items as the columns of a score matrix: by item when every candidate had the
    same items (in whatever order the form shuffled them), else by their place on the form, of
    the forms with the most common number of items."""
    sets = {frozenset(item.version_id for item in row.items) for row in rows}
    if len(sets) == 1:
        order = sorted(next(iter(sets)))
        lookup = [{item.version_id: item for item in row.items} for row in rows]
        return [[by_version[version_id] for version_id in order] for by_version in lookup]
    width = Counter(len(row.items) for row in rows).most_common(1)[0][0]
    return [list(row.items) for row in rows if len(row.items) == width]


def part_figures(parts: Sequence[PartResponse]) -> list[PartFigures]:
    """Each part's totals, and its reliability over its items (``_columns``)."""
    by_key: dict[str, list[PartResponse]] = {}
    for part in parts:
        by_key.setdefault(part.part_key, []).append(part)
    figures = []
    for part_key, rows in by_key.items():
        table = _columns(rows)
        width = len(table[0]) if table else 0
        matrix = np.array([[item.score for item in row] for row in table]).reshape(
            len(table), width
        )
        maxima = np.array([[item.max_points for item in row] for row in table]).reshape(
            len(table), width
        )
        mean, sd = statistics.mean_and_sd([row.score for row in rows])
        figures.append(
            PartFigures(
                part_key=part_key,
                responses=len(rows),
                items=width,
                max_points=max(row.max_points for row in rows),
                mean=mean,
                sd=sd,
                reliability=statistics.reliability(matrix, maxima),
            )
        )
    return figures


async def grader_pairs(
    session: AsyncSession, sitting_id: int
) -> dict[tuple[int, int], statistics.Agreement]:
    """How each pair of graders agreed on the scripts of the sitting they both marked (the pair
    by user id, lower first)."""
    rows = await session.execute(
        select(Marking.script_id, Marking.grader_id, Marking.total)
        .join(Script, Script.id == Marking.script_id)
        .where(
            Script.sitting_id == sitting_id,
            Script.status != ScriptStatus.WITHDRAWN,
            Marking.submitted_at.is_not(None),
            Marking.total.is_not(None),
        )
        .order_by(Marking.script_id, Marking.grader_id)
    )
    by_script: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for script_id, grader_id, total in rows:
        if total is not None:
            by_script[script_id].append((grader_id, total))
    marks: dict[tuple[int, int], tuple[list[float], list[float]]] = {}
    for pair in by_script.values():
        if len(pair) != 2:
            continue
        (first, first_total), (second, second_total) = pair
        lists = marks.setdefault((first, second), ([], []))
        lists[0].append(first_total)
        lists[1].append(second_total)
    return {pair: statistics.agreement(a, b) for pair, (a, b) in sorted(marks.items())}


def choice_options(documents: dict[int, ItemDocument]) -> dict[int, dict[str, list[str]]]:
    """Each version's choice questions and their options, in the item's order."""
    return {
        version_id: {
            question.id: [choice.id for choice in question.choices]
            for question in document.questions
            if isinstance(question, SingleChoiceQuestion | MultipleResponseQuestion)
        }
        for version_id, document in documents.items()
    }


async def compute_statistics(
    session: AsyncSession, sitting_id: int, *, now: datetime, actor: User | None = None
) -> StatisticsSnapshot:
    """Compute the sitting's figures and store them in place of the earlier snapshot; mark the
    bank's versions that are outside the scheme's bounds. ``actor``: the staff member who asked
    (None: computed by itself once the last script was final). Audited."""
    if actor is not None:
        require(actor, GRADING_ADMINISTRATORS, REFUSED)
    sitting = await get_sitting(session, sitting_id)
    parts = await sitting_responses(session, sitting_id)
    version_ids = {item.version_id for part in parts for item in part.items}
    versions: dict[int, ItemVersion] = await _by_ids(session, ItemVersion, version_ids)
    options = choice_options(
        {vid: ItemDocument.model_validate(v.document) for vid, v in versions.items()}
    )
    items = item_figures(parts, options)
    part_rows = part_figures(parts)
    pairs = await grader_pairs(session, sitting_id)
    await session.execute(
        delete(StatisticsSnapshot).where(StatisticsSnapshot.sitting_id == sitting_id)
    )
    candidates = await session.scalar(
        select(func.count(func.distinct(Attempt.id)))
        .join(AttemptPart, AttemptPart.attempt_id == Attempt.id)
        .join(Registration, Registration.id == Attempt.registration_id)
        .where(
            Registration.sitting_id == sitting_id,
            Attempt.status != AttemptStatus.TERMINATED,
            AttemptPart.score.is_not(None),
        )
    )
    snapshot = StatisticsSnapshot(
        sitting_id=sitting_id,
        computed_at=now,
        computed_by_id=actor.id if actor else None,
        candidates=int(candidates or 0),
    )
    session.add(snapshot)
    await session.flush()
    session.add_all(
        ItemStatistics(
            snapshot_id=snapshot.id,
            item_version_id=f.version_id,
            part_key=f.part_key,
            responses=f.responses,
            max_points=f.max_points,
            facility=f.facility,
            discrimination=f.discrimination,
            mean=f.mean,
            sd=f.sd,
            choice_shares=f.choice_shares,
        )
        for f in items
    )
    session.add_all(
        PartStatistics(
            snapshot_id=snapshot.id,
            part_key=p.part_key,
            responses=p.responses,
            items=p.items,
            max_points=p.max_points,
            mean=p.mean,
            sd=p.sd,
            reliability_kind=p.reliability.kind,
            reliability=p.reliability.value,
            sem=p.reliability.sem,
        )
        for p in part_rows
    )
    session.add_all(
        GraderAgreement(
            snapshot_id=snapshot.id,
            first_grader_id=first,
            second_grader_id=second,
            scripts=a.scripts,
            exact=a.exact,
            adjacent=a.adjacent,
            kappa=a.kappa,
        )
        for (first, second), a in pairs.items()
    )
    await session.flush()
    bounds = await quality.bounds_for_scheme(session, sitting.scheme_id)
    for figures in items:
        await quality.mark_for_review(
            session,
            version_id=figures.version_id,
            figures=quality.VersionFigures(
                source_id=sitting.id,
                source=sitting.name,
                measured_at=now,
                part_key=figures.part_key,
                responses=figures.responses,
                max_points=figures.max_points,
                facility=figures.facility,
                discrimination=figures.discrimination,
                mean=figures.mean,
                sd=figures.sd,
                choice_shares=figures.choice_shares,
            ),
            bounds=bounds,
            now=now,
        )
    await audit.record(
        session,
        actor_id=actor.id if actor else None,
        action="grading.statistics_computed",
        entity_type="sitting",
        entity_id=sitting_id,
        after={
            "candidates": snapshot.candidates,
            "items": len(items),
            "parts": len(part_rows),
            "grader_pairs": len(pairs),
            "by": "staff" if actor else "last script final",
        },
    )
    return snapshot


async def when_graded(session: AsyncSession, sitting_id: int, *, now: datetime) -> bool:
    """Compute the sitting's figures when none of its scripts waits for a mark any more (called
    as a script becomes final); True when they were computed."""
    pending = await session.scalar(
        select(Script.id)
        .where(
            Script.sitting_id == sitting_id,
            Script.status.in_((ScriptStatus.WAITING, ScriptStatus.RECONCILIATION)),
        )
        .limit(1)
    )
    if pending is not None:
        return False
    await compute_statistics(session, sitting_id, now=now)
    return True
