"""The quality figures, each checked against values worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grading import statistics

# Five candidates, four items scored right (1) or wrong (0):
#
#          i1 i2 i3 i4 | T
#     c1    1  1  1  1 | 4
#     c2    1  1  1  0 | 3
#     c3    1  1  0  0 | 2
#     c4    1  0  1  0 | 2
#     c5    0  0  0  1 | 1
RIGHT_WRONG = [[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]]


def test_facility_is_the_share_right() -> None:
    # p = right / 5: i1 4/5, i2 3/5, i3 3/5, i4 2/5.
    matrix = np.array(RIGHT_WRONG)
    assert [statistics.facility(matrix[:, i], 1) for i in range(4)] == pytest.approx(
        [0.8, 0.6, 0.6, 0.4]
    )
    # On points: an item of 2 points with marks 2, 1, 0, 1 gives p = (4 / 4) / 2 = 0.5.
    assert statistics.facility([2, 1, 0, 1], 2) == pytest.approx(0.5)
    assert statistics.facility([], 1) is None


def test_corrected_item_total_correlation() -> None:
    # i1 = (1,1,1,1,0) against the rest R = T - i1 = (3,2,1,1,1):
    #   means 0.8 and 1.6; deviations (.2,.2,.2,.2,-.8) and (1.4,.4,-.6,-.6,-.6)
    #   sum of products = .28 + .08 - .12 - .12 + .48 = 0.6
    #   sums of squares 0.8 and 1.96 + .16 + .36 * 3 = 3.2
    #   r = 0.6 / sqrt(0.8 * 3.2) = 0.6 / 1.6 = 0.375
    # i2 = (1,1,1,0,0), R = (3,2,1,2,1): means .6, 1.8; products .48 + .08 - .32 - .12 + .48 =
    #   0.6; squares 1.2 and 2.8: r = 0.6 / sqrt(3.36) = 0.32733
    # i3 = (1,1,0,1,0), R = (3,2,2,1,1): products .48 + .08 - .12 - .32 + .48 = 0.6; squares
    #   1.2 and 2.8: r = 0.32733
    # i4 = (1,0,0,0,1), R = (3,3,2,2,0): means .4, 2; deviations (.6,-.4,-.4,-.4,.6) and
    #   (1,1,0,0,-2): products .6 - .4 - 1.2 = -1; squares 1.2 and 6: r = -1 / sqrt(7.2) =
    #   -0.37268
    assert statistics.discriminations(RIGHT_WRONG) == pytest.approx(
        [0.375, 0.6 / math.sqrt(3.36), 0.6 / math.sqrt(3.36), -1 / math.sqrt(7.2)]
    )
    assert statistics.discriminations(RIGHT_WRONG)[0] == pytest.approx(0.375)
    assert statistics.discriminations(RIGHT_WRONG)[3] == pytest.approx(-0.372678, abs=1e-6)


def test_kr20_and_the_standard_error_of_measurement() -> None:
    # sum p q = .8*.2 + .6*.4 + .6*.4 + .4*.6 = .16 + .24 + .24 + .24 = 0.88
    # T = (4,3,2,2,1), mean 2.4, sum of squared deviations 2.56 + .36 + .16 + .16 + 1.96 = 5.2
    #   population variance 5.2 / 5 = 1.04
    # KR-20 = 4/3 * (1 - 0.88 / 1.04) = 4/3 * 0.16 / 1.04 = 8/39 = 0.205128
    # SEM = s_T * sqrt(1 - KR-20), s_T = sqrt(5.2 / 4) = sqrt(1.3):
    #   sqrt(1.3 * 31/39) = sqrt(1.033333) = 1.016530
    assert statistics.kr20(RIGHT_WRONG) == pytest.approx(8 / 39)
    # KR-20 is alpha of right/wrong scores.
    assert statistics.cronbach_alpha(RIGHT_WRONG) == pytest.approx(8 / 39)
    found = statistics.reliability(RIGHT_WRONG, [1, 1, 1, 1])
    assert found.kind == "kr20"
    assert found.value == pytest.approx(8 / 39)
    assert found.sem == pytest.approx(1.016530, abs=1e-6)
    # Items of 2 points scored all or nothing are right/wrong too: KR-20 over the 0/1 scores;
    # the SEM is in points, twice as large.
    doubled = statistics.reliability(np.array(RIGHT_WRONG) * 2, [2, 2, 2, 2])
    assert doubled.kind == "kr20" and doubled.value == pytest.approx(8 / 39)
    assert doubled.sem == pytest.approx(2 * 1.016530, abs=1e-6)


def test_cronbach_alpha_on_points() -> None:
    # Four candidates, three open items (0-4 points):
    #          i1 i2 i3 | T
    #     c1    2  3  4 | 9
    #     c2    1  2  2 | 5
    #     c3    0  1  2 | 3
    #     c4    1  2  3 | 6
    # Sample variances: i1 mean 1, squares 1+0+1+0 = 2 -> 2/3; i2 mean 2 -> 2/3;
    #   i3 mean 2.75, squares 1.5625 + .5625 + .5625 + .0625 = 2.75 -> 11/12; sum 27/12 = 2.25
    # T mean 5.75, squares 10.5625 + .5625 + 7.5625 + .0625 = 18.75 -> 6.25
    # alpha = 3/2 * (1 - 2.25 / 6.25) = 1.5 * 0.64 = 0.96
    # SEM = sqrt(6.25) * sqrt(1 - 0.96) = 2.5 * 0.2 = 0.5
    points = [[2, 3, 4], [1, 2, 2], [0, 1, 2], [1, 2, 3]]
    found = statistics.reliability(points, [4, 4, 4])
    assert found.kind == "alpha"
    assert found.value == pytest.approx(0.96)
    assert found.sem == pytest.approx(0.5)


def test_figures_the_data_cannot_give_are_none_never_nan() -> None:
    assert statistics.cronbach_alpha([[1, 2]]) is None  # one candidate
    assert statistics.cronbach_alpha([[1], [0]]) is None  # one item
    assert statistics.kr20([[1, 1], [1, 1], [1, 1]]) is None  # every total the same
    assert statistics.corrected_item_total([1, 1, 1], [3, 2, 1]) is None  # constant item
    assert statistics.correlation([1, 0], [1, 0]) is None  # two points always lie on a line
    assert statistics.mean_and_sd([]) == (None, None)
    assert statistics.mean_and_sd([3]) == (3.0, None)
    empty = statistics.reliability(np.zeros((0, 3)), [1, 1, 1])
    assert empty.value is None and empty.sem is None
    assert statistics.standard_error_of_measurement([1, 2, 3], None) is None
    assert statistics.agreement([], []) == statistics.Agreement(0, None, None, None)


def test_mean_and_sample_deviation() -> None:
    # (2, 4, 4, 4, 5, 5, 7, 9): mean 5, squares 9+1+1+1+0+0+4+16 = 32, s = sqrt(32 / 7) = 2.13809
    mean, sd = statistics.mean_and_sd([2, 4, 4, 4, 5, 5, 7, 9])
    assert mean == pytest.approx(5)
    assert sd == pytest.approx(math.sqrt(32 / 7))


def test_choice_shares() -> None:
    # Four candidates: A; B; nothing; A and C (a multiple response). A 2/4, B 1/4, C 1/4, none 1/4.
    shares = statistics.choice_shares([["A"], ["B"], [], ["A", "C"]], ["A", "B", "C", "D"])
    assert shares == {"A": 0.5, "B": 0.25, "C": 0.25, "D": 0.0, "": 0.25}
    # An option the question does not have counts as no answer.
    assert statistics.choice_shares([["X"]], ["A"]) == {"A": 0.0, "": 1.0}
    assert statistics.choice_shares([], ["A"]) == {}


def test_two_graders_agreement_and_quadratic_kappa() -> None:
    # Two graders on six scripts of 0-4 points:
    #   A = (2, 3, 4, 1, 0, 3)
    #   B = (2, 2, 4, 3, 0, 4)
    #   A - B = (0, 1, 0, -2, 0, -1): exact 3/6 = 0.5; within one point 5/6
    #
    # Observed table O (rows A's mark, columns B's mark):
    #          B0 B1 B2 B3 B4 | A's
    #     A0    1  .  .  .  . | 1
    #     A1    .  .  .  1  . | 1
    #     A2    .  .  1  .  . | 1
    #     A3    .  .  1  .  1 | 2
    #     A4    .  .  .  .  1 | 1
    #     B's   1  0  2  1  2 | 6
    # Weights w_ij = (i - j)^2. sum w O = (1-3)^2 + (3-2)^2 + (3-4)^2 = 4 + 1 + 1 = 6.
    # Chance's table E_ij = A_i * B_j / 6, so sum w E = (1/6) sum_i A_i sum_j B_j (i - j)^2:
    #   A0: 1*0 + 2*4 + 1*9 + 2*16 = 49
    #   A1: 1*1 + 2*1 + 1*4 + 2*9  = 25
    #   A2: 1*4 + 2*0 + 1*1 + 2*4  = 13
    #   A3: 2 * (1*9 + 2*1 + 1*0 + 2*1) = 26
    #   A4: 1*16 + 2*4 + 1*1 + 2*0 = 25
    #   total 138, sum w E = 138 / 6 = 23
    # kappa = 1 - 6 / 23 = 17/23 = 0.739130
    found = statistics.agreement([2, 3, 4, 1, 0, 3], [2, 2, 4, 3, 0, 4])
    assert found.scripts == 6
    assert found.exact == pytest.approx(0.5)
    assert found.adjacent == pytest.approx(5 / 6)
    assert found.kappa == pytest.approx(17 / 23)


def test_kappa_keeps_the_marks_distances() -> None:
    # Half points: the same marks halved (the grid is 0.5) give the same kappa, for the weights
    # only scale; a grid of whole points would have put 1.5 and 2 in one category.
    halved = statistics.quadratic_kappa([1, 1.5, 2, 0.5, 0, 1.5], [1, 1, 2, 1.5, 0, 2])
    assert halved == pytest.approx(17 / 23)
    # Marks 0, 2 and 4 only: categories 0..4 on a grid of 1, not three neighbouring labels.
    # A = (0, 4), B = (2, 4): sum w O = (0-2)^2 = 4; A's marks (0, 4), B's (2, 4):
    # sum w E = (1/2) * [(0-2)^2 + (0-4)^2 + (4-2)^2 + (4-4)^2] = (4 + 16 + 4 + 0) / 2 = 12
    # kappa = 1 - 4 / 12 = 2/3
    assert statistics.quadratic_kappa([0, 4], [2, 4]) == pytest.approx(2 / 3)


def test_kappa_when_chance_gives_no_disagreement() -> None:
    # Both always gave 3: agreement is total, but kappa's quotient is 0/0.
    assert statistics.quadratic_kappa([3, 3, 3], [3, 3, 3]) is None
    found = statistics.agreement([3, 3, 3], [3, 3, 3])
    assert found.exact == 1.0 and found.kappa is None
    # One gave 3 always, the other 2 always: no better than chance, kappa 0.
    # sum w O = 3 * 1 = 3; sum w E = (1/3) * 3 * 3 * 1 = 3; kappa = 1 - 3/3 = 0
    assert statistics.quadratic_kappa([3, 3, 3], [2, 2, 2]) == pytest.approx(0)


def test_the_grid_for_kappa() -> None:
    assert statistics.kappa_grid([1, 2, 3]) == 1
    assert statistics.kappa_grid([1, 2.5]) == 0.5
    assert statistics.kappa_grid([0.25, 1]) == 0.25
    assert statistics.kappa_grid([8.3333]) == 0.1
