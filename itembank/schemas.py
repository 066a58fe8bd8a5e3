"""The item document: what one version of an item says, validated, in every format's common shape.

An item is a stem (for a case: the scenario) followed by one or more questions. Single choice,
multiple response, essay and oral items have exactly one question of their own type; a case has
one or more questions of any other type. Keys (correct answers, partial-credit maps) and grading
guides live in the document too; ``candidate_view`` strips them before anything reaches a candidate.

Two ways to validate: ``validate_input`` for new content (the editor, the API, imports) applies
every rule, checked after the HTML is cleaned, so that nothing is stored that would not read back;
plain ``ItemDocument.model_validate`` reads stored versions and leaves out the rules added for new
content since, so that every version stored under older rules still reads. The checks of single
fields and the texts of their errors are in ``itembank.checks``, what HTML may hold in
``itembank.html``.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from itembank.checks import (
    IDENTIFIER,
    NEW_CONTENT,
    TAG,
    FiniteNumber,
    PlainText,
    check_error,
    clean_optional_html,
    clean_required_html,
    is_new_content,
)
from vakt.i18n import LazyText, _l


class ItemType(enum.StrEnum):
    """The kinds of item the bank holds."""

    SINGLE_CHOICE = "single_choice"
    MULTIPLE_RESPONSE = "multiple_response"
    ESSAY = "essay"
    CASE = "case"
    ORAL = "oral"


class ItemStatus(enum.StrEnum):
    """Where a version stands in the review workflow."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    RETIRED = "retired"


class ScoringRule(enum.StrEnum):
    """How a multiple-response question turns the chosen options into points."""

    ALL_OR_NOTHING = "all_or_nothing"
    """Full points for exactly the correct set, otherwise nothing."""
    PER_OPTION = "per_option"
    """Each correct option chosen earns points/n_correct, each wrong one costs as much;
    never below 0."""
    MAPPED = "mapped"
    """Each option has its own value (QTI mapping); the sum is clamped to the bounds."""


STATUS_LABELS: dict[ItemStatus, LazyText] = {
    ItemStatus.DRAFT: _l("Draft"),
    ItemStatus.IN_REVIEW: _l("In review"),
    ItemStatus.APPROVED: _l("Approved"),
    ItemStatus.RETIRED: _l("Retired"),
}
TYPE_LABELS: dict[ItemType, LazyText] = {
    ItemType.SINGLE_CHOICE: _l("Single choice"),
    ItemType.MULTIPLE_RESPONSE: _l("Multiple response"),
    ItemType.ESSAY: _l("Open question (essay)"),
    ItemType.CASE: _l("Case"),
    ItemType.ORAL: _l("Oral task (video)"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Criterion(_Strict):
    """One criterion of a grading guide, with the points it can give."""

    name: PlainText = Field(min_length=1, max_length=200)
    description_html: str = ""
    max_points: float = Field(ge=0, le=1000)

    _clean = field_validator("description_html")(clean_optional_html)


class GradingGuide(_Strict):
    """The confidential guide graders use: criteria with points, and free notes."""

    criteria: list[Criterion] = Field(default_factory=list)
    notes_html: str = ""

    _clean = field_validator("notes_html")(clean_optional_html)

    @property
    def is_empty(self) -> bool:
        """True when the guide says nothing."""
        return not self.criteria and not self.notes_html


class Choice(_Strict):
    """One option of a choice question."""

    id: str
    html: str
    """Required: ``validate_input`` refuses an option that shows nothing. Versions stored before
    that rule may hold an option that was cleaned to nothing; they still read."""

    @field_validator("id")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise check_error("bad_identifier")
        return value

    _clean = field_validator("html")(clean_required_html)


class _Question(_Strict):
    id: str = "RESPONSE"
    prompt_html: str = ""
    points: float = Field(default=1.0, gt=0, le=1000)

    _clean = field_validator("prompt_html")(clean_optional_html)

    @field_validator("id")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise check_error("bad_identifier")
        return value


class _ChoiceQuestion(_Question):
    choices: list[Choice] = Field(min_length=2, max_length=40)
    shuffle: bool = True

    @model_validator(mode="after")
    def _unique_choices(self) -> _ChoiceQuestion:
        ids = [choice.id for choice in self.choices]
        if len(set(ids)) != len(ids):
            raise check_error("duplicate_option")
        return self

    def choice_ids(self) -> set[str]:
        """The ids of all options."""
        return {choice.id for choice in self.choices}


class SingleChoiceQuestion(_ChoiceQuestion):
    """Pick exactly one option; one is correct."""

    type: Literal["single_choice"] = "single_choice"
    correct: str

    @model_validator(mode="after")
    def _correct_is_an_option(self) -> SingleChoiceQuestion:
        if self.correct not in self.choice_ids():
            raise check_error("correct_not_option", correct=self.correct)
        return self


class MultipleResponseQuestion(_ChoiceQuestion):
    """Pick any number of options; scored by ``scoring``."""

    type: Literal["multiple_response"] = "multiple_response"
    correct: list[str] = Field(min_length=1)
    max_choices: int = Field(default=0, ge=0)
    scoring: ScoringRule = ScoringRule.PER_OPTION
    mapping: dict[str, FiniteNumber] = Field(default_factory=dict)
    mapping_default: FiniteNumber = 0.0
    lower_bound: FiniteNumber | None = None
    upper_bound: FiniteNumber | None = None

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> MultipleResponseQuestion:
        options = self.choice_ids()
        unknown = [c for c in self.correct if c not in options]
        if unknown:
            raise check_error("correct_not_option", correct=", ".join(unknown))
        if len(set(self.correct)) != len(self.correct):
            raise check_error("duplicate_option")
        unknown_map = [k for k in self.mapping if k not in options]
        if unknown_map:
            raise check_error("mapping_unknown_option", options=", ".join(unknown_map))
        if self.scoring is ScoringRule.MAPPED and not self.mapping:
            raise check_error("mapping_missing")
        if self.max_choices and self.max_choices < len(self.correct):
            raise check_error("max_choices_too_small")
        if is_new_content(info) and self.max_choices > len(self.choices):
            raise check_error("max_choices_too_large")
        return self


class EssayQuestion(_Question):
    """An open question answered in writing; graded by people with the guide."""

    type: Literal["essay"] = "essay"
    word_limit: int | None = Field(default=None, gt=0, le=20000)
    expected_length: int | None = Field(default=None, gt=0)
    guide: GradingGuide = Field(default_factory=GradingGuide)


class OralQuestion(_Question):
    """A task the candidate answers on video; graded by people with the guide."""

    type: Literal["oral"] = "oral"
    preparation_seconds: int = Field(default=0, ge=0, le=3600)
    max_duration_seconds: int = Field(default=300, gt=0, le=7200)
    guide: GradingGuide = Field(default_factory=GradingGuide)


Question = Annotated[
    SingleChoiceQuestion | MultipleResponseQuestion | EssayQuestion | OralQuestion,
    Field(discriminator="type"),
]


class ItemDocument(_Strict):
    """Everything one version of an item says. Immutable once stored as a version."""

    external_id: str
    title: PlainText = Field(min_length=1, max_length=300)
    type: ItemType
    language: str = Field(default="nb", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
    tags: list[str] = Field(default_factory=list)
    stem_html: str = ""
    questions: list[Question] = Field(min_length=1, max_length=50)
    guide: GradingGuide = Field(default_factory=GradingGuide)
    attachments: list[str] = Field(default_factory=list)
    """Names of the version's files (images, case documents), e.g. ``images/map.png``."""

    _clean = field_validator("stem_html")(clean_optional_html)

    @field_validator("external_id")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise check_error("bad_identifier")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for tag in value:
            tag = tag.strip()
            if not TAG.match(tag):
                raise check_error("bad_tag", tag=tag)
            if tag not in cleaned:
                cleaned.append(tag)
        return cleaned

    @model_validator(mode="after")
    def _shape(self) -> ItemDocument:
        ids = [question.id for question in self.questions]
        if len(set(ids)) != len(ids):
            raise check_error("duplicate_question")
        if self.type is ItemType.CASE:
            if not self.stem_html:
                raise check_error("case_needs_scenario")
        else:
            if len(self.questions) != 1:
                raise check_error("one_question_only")
            if self.questions[0].type != self.type.value:
                raise check_error("question_type_mismatch", item_type=self.type.value)
        return self

    @property
    def max_points(self) -> float:
        """The most points the item can give."""
        return sum(question.points for question in self.questions)


def validate_input(data: Any) -> ItemDocument:
    """Validate new content (from the editor, the API or an import) by every rule, after its
    HTML is cleaned: what passes reads back as it is stored. Raises pydantic's ValidationError."""
    return ItemDocument.model_validate(data, context={NEW_CONTENT: True})


# ---- what a candidate may see -------------------------------------------------------------------


class CandidateChoice(BaseModel):
    """An option as a candidate sees it."""

    id: str
    html: str


class CandidateQuestion(BaseModel):
    """A question without its key or guide."""

    id: str
    type: str
    prompt_html: str
    points: float
    choices: list[CandidateChoice] = Field(default_factory=list)
    shuffle: bool = Field(default=False, exclude=True)
    """Whether the options are shown in an order of each form's own (``itembank.shuffling``);
    left out of what is sent, since the order sent is the order to show."""
    max_choices: int = 0
    word_limit: int | None = None
    preparation_seconds: int = 0
    max_duration_seconds: int = 0


class CandidateItem(BaseModel):
    """An item as a candidate sees it: no key, no mapping, no grading guide, no tags."""

    title: str
    type: str
    language: str
    stem_html: str
    questions: list[CandidateQuestion]


def candidate_view(document: ItemDocument) -> CandidateItem:
    """Project an item onto what a candidate may see; keys and guides are left behind."""
    questions: list[CandidateQuestion] = []
    for question in document.questions:
        view = CandidateQuestion(
            id=question.id,
            type=question.type,
            prompt_html=question.prompt_html,
            points=question.points,
        )
        if isinstance(question, SingleChoiceQuestion | MultipleResponseQuestion):
            view.choices = [CandidateChoice(id=c.id, html=c.html) for c in question.choices]
            view.shuffle = question.shuffle
        if isinstance(question, SingleChoiceQuestion):
            view.max_choices = 1
        if isinstance(question, MultipleResponseQuestion):
            view.max_choices = question.max_choices
        if isinstance(question, EssayQuestion):
            view.word_limit = question.word_limit
        if isinstance(question, OralQuestion):
            view.preparation_seconds = question.preparation_seconds
            view.max_duration_seconds = question.max_duration_seconds
        questions.append(view)
    return CandidateItem(
        title=document.title,
        type=document.type.value,
        language=document.language,
        stem_html=document.stem_html,
        questions=questions,
    )
