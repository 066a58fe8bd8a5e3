"""The figures of an assessment's quality, as pure functions over arrays of scores.

Each function states its formula. A figure that the data cannot give (no responses, a single
response, every score the same) is None, never NaN: pages show it as a dash and CSV files leave
it empty.

Notation: a score matrix X has one row per candidate and one column per item (x_ci: candidate
c's points on item i), n rows, k columns; T_c = sum_i x_ci is candidate c's total.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from sklearn.metrics import cohen_kappa_score

TOLERANCE: Final = 1e-9
"""Two marks closer than this are the same mark (stored marks are rounded to 4 decimals)."""
ADJACENT_POINTS: Final = 1.0
"""Two marks at most this far apart agree "adjacently"."""
KAPPA_STEPS: Final = (1.0, 0.5, 0.25, 0.2, 0.1)
"""The grids marks are placed on for kappa's categories, the coarsest that holds them all; marks
on none of them are rounded to the finest."""

NO_ANSWER: Final = ""
"""The key of the share of candidates who chose no option."""


def _vector(values: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _matrix(values: ArrayLike) -> NDArray[np.float64]:
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError("a score matrix has one row per candidate and one column per item")
    return matrix


def _figure(value: float) -> float | None:
    """A computed figure, or None when the arithmetic gave no number."""
    return float(value) if math.isfinite(value) else None


def facility(scores: ArrayLike, max_points: float) -> float | None:
    """An item's facility p = mean(x) / max: the share of its points candidates earned (for an
    item scored right or wrong, the share who got it right). None without responses."""
    values = _vector(scores)
    if values.size == 0 or max_points <= 0:
        return None
    return _figure(float(values.mean()) / max_points)


def mean_and_sd(values: ArrayLike) -> tuple[float | None, float | None]:
    """The mean and the sample standard deviation s = sqrt(sum (x - mean)^2 / (n - 1)); the
    deviation is None below two values, both are None without values."""
    vector = _vector(values)
    if vector.size == 0:
        return None, None
    mean = _figure(float(vector.mean()))
    if vector.size < 2:
        return mean, None
    return mean, _figure(float(vector.std(ddof=1)))


def correlation(first: ArrayLike, second: ArrayLike) -> float | None:
    """Pearson's r = sum (a - mean a)(b - mean b) / sqrt(sum (a - mean a)^2 sum (b - mean b)^2).
    None below three pairs (two points always lie on a line) or when either side is constant."""
    a, b = _vector(first), _vector(second)
    if a.size != b.size:
        raise ValueError("correlated values come in pairs")
    if a.size < 3 or np.ptp(a) <= TOLERANCE or np.ptp(b) <= TOLERANCE:
        return None
    return _figure(float(stats.pearsonr(a, b).statistic))


def corrected_item_total(item: ArrayLike, totals: ArrayLike) -> float | None:
    """An item's discrimination: the corrected item-total correlation r(x_i, T - x_i), the item
    against the rest of the test, so that the item does not correlate with itself. For an item
    scored right or wrong this is the point-biserial correlation with the rest score."""
    scores = _vector(item)
    return correlation(scores, _vector(totals) - scores)


def discriminations(matrix: ArrayLike) -> list[float | None]:
    """The corrected item-total correlation of every column of a score matrix."""
    scores = _matrix(matrix)
    totals = scores.sum(axis=1)
    return [corrected_item_total(scores[:, column], totals) for column in range(scores.shape[1])]


def is_dichotomous(matrix: ArrayLike, maxima: ArrayLike) -> bool:
    """True when every score is either nothing or the whole of its item's points (``maxima``:
    each cell's item maximum, a matrix like the scores, or one maximum per column)."""
    scores = _matrix(matrix)
    most = np.broadcast_to(np.asarray(maxima, dtype=np.float64), scores.shape)
    return bool(
        np.all((np.abs(scores) <= TOLERANCE) | (np.abs(scores - most) <= TOLERANCE))
        and np.all(most > 0)
    )


def cronbach_alpha(matrix: ArrayLike) -> float | None:
    """Cronbach's alpha = k / (k - 1) * (1 - sum_i var(x_i) / var(T)), with the population
    variances (the ratio is the same with sample variances). None below two items or two
    candidates, or when every total is the same."""
    scores = _matrix(matrix)
    candidates, items = scores.shape
    if items < 2 or candidates < 2:
        return None
    total_variance = float(scores.sum(axis=1).var())
    if total_variance <= TOLERANCE:
        return None
    item_variances = float(scores.var(axis=0).sum())
    return _figure(items / (items - 1) * (1 - item_variances / total_variance))


def kr20(matrix: ArrayLike) -> float | None:
    """Kuder-Richardson 20 for items scored 1 (right) or 0 (wrong):
    KR-20 = k / (k - 1) * (1 - sum_i p_i q_i / var(T)), with p_i the share right, q_i = 1 - p_i
    and the population variance of the totals (alpha of 0/1 scores). None as for alpha."""
    scores = _matrix(matrix)
    candidates, items = scores.shape
    if items < 2 or candidates < 2:
        return None
    total_variance = float(scores.sum(axis=1).var())
    if total_variance <= TOLERANCE:
        return None
    p = scores.mean(axis=0)
    return _figure(items / (items - 1) * (1 - float((p * (1 - p)).sum()) / total_variance))


@dataclass(frozen=True)
class Reliability:
    """A part's internal consistency: KR-20 when every item is scored right or wrong, else
    Cronbach's alpha; with the standard error of measurement in points."""

    kind: str
    """"kr20" or "alpha"."""
    value: float | None
    sem: float | None


def reliability(matrix: ArrayLike, maxima: ArrayLike) -> Reliability:
    """KR-20 over the right/wrong scores (each score over its item's points) when the part is
    scored right or wrong, Cronbach's alpha over the points otherwise; and the standard error of
    measurement of the totals in points."""
    scores = _matrix(matrix)
    if scores.size and is_dichotomous(scores, maxima):
        most = np.broadcast_to(np.asarray(maxima, dtype=np.float64), scores.shape)
        kind, value = "kr20", kr20(scores / most)
    else:
        kind, value = "alpha", cronbach_alpha(scores)
    totals = scores.sum(axis=1) if scores.size else np.zeros(0)
    return Reliability(kind, value, standard_error_of_measurement(totals, value))


def standard_error_of_measurement(totals: ArrayLike, reliability: float | None) -> float | None:
    """SEM = s_T * sqrt(1 - r): the sample standard deviation of the totals times the square root
    of what the reliability r leaves unexplained. None without a reliability or a deviation; a
    reliability below 0 counts as 0 (the SEM is then the whole deviation)."""
    if reliability is None:
        return None
    _mean, deviation = mean_and_sd(totals)
    if deviation is None:
        return None
    return _figure(deviation * math.sqrt(1 - min(1.0, max(0.0, reliability))))


def choice_shares(picks: Sequence[Collection[str]], options: Sequence[str]) -> dict[str, float]:
    """The share of candidates who chose each option (for a multiple-response question the shares
    add up to more than 1), and under ``NO_ANSWER`` the share who chose none; empty without
    candidates. Picks of options the question does not have are not counted."""
    if not picks:
        return {}
    known = set(options)
    counts = dict.fromkeys(options, 0)
    nothing = 0
    for chosen in picks:
        valid = known.intersection(chosen)
        if not valid:
            nothing += 1
        for option in valid:
            counts[option] += 1
    shares = {option: count / len(picks) for option, count in counts.items()}
    shares[NO_ANSWER] = nothing / len(picks)
    return shares


@dataclass(frozen=True)
class Agreement:
    """How two graders' marks on the same scripts agree."""

    scripts: int
    exact: float | None
    """The share of scripts given the same mark."""
    adjacent: float | None
    """The share of scripts whose two marks are at most one point apart."""
    kappa: float | None
    """Quadratic-weighted Cohen's kappa."""


def kappa_grid(marks: ArrayLike) -> float:
    """The coarsest step of ``KAPPA_STEPS`` every mark is a multiple of (the finest when none)."""
    values = _vector(marks)
    for step in KAPPA_STEPS:
        if np.all(np.abs(values / step - np.round(values / step)) <= 1e-6):
            return step
    return KAPPA_STEPS[-1]


def quadratic_kappa(first: ArrayLike, second: ArrayLike) -> float | None:
    """Quadratic-weighted Cohen's kappa = 1 - sum_ij w_ij O_ij / sum_ij w_ij E_ij, where O is the
    table of observed pairs of marks, E = (row sums x column sums) / n the table chance would
    give, and w_ij = (i - j)^2 the squared distance between the marks. The marks are placed on
    an evenly spaced grid (``kappa_grid``) so that the categories' distances are the marks'
    own. None below two scripts or when chance could give no disagreement (both graders always
    gave one and the same mark). Computed by scikit-learn's ``cohen_kappa_score``."""
    a, b = _vector(first), _vector(second)
    if a.size != b.size:
        raise ValueError("the two graders' marks come in pairs")
    if a.size < 2:
        return None
    # Chance's weighted disagreement, sum w E / n = var(a) + var(b) + (mean a - mean b)^2: when
    # it is nothing, kappa's quotient is 0/0.
    if float(a.var() + b.var() + (a.mean() - b.mean()) ** 2) <= TOLERANCE:
        return None
    step = kappa_grid(np.concatenate([a, b]))
    first_steps = np.round(a / step).astype(int)
    second_steps = np.round(b / step).astype(int)
    lowest = int(min(first_steps.min(), second_steps.min()))
    highest = int(max(first_steps.max(), second_steps.max()))
    value = cohen_kappa_score(
        first_steps, second_steps, labels=list(range(lowest, highest + 1)), weights="quadratic"
    )
    return _figure(float(value))


def agreement(first: ArrayLike, second: ArrayLike) -> Agreement:
    """Exact agreement (the share of equal marks), adjacent agreement (the share of marks at
    most ``ADJACENT_POINTS`` apart) and the quadratic-weighted kappa of two graders' marks on the
    same scripts, in the same order."""
    a, b = _vector(first), _vector(second)
    if a.size != b.size:
        raise ValueError("the two graders' marks come in pairs")
    if a.size == 0:
        return Agreement(0, None, None, None)
    difference = np.abs(a - b)
    return Agreement(
        scripts=int(a.size),
        exact=float(np.mean(difference <= TOLERANCE)),
        adjacent=float(np.mean(difference <= ADJACENT_POINTS + TOLERANCE)),
        kappa=quadratic_kappa(a, b),
    )
