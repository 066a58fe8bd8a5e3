"""Automatic scoring of choice questions, as each item defines it (partial credit included)."""

from __future__ import annotations

from collections.abc import Iterable

from itembank.schemas import MultipleResponseQuestion, ScoringRule, SingleChoiceQuestion


def score_single_choice(question: SingleChoiceQuestion, chosen: str | None) -> float:
    """Full points for the correct option, nothing otherwise."""
    return question.points if chosen == question.correct else 0.0


def score_multiple_response(question: MultipleResponseQuestion, chosen: Iterable[str]) -> float:
    """Points for a set of chosen options under the question's scoring rule.

    Options that do not exist are ignored; choosing more than ``max_choices`` scores nothing.
    """
    picked = set(chosen) & question.choice_ids()
    if question.max_choices and len(picked) > question.max_choices:
        return 0.0
    correct = set(question.correct)
    if question.scoring is ScoringRule.ALL_OR_NOTHING:
        return question.points if picked == correct else 0.0
    if question.scoring is ScoringRule.PER_OPTION:
        unit = question.points / len(correct)
        raw = unit * len(picked & correct) - unit * len(picked - correct)
        return max(0.0, min(question.points, raw))
    raw = sum(question.mapping.get(option, question.mapping_default) for option in picked)
    if question.lower_bound is not None:
        raw = max(question.lower_bound, raw)
    if question.upper_bound is not None:
        raw = min(question.upper_bound, raw)
    # Mapped values are in the item's own units; scale to the question's points.
    best = _best_mapped_total(question)
    return 0.0 if best <= 0 else max(0.0, min(question.points, question.points * raw / best))


def _best_mapped_total(question: MultipleResponseQuestion) -> float:
    positives = sorted((v for v in question.mapping.values() if v > 0), reverse=True)
    if question.max_choices:
        positives = positives[: question.max_choices]
    best = sum(positives)
    if question.upper_bound is not None:
        best = min(best, question.upper_bound)
    return best
