"""Certificate numbers and validity: the period counted in calendar months from the decision's
date in the body's time zone, the computed expiry, numbers that do not repeat."""

from __future__ import annotations

from datetime import UTC, date, datetime

from certification.certificates import (
    NUMBER_ALPHABET,
    _new_number,
    add_months,
    local_date,
    validity,
)
from certification.schemas import CertificationRules


def test_months_are_calendar_months() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 12, 5), 36) == date(2029, 12, 5)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_three_years_end_the_day_before_the_anniversary() -> None:
    assert validity(date(2026, 12, 5), CertificationRules()) == (
        date(2026, 12, 5),
        date(2029, 12, 4),
    )
    assert validity(date(2028, 2, 29), CertificationRules(validity_months=12)) == (
        date(2028, 2, 29),
        date(2029, 2, 27),
    )


def test_the_decision_date_is_the_body_s_date() -> None:
    late_evening_utc = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert local_date(late_evening_utc, "Europe/Oslo") == date(2027, 1, 1)
    assert local_date(late_evening_utc, "UTC") == date(2026, 12, 31)


def test_numbers_are_random_and_readable() -> None:
    numbers = {_new_number("MANGFOLD") for _ in range(1000)}
    assert len(numbers) == 1000
    for number in numbers:
        prefix, first, second = number.split("-")
        assert prefix == "MANGFOLD" and len(first) == len(second) == 5
        assert set(first + second) <= set(NUMBER_ALPHABET)
    assert _new_number("æ ø/å").startswith("CERT-")
