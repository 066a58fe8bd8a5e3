"""CSV cells a spreadsheet can open safely: text that would run as a formula stays text, numbers
stay numbers, and what there is none of is an empty cell."""

from __future__ import annotations

import csv
import io

import pytest

from web.csv_files import csv_text, safe_cell


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+47 999 99 999", "'+47 999 99 999"),
        ("-2", "'-2"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("Kari Nordmann", "Kari Nordmann"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_text_that_a_spreadsheet_would_run_is_kept_as_text(typed: str, written: str) -> None:
    assert safe_cell(typed) == written


def test_numbers_and_missing_figures() -> None:
    assert safe_cell(3) == "3"
    assert safe_cell(-0.5) == "-0.5"  # a number, not a formula
    assert safe_cell(2.0) == "2"
    assert safe_cell(1 / 3) == "0.3333"
    assert safe_cell(-0.00001) == "0"
    assert safe_cell(None) == ""
    assert safe_cell(float("nan")) == ""
    assert safe_cell(float("inf")) == ""
    with pytest.raises(TypeError):
        safe_cell(True)


def test_quotes_commas_and_line_breaks_survive() -> None:
    text = csv_text(["Navn", "Poeng"], [['Nordmann, "Kari"\nNy linje', 1.5], ["=x", None]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["Navn", "Poeng"],
        ['Nordmann, "Kari"\nNy linje', "1.5"],
        ["'=x", ""],
    ]
