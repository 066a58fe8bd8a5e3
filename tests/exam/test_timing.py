"""Timer arithmetic: extra time, breaks, grace and warnings, with a clock that does not sleep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from exam import timing

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes", "percent", "expected"),
    [
        (30, 0, timedelta(minutes=30)),
        (30, 25, timedelta(minutes=37, seconds=30)),
        (60, 50, timedelta(minutes=90)),
        (15, 33, timedelta(seconds=1197)),  # 19 min 57 s: rounded up, never down
        (1, 10, timedelta(seconds=66)),
    ],
)
def test_extra_time(minutes: int, percent: int, expected: timedelta) -> None:
    assert timing.extended(timedelta(minutes=minutes), percent) == expected


def test_negative_extra_time_is_a_bug() -> None:
    with pytest.raises(ValueError):
        timing.extended(timedelta(minutes=10), -5)


def test_deadlines_run_from_each_parts_own_start_so_breaks_do_not_count() -> None:
    first_deadline = timing.part_deadline(START, timedelta(minutes=30), 25)
    assert first_deadline == START + timedelta(minutes=37, seconds=30)
    handed_in = START + timedelta(minutes=20)  # early
    opens = timing.next_part_opens(handed_in, timedelta(minutes=10))
    assert opens == START + timedelta(minutes=30)
    second_start = opens + timedelta(minutes=3)  # the candidate took a little longer
    assert timing.part_deadline(
        second_start, timedelta(minutes=60), 25
    ) == second_start + timedelta(minutes=75)


def test_grace_for_saves_in_flight() -> None:
    deadline = START + timedelta(minutes=30)
    assert timing.accepts_saves(deadline, deadline)
    assert timing.accepts_saves(deadline, deadline + timing.SAVE_GRACE)
    assert not timing.accepts_saves(
        deadline, deadline + timing.SAVE_GRACE + timedelta(microseconds=1)
    )


def test_warnings_at_five_and_one_minute() -> None:
    deadline = START + timedelta(minutes=30)
    assert timing.warnings_passed(deadline, START) == []
    assert timing.warnings_passed(deadline, deadline - timedelta(minutes=5)) == [
        timedelta(minutes=5)
    ]
    assert timing.warnings_passed(deadline, deadline - timedelta(seconds=30)) == [
        timedelta(minutes=5),
        timedelta(minutes=1),
    ]
    assert timing.remaining(deadline, deadline + timedelta(seconds=3)) == timedelta(0)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = timing.FixedClock(START)
    assert clock.now() == START
    clock.advance(timedelta(hours=1))
    assert clock.now() == START + timedelta(hours=1)
