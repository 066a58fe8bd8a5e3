"""The browser's reports as flags: which flag each event raises, and how its times are kept
inside the part (the HTTP path is in tests/web/test_proctoring_api.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

from proctoring.browser_events import BROWSER_FLAGS, clamp_reported
from proctoring.models import FlagType
from proctoring.schemas import BrowserEventType

START = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
NOW = START + timedelta(minutes=10)


def test_every_event_the_page_may_send_raises_a_flag_of_its_own_name() -> None:
    assert set(BROWSER_FLAGS) == set(get_args(BrowserEventType))
    for event_type, flag_type in BROWSER_FLAGS.items():
        assert flag_type is FlagType(event_type)


def test_a_reported_time_is_kept_between_the_parts_start_and_now() -> None:
    def clamp(moment: datetime | None) -> datetime:
        return clamp_reported(moment, earliest=START, now=NOW, default=NOW)

    inside = START + timedelta(minutes=3)
    assert clamp(inside) == inside
    assert clamp(START - timedelta(hours=1)) == START, "before the part began"
    assert clamp(NOW + timedelta(days=1)) == NOW, "never in the future"
    assert clamp(None) == NOW, "no time reported: the default"
    assert clamp_reported(None, earliest=START, now=NOW, default=START) == START
