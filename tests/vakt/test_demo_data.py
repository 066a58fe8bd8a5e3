"""The demo data `vakt demo` seeds: a valid Norwegian bank, big enough for two different forms of
the demo blueprint."""

from __future__ import annotations

from collections import Counter
from importlib import resources
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from itembank.blueprints import PART_ITEM_TYPES, BlueprintDefinition
from itembank.schemas import (
    EssayQuestion,
    ItemDocument,
    ItemType,
    MultipleResponseQuestion,
    OralQuestion,
    ScoringRule,
    SingleChoiceQuestion,
)

TAGS = {
    "ns11251:strategi",
    "ns11251:lovverk",
    "ns11251:rekruttering",
    "ns11251:kultur",
    "ns11251:maling",
    "iso26000",
    "grunnleggende",
}
MINIMUM_COUNTS = {
    ItemType.SINGLE_CHOICE: 22,
    ItemType.MULTIPLE_RESPONSE: 10,
    ItemType.ESSAY: 8,
    ItemType.CASE: 5,
    ItemType.ORAL: 5,
}


def _demo() -> Any:
    return resources.files("vakt") / "demo"


def _load(resource: Any) -> Any:
    with resource.open("r", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _bank_files() -> list[Any]:
    folder = _demo() / "bank"
    return sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".yaml")),
        key=lambda entry: entry.name,
    )


def _raw_items() -> list[tuple[str, dict[str, Any]]]:
    items: list[tuple[str, dict[str, Any]]] = []
    for resource in _bank_files():
        data = _load(resource)
        assert isinstance(data, list) and data, f"{resource.name} must be a non-empty list"
        items.extend((resource.name, item) for item in data)
    return items


@pytest.fixture(scope="module")
def bank() -> list[ItemDocument]:
    return [ItemDocument.model_validate(item) for _name, item in _raw_items()]


@pytest.fixture(scope="module")
def blueprint() -> dict[str, Any]:
    data = _load(_demo() / "blueprint.yaml")
    assert isinstance(data, dict)
    return data


def test_the_bank_has_the_expected_files() -> None:
    assert [resource.name for resource in _bank_files()] == [
        "01-enkeltvalg.yaml",
        "02-flervalg.yaml",
        "03-kunnskap.yaml",
        "04-case.yaml",
        "05-muntlig.yaml",
    ]


def test_every_item_validates() -> None:
    problems: list[str] = []
    for name, item in _raw_items():
        try:
            ItemDocument.model_validate(item)
        except ValidationError as exc:
            problems.append(f"{name} {item.get('external_id')}: {exc}")
    assert problems == []


def test_external_ids_are_unique_across_files(bank: list[ItemDocument]) -> None:
    duplicates = [
        external_id
        for external_id, count in Counter(item.external_id for item in bank).items()
        if count > 1
    ]
    assert duplicates == []


def test_the_bank_holds_enough_items_of_each_type(bank: list[ItemDocument]) -> None:
    counts = Counter(item.type for item in bank)
    for item_type, minimum in MINIMUM_COUNTS.items():
        assert counts[item_type] >= minimum, f"{item_type.value}: {counts[item_type]} < {minimum}"


def test_items_are_norwegian_and_tagged_from_the_vocabulary(bank: list[ItemDocument]) -> None:
    for item in bank:
        assert item.language == "nb", item.external_id
        assert 1 <= len(item.tags) <= 2, item.external_id
        assert set(item.tags) <= TAGS, f"{item.external_id}: {set(item.tags) - TAGS}"


def test_choice_questions_have_the_agreed_shape(bank: list[ItemDocument]) -> None:
    rules: set[ScoringRule] = set()
    for item in bank:
        if item.type is ItemType.SINGLE_CHOICE:
            question = item.questions[0]
            assert isinstance(question, SingleChoiceQuestion)
            assert [c.id for c in question.choices] == ["A", "B", "C", "D"], item.external_id
            assert question.points == 1, item.external_id
        if item.type is ItemType.MULTIPLE_RESPONSE:
            question = item.questions[0]
            assert isinstance(question, MultipleResponseQuestion)
            assert len(question.choices) == 5, item.external_id
            assert question.points == 2, item.external_id
            rules.add(question.scoring)
            if question.scoring is ScoringRule.MAPPED:
                assert question.lower_bound == 0, item.external_id
                best = sum(
                    question.mapping.get(c, question.mapping_default) for c in question.correct
                )
                assert best == question.points, item.external_id
    assert rules == set(ScoringRule)


def test_correct_answers_are_spread_over_the_options(bank: list[ItemDocument]) -> None:
    keys = Counter(
        question.correct
        for item in bank
        if item.type is ItemType.SINGLE_CHOICE
        for question in item.questions
        if isinstance(question, SingleChoiceQuestion)
    )
    assert set(keys) == {"A", "B", "C", "D"}


def test_multiple_response_keys_are_spread_over_the_options(bank: list[ItemDocument]) -> None:
    keys = [
        set(question.correct)
        for item in bank
        for question in item.questions
        if isinstance(question, MultipleResponseQuestion)
    ]
    assert len(keys) >= 10
    # A candidate who always ticks the same letter must gain nothing by it.
    in_every_key = set.intersection(*keys)
    assert in_every_key == set(), f"{sorted(in_every_key)} is correct in every key"
    counts = Counter(option for key in keys for option in key)
    assert set(counts) == {"A", "B", "C", "D", "E"}
    assert max(counts.values()) <= len(keys) * 3 // 4, counts


def test_grading_guides_add_up_to_the_points(bank: list[ItemDocument]) -> None:
    for item in bank:
        for question in item.questions:
            if isinstance(question, EssayQuestion | OralQuestion):
                assert question.guide.criteria, f"{item.external_id} {question.id}"
                total = sum(criterion.max_points for criterion in question.guide.criteria)
                assert total == question.points, f"{item.external_id} {question.id}"


def test_cases_and_oral_tasks_have_the_agreed_shape(bank: list[ItemDocument]) -> None:
    for item in bank:
        if item.type is ItemType.CASE:
            assert 2 <= len(item.questions) <= 3, item.external_id
            assert [q.id for q in item.questions] == [
                f"Q{n + 1}" for n in range(len(item.questions))
            ]
            assert any(isinstance(q, EssayQuestion) for q in item.questions), item.external_id
        if item.type is ItemType.ORAL:
            question = item.questions[0]
            assert isinstance(question, OralQuestion)
            assert 60 <= question.preparation_seconds <= 120, item.external_id
            assert 180 <= question.max_duration_seconds <= 300, item.external_id


def test_the_blueprint_validates(blueprint: dict[str, Any]) -> None:
    assert blueprint["code"] == "DM-FIRST"
    assert blueprint["language"] == "nb"
    definition = BlueprintDefinition.model_validate(blueprint["definition"])
    assert [part.key for part in definition.parts] == ["flervalg", "kunnskap", "case", "muntlig"]
    assert all(part.pass_threshold == 0.7 for part in definition.parts)
    assert definition.allowed_aids


def test_the_bank_can_fill_two_different_forms(
    bank: list[ItemDocument], blueprint: dict[str, Any]
) -> None:
    definition = BlueprintDefinition.model_validate(blueprint["definition"])
    for part in definition.parts:
        for rule in part.rules:
            types = [rule.item_type] if rule.item_type else list(PART_ITEM_TYPES[part.kind])
            matching = [
                item
                for item in bank
                if item.type in types
                and item.language == blueprint["language"]
                and set(rule.tags) <= set(item.tags)
            ]
            assert rule.count * 2 <= len(matching), (
                f"{part.key}: {rule.count} of {len(matching)} matching items"
            )
