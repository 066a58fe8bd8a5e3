"""Time rules of an exam: deadlines with extra time, breaks, grace for saves in flight.

Every deadline is computed on the server from the part's own start; the browser only shows it.
Time comes from a ``Clock`` so tests move it instead of sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from vakt.db import utcnow

SAVE_GRACE = timedelta(seconds=5)
"""Saves that arrive this long after a deadline were in flight when time ran out; they count."""
WARNINGS = (timedelta(minutes=5), timedelta(minutes=1))
"""When the candidate is warned that time is running out."""


class Clock(Protocol):
    """Where the current time comes from."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return utcnow()


@dataclass
class FixedClock:
    """A clock that stands still until moved (for tests and simulations)."""

    current: datetime = field(default_factory=utcnow)

    def now(self) -> datetime:
        """The clock's time."""
        return self.current

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.current += delta

    def set(self, moment: datetime) -> None:
        """Put the clock at ``moment``."""
        self.current = moment


def extended(duration: timedelta, extra_time_percent: int) -> timedelta:
    """A part's duration with approved extra time, rounded up to whole seconds."""
    if extra_time_percent < 0:
        raise ValueError("extra time cannot be negative")
    seconds = duration.total_seconds() * (100 + extra_time_percent) / 100
    return timedelta(seconds=math.ceil(seconds - 1e-9))


def part_deadline(
    started_at: datetime, duration: timedelta, extra_time_percent: int = 0
) -> datetime:
    """When a part started at ``started_at`` must be handed in."""
    return started_at + extended(duration, extra_time_percent)


def next_part_opens(submitted_at: datetime, break_after: timedelta) -> datetime:
    """When the next part may start: after the break that follows the submitted part.

    Breaks never count against a part, because each part's deadline runs from its own start.
    """
    return submitted_at + break_after


def remaining(deadline: datetime, now: datetime) -> timedelta:
    """Time left before the deadline (never negative)."""
    return max(timedelta(0), deadline - now)


def accepts_saves(deadline: datetime, now: datetime, grace: timedelta = SAVE_GRACE) -> bool:
    """True while a save may still be accepted for a part with this deadline."""
    return now <= deadline + grace


def warnings_passed(deadline: datetime, now: datetime) -> list[timedelta]:
    """The warnings (minutes left) whose moment has come, largest first."""
    left = deadline - now
    return [mark for mark in WARNINGS if left <= mark]
