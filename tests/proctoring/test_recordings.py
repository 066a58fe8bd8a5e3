"""Chunk arithmetic of recordings: which chunk holds a moment of the part, and which numbers
are missing (the upload path is in tests/web/test_proctoring_api.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proctoring.recordings import chunk_at, missing_indexes
from proctoring.schemas import Policy

START = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "chunk_seconds", "index"),
    [
        (0, 5, 0),
        (4.99, 5, 0),
        (5, 5, 1),
        (61, 5, 12),
        (61, 1, 61),
        (-30, 5, 0),
    ],
)
def test_the_chunk_that_holds_a_moment(seconds: float, chunk_seconds: int, index: int) -> None:
    policy = Policy(chunk_seconds=chunk_seconds)
    assert chunk_at(START, START + timedelta(seconds=seconds), policy) == index


def test_missing_chunks_are_the_numbers_not_received_up_to_the_top() -> None:
    assert missing_indexes({0, 2, 3}, 4) == [1, 4]
    assert missing_indexes({0, 1, 2}, 2) == []
    assert missing_indexes(set(), 2) == [0, 1, 2]
    assert missing_indexes(set(), 500, limit=3) == [0, 1, 2]
