"""How a scheme's open answers are graded (data, never code), and the shapes of a marking."""

from __future__ import annotations

import enum
from datetime import datetime
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


# ---- the graders' JSON API (``web/routes/grading/api.py``) ------------------------------------


class _Api(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimInfo(_Api):
    """A script the grader has claimed and not submitted."""

    code: str
    kind: str = Field(description="essay, case or oral")
    title: str
    claimed_at: datetime
    expires_at: datetime


class GradingQueue(_Api):
    """The grader's own queue: how many scripts wait for them, and their open claims."""

    waiting: int
    claims: list[ClaimInfo]
    to_reconcile: list[str] = Field(description="Codes of scripts this lead grader may reconcile")


class ClaimedScript(_Api):
    """The script just claimed."""

    code: str
    expires_at: datetime


class CriterionInfo(_Api):
    """A criterion of the grading guide."""

    name: str
    description_html: str
    max_points: float


class OtherAnswer(_Api):
    """Another open question of the same case, and the candidate's answer to it."""

    prompt_html: str
    answer: str


class ScriptView(_Api):
    """A script as its grader sees it: the item, the guide, the answer and their own marks;
    never whose answer it is."""

    code: str
    kind: str
    title: str
    stem_html: str
    attachments: list[str] = Field(description="Addresses of the item's files")
    prompt_html: str
    points: float
    criteria: list[CriterionInfo]
    maxima: list[float] = Field(description="Each mark's range is 0 to this")
    notes_html: str
    answer: str
    word_count: int
    other_answers: list[OtherAnswer]
    video: str | None = Field(description="The oral answer's address (Range requests work)")
    marks: list[float | None]
    comment: str
    sequence: int
    saved_at: datetime | None
    submitted_at: datetime | None
    total: float | None


class MarksRequest(_Api):
    """Autosave: the marks per criterion in the guide's order (null: not marked yet; a number or
    a text such as "7,5"), the comment, and a sequence larger than the last save's."""

    marks: list[float | str | None] = Field(max_length=50)
    comment: str = ""
    sequence: int = Field(ge=1, le=2**53 - 1)


class MarksSaved(_Api):
    """The marks as saved (an older sequence than the saved one changes nothing)."""

    marks: list[float | None]
    comment: str
    sequence: int
    saved_at: datetime | None


class MarksSubmitted(_Api):
    """The submitted marks: no longer open to change."""

    marks: list[float | None]
    total: float
    submitted_at: datetime


class ReconciliationInfo(_Api):
    """A script waiting for a lead grader."""

    code: str
    kind: str
    points: float


class Reconciliations(_Api):
    """The scripts this lead grader may reconcile, oldest first."""

    scripts: list[ReconciliationInfo]


class ReconcileRequest(_Api):
    """The final mark (0 to the script's points) and the written grounds."""

    final_points: float | str
    grounds: str


class Reconciled(_Api):
    """The script's final mark, set by the lead grader."""

    code: str
    final_points: float
    decided_at: datetime
