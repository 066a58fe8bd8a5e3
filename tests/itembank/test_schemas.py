"""Item documents: new content is checked after its HTML is cleaned, so that what is stored reads
back; stored versions read under the rules they were written with."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from itembank.html import clean_html, shows_something
from itembank.schemas import ItemDocument, candidate_view, validate_input
from vakt.text import unstorable_text

NOTHING_LEFT = [
    '<video src="a.mp4"></video>',
    "<video src=a.mp4>",
    "<style>p { display: none }</style>",
    "<script>alert(1)</script>",
    '<p><audio src="a.ogg"></audio></p>',
    "<!-- a note -->",
    "<br>",
    "<p> &nbsp; </p>",
]


def _single_choice(**changes: Any) -> dict[str, Any]:
    question: dict[str, Any] = {
        "type": "single_choice",
        "prompt_html": "<p>Hva står NS for?</p>",
        "choices": [{"id": "A", "html": "Norsk Standard"}, {"id": "B", "html": "Ny Samling"}],
        "correct": "A",
    }
    question.update(changes.pop("question", {}))
    return {
        "external_id": "SC-1",
        "title": "Standarder",
        "type": "single_choice",
        "questions": [question],
        **changes,
    }


def _essay(**question_changes: Any) -> dict[str, Any]:
    return {
        "external_id": "ES-1",
        "title": "Drøfting",
        "type": "essay",
        "questions": [
            {
                "type": "essay",
                "prompt_html": "<p>Drøft.</p>",
                "guide": {
                    "criteria": [{"name": "Presisjon", "max_points": 1, "description_html": "x"}]
                },
                **question_changes,
            }
        ],
    }


def _place(field: str, html: str) -> tuple[dict[str, Any], tuple[str | int, ...]]:
    """A document with ``html`` in one HTML field, and where pydantic reports that field."""
    if field == "stem_html":
        return _single_choice(stem_html=html), ("stem_html",)
    if field == "prompt_html":
        return _single_choice(question={"prompt_html": html}), (
            "questions", 0, "single_choice", "prompt_html",
        )  # fmt: skip
    if field == "option":
        data = _single_choice()
        data["questions"][0]["choices"][1]["html"] = html
        return data, ("questions", 0, "single_choice", "choices", 1, "html")
    if field == "item_guide_notes":
        return _single_choice(guide={"notes_html": html}), ("guide", "notes_html")
    if field == "question_guide_notes":
        data = _essay()
        data["questions"][0]["guide"]["notes_html"] = html
        return data, ("questions", 0, "essay", "guide", "notes_html")
    assert field == "criterion_description"
    data = _essay()
    data["questions"][0]["guide"]["criteria"][0]["description_html"] = html
    return data, ("questions", 0, "essay", "guide", "criteria", 0, "description_html")


HTML_FIELDS = [
    "stem_html",
    "prompt_html",
    "option",
    "item_guide_notes",
    "question_guide_notes",
    "criterion_description",
]


@pytest.mark.parametrize("field", HTML_FIELDS)
@pytest.mark.parametrize("html", NOTHING_LEFT)
def test_html_that_cleans_to_nothing_is_refused_at_its_field(field: str, html: str) -> None:
    data, location = _place(field, html)
    with pytest.raises(ValidationError) as caught:
        validate_input(data)
    errors = caught.value.errors()
    assert [(error["loc"], error["type"]) for error in errors] == [(location, "html_shows_nothing")]


@pytest.mark.parametrize("field", HTML_FIELDS)
def test_html_that_shows_something_is_kept_cleaned(field: str) -> None:
    data, _location = _place(field, '<p onclick="x()">Synlig<script>alert(1)</script></p>')
    document = validate_input(data)
    dumped = str(document.model_dump(mode="json"))
    assert "<p>Synlig</p>" in dumped and "alert" not in dumped and "onclick" not in dumped


def test_an_empty_option_is_refused_and_an_image_alone_is_content() -> None:
    data, location = _place("option", "   ")
    with pytest.raises(ValidationError) as caught:
        validate_input(data)
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [
        (location, "string_too_short")
    ]
    image, _ = _place("option", '<img src="kart.png" alt="">')
    assert validate_input(image).questions[0].choices[1].html == '<img src="kart.png" alt="">'  # type: ignore[union-attr]


def test_stored_versions_read_under_the_rules_they_were_written_with() -> None:
    # Before options were checked after cleaning, "<video src=a.mp4>" was stored as "".
    data, _location = _place("option", "")
    document = ItemDocument.model_validate(data)
    assert candidate_view(document).questions[0].choices[1].html == ""
    with pytest.raises(ValidationError):
        validate_input(data)


@pytest.mark.parametrize(
    ("data", "location", "error_type"),
    [
        (_single_choice(title="Standard\x00er"), ("title",), "control_characters"),
        (_single_choice(title="Standard\x1b[31m"), ("title",), "control_characters"),
        (_single_choice(title="Standard\ud800"), ("title",), "string_unicode"),
        (
            _essay(guide={"criteria": [{"name": "Pre\x00sisjon", "max_points": 1}]}),
            ("questions", 0, "essay", "guide", "criteria", 0, "name"),
            "control_characters",
        ),
        (
            _single_choice(question={"points": 99999999999999999999999}),
            ("questions", 0, "single_choice", "points"),
            "less_than_equal",
        ),
        (
            _single_choice(question={"points": float("inf")}),
            ("questions", 0, "single_choice", "points"),
            "less_than_equal",
        ),
        (
            _single_choice(question={"points": float("nan")}),
            ("questions", 0, "single_choice", "points"),
            None,
        ),
    ],
    ids=["nul", "escape", "surrogate", "criterion-nul", "huge-points", "inf-points", "nan-points"],
)
def test_text_and_numbers_that_cannot_be_stored_are_refused(
    data: dict[str, Any], location: tuple[str | int, ...], error_type: str | None
) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_input(data)
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [location]
    if error_type is not None:  # NaN fails a bound; which one pydantic names is its own affair
        assert errors[0]["type"] == error_type


def _multiple_response(**changes: Any) -> dict[str, Any]:
    return {
        "external_id": "MR-1",
        "title": "Flere",
        "type": "multiple_response",
        "questions": [
            {
                "type": "multiple_response",
                "choices": [{"id": c, "html": c} for c in "ABCD"],
                "correct": ["A", "B"],
                "scoring": "mapped",
                "mapping": {"A": 1, "B": 1},
                **changes,
            }
        ],
    }


@pytest.mark.parametrize(
    ("changes", "location", "error_type"),
    [
        ({"mapping": {"A": float("inf"), "B": 1}}, ("mapping", "A"), "not_finite"),
        ({"mapping_default": float("nan")}, ("mapping_default",), "not_finite"),
        ({"lower_bound": float("-inf")}, ("lower_bound",), "not_finite"),
        ({"upper_bound": float("inf")}, ("upper_bound",), "not_finite"),
        ({"max_choices": 99999999999999999999999}, (), "max_choices_too_large"),
    ],
    ids=["mapping", "default", "lower", "upper", "max-choices"],
)
def test_multiple_response_numbers_must_be_finite_and_sensible(
    changes: dict[str, Any], location: tuple[str | int, ...], error_type: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_input(_multiple_response(**changes))
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [
        (("questions", 0, "multiple_response", *location), error_type)
    ]
    ItemDocument.model_validate(_multiple_response(**changes))  # stored ones still read


TRICKY_BUT_VALID = [
    "a < b & c > d",
    "<p>a<p>b",
    "<ul><li>en<li>to</ul>",
    "<table><p>utenfor</p><tr><td>inne</td></tr></table>",
    '<a href="https://example.org/x?a=1&b=2">lenke</a>',
    '<a href="javascript:alert(1)">lenke</a>',
    '<img src="kart.png" alt="&quot;kart&quot;" onerror="x()">',
    "<p>&nbsp;ord&nbsp;</p>",
    "<p title='\"sitat\"'>x</p>",
    "<b><i>kryss</b></i>",
    "tekst<br/>linje",
    "<p>\x01kontroll</p>",
    "<svg><circle/></svg>ord",
    "  mellomrom  ",
]


@pytest.mark.parametrize("html", TRICKY_BUT_VALID)
def test_what_validates_reads_back_as_it_was_stored(html: str) -> None:
    for field in HTML_FIELDS:
        data, _location = _place(field, html)
        document = validate_input(data)
        assert validate_input(document.model_dump(mode="json")) == document
        assert ItemDocument.model_validate(document.model_dump(mode="json")) == document


def test_helpers_say_what_shows_and_what_cannot_be_stored() -> None:
    assert shows_something(clean_html("<p>x</p>"))
    assert shows_something('<img src="a.png">')
    assert not shows_something(clean_html("<video src=a.mp4><p> </p>"))
    assert unstorable_text("a\x00b") and unstorable_text("\ud800")
    assert not unstorable_text("linje\nlinje\ttab\r")
