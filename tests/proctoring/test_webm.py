"""The WebM check across chunks cut anywhere, and bytes that are not WebM."""

from __future__ import annotations

import pytest

from proctoring import webm
from tests.proctoring.webm_sample import make_webm, split


def scan_all(chunks: list[bytes]) -> webm.ScanState:
    state = webm.ScanState()
    for chunk in chunks:
        # The state goes through JSON between chunks, as it does through the database.
        state = webm.ScanState.from_json(webm.scan(state, chunk).to_json())
    return state


def test_a_webm_cut_at_every_byte_is_accepted() -> None:
    data = make_webm(frames=6)
    for cut in range(64, len(data)):  # a first chunk always holds the whole header
        scan_all([data[:cut], data[cut:]])


def test_a_webm_in_many_small_pieces_is_accepted() -> None:
    data = make_webm()
    scan_all(split(data, [64] + [7] * (len(data) // 7)))


def test_a_restarted_recorder_begins_a_new_stream() -> None:
    data = make_webm(frames=4)
    scan_all([data[:100], data[100:150], data])


@pytest.mark.parametrize(
    "chunks",
    [
        [b"\x89PNG\r\n\x1a\n" + b"\x00" * 64],
        [b"GIF89a" + b"\x00" * 64],
        [b"\x1a\x45\xdf\xa3\x84\x42\x82\x81\x00matroska-not-webm" + b"\x00" * 40],
    ],
)
def test_other_formats_are_refused(chunks: list[bytes]) -> None:
    with pytest.raises(webm.NotWebMError):
        scan_all(chunks)


def test_garbage_after_a_good_start_is_refused() -> None:
    data = make_webm(frames=6)
    cut = len(data) // 2
    with pytest.raises(webm.NotWebMError):
        # Text where the continuation should be: the walk meets an element that is not there.
        scan_all([data[:cut], b"<html><body>" + b"x" * 100_000])
