"""How a scheme's open answers are graded (data, never code), and the shapes of a marking."""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class MarksPerScript(enum.StrEnum):
    """How many independent graders mark each script."""

    ONE = "one"
    TWO = "two"
    TWO_FOR_A_SHARE = "two_for_a_share"
    """Two for a random share of the scripts (``double_share_percent``), one for the rest."""


class FinalRule(enum.StrEnum):
    """How two marks within the tolerance become the final mark."""

    MEAN = "mean"
    LOWER = "lower"


class GradingRules(BaseModel):
    """A scheme's rules for grading open answers."""

    model_config = ConfigDict(extra="forbid")

    marks_per_script: MarksPerScript = MarksPerScript.TWO
    double_share_percent: int = Field(default=20, ge=0, le=100)
    """With ``two_for_a_share``: the share of scripts that get a second grader."""
    tolerance_percent: float = Field(default=20.0, ge=0, le=100)
    """Two totals further apart than this share of the script's points go to a lead grader."""
    final_rule: FinalRule = FinalRule.MEAN
    claim_minutes: int = Field(default=120, ge=5, le=24 * 60)
    """A claimed script that is not submitted within this time returns to the queue."""


CriterionMarks = Annotated[list[float | None], Field(max_length=50)]
"""A grader's points per criterion of the guide, in the guide's order (None: not marked yet)."""
