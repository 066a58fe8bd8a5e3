"""Small builders for item documents used across the item bank tests."""

from __future__ import annotations

from typing import Any

from itembank.schemas import ItemDocument


def single_choice(
    external_id: str = "SC-1", *, tags: list[str] | None = None, **extra: Any
) -> ItemDocument:
    """A valid single-choice item."""
    return ItemDocument.model_validate(
        {
            "external_id": external_id,
            "title": f"Spørsmål {external_id}",
            "type": "single_choice",
            "tags": tags or ["grunnleggende"],
            "questions": [
                {
                    "type": "single_choice",
                    "prompt_html": "<p>Hva står NS for?</p>",
                    "choices": [
                        {"id": "A", "html": "Norsk Standard"},
                        {"id": "B", "html": "Ny Samling"},
                        {"id": "C", "html": "Nasjonal Sak"},
                    ],
                    "correct": "A",
                }
            ],
            **extra,
        }
    )


def essay(
    external_id: str = "ES-1", *, tags: list[str] | None = None, points: float = 10
) -> ItemDocument:
    """A valid essay item with a grading guide."""
    return ItemDocument.model_validate(
        {
            "external_id": external_id,
            "title": f"Drøft {external_id}",
            "type": "essay",
            "tags": tags or ["strategi"],
            "questions": [
                {
                    "type": "essay",
                    "prompt_html": "<p>Drøft mangfoldsledelse.</p>",
                    "points": points,
                    "word_limit": 400,
                    "guide": {
                        "criteria": [{"name": "Faglig presisjon", "max_points": points}],
                        "notes_html": "<p>Hemmelig sensorveiledning</p>",
                    },
                }
            ],
        }
    )
