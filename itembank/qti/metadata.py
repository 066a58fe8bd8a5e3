"""What Vakt adds to the QTI it writes, so that reading it back gives the same document.

What QTI has no place for (tags, word limit, scoring rule, points, guide criteria, oral
durations, the item type) travels as JSON in an author-view rubric block holding
``<div class="vakt-metadata">``; grading guides go into scorer-view rubric blocks with the ids
below. Other systems show or ignore them; the reader recognises them and takes them out again.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from itembank.schemas import (
    Criterion,
    EssayQuestion,
    ItemDocument,
    ItemType,
    MultipleResponseQuestion,
    OralQuestion,
    ScoringRule,
)

METADATA_VERSION = 1
"""The version of the JSON Vakt writes into its metadata block."""

GUIDE_ID = "vakt-guide"
"""The id of the item's grading guide rubric; a question's is ``vakt-guide-{question id}``."""
METADATA_CLASS = "vakt-metadata"
CRITERIA_CLASS = "vakt-criteria"
"""The guide's criteria listed for people reading the file (the metadata holds them for Vakt)."""
STEM_CLASS = "vakt-stem"


class QuestionMetadata(BaseModel):
    """What the metadata says about one question."""

    model_config = ConfigDict(extra="ignore")

    points: float | None = None
    scoring: ScoringRule | None = None
    derived_mapping: bool = False
    """The QTI mapping was written only so other systems score per option; Vakt ignores it."""
    mapping_default: float | None = None
    lower_bound: float | None = None
    upper_bound: float | None = None
    word_limit: int | None = None
    preparation_seconds: int | None = None
    max_duration_seconds: int | None = None
    criteria: list[Criterion] = Field(default_factory=list)


class ItemMetadata(BaseModel):
    """What the metadata says about the item, and its questions by response identifier."""

    model_config = ConfigDict(extra="ignore")

    vakt: int
    type: ItemType | None = None
    language: str | None = None
    tags: list[str] = Field(default_factory=list)
    attachments: list[str] = Field(default_factory=list)
    criteria: list[Criterion] = Field(default_factory=list)
    questions: dict[str, QuestionMetadata] = Field(default_factory=dict)


def question_metadata(metadata: ItemMetadata | None, response: str) -> QuestionMetadata | None:
    """What the metadata (if any) says about the question of ``response``."""
    return None if metadata is None else metadata.questions.get(response)


def metadata_of(document: ItemDocument, derived: set[str]) -> ItemMetadata:
    """The metadata of a document; ``derived`` names the questions whose QTI mapping was
    written only for other systems."""
    questions: dict[str, QuestionMetadata] = {}
    for question in document.questions:
        entry = QuestionMetadata(points=question.points)
        if isinstance(question, MultipleResponseQuestion):
            entry.scoring = question.scoring
            if not question.mapping:
                entry.mapping_default = question.mapping_default
                entry.lower_bound = question.lower_bound
                entry.upper_bound = question.upper_bound
            entry.derived_mapping = question.id in derived
        if isinstance(question, EssayQuestion):
            entry.word_limit = question.word_limit
            entry.criteria = list(question.guide.criteria)
        if isinstance(question, OralQuestion):
            entry.preparation_seconds = question.preparation_seconds
            entry.max_duration_seconds = question.max_duration_seconds
            entry.criteria = list(question.guide.criteria)
        questions[question.id] = entry
    return ItemMetadata(
        vakt=METADATA_VERSION,
        type=document.type,
        language=document.language,
        tags=list(document.tags),
        attachments=list(document.attachments),
        criteria=list(document.guide.criteria),
        questions=questions,
    )
