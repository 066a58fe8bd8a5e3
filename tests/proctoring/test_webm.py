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


def test_zero_bytes_after_any_cut_are_refused() -> None:
    """Wherever the previous chunk ended (between elements, inside a header, deep inside a
    frame), a chunk of zero bytes does not continue the stream."""
    data = make_webm(frames=6)
    for cut in range(64, len(data)):
        state = webm.ScanState.from_json(webm.scan(webm.ScanState(), data[:cut]).to_json())
        with pytest.raises(webm.NotWebMError):
            webm.scan(state, bytes(1000))


def test_zero_bytes_spread_over_small_chunks_are_refused() -> None:
    data = make_webm(frames=6)
    state = webm.scan(webm.ScanState(), data[:1000])  # inside the first frame
    with pytest.raises(webm.NotWebMError):
        for _ in range(webm.MAX_ZERO_RUN):
            state = webm.ScanState.from_json(webm.scan(state, b"\x00").to_json())


def _element(element_id: bytes, payload: bytes) -> bytes:
    """An EBML element with an 8-byte size."""
    return element_id + (0x01 << 56 | len(payload)).to_bytes(8, "big") + payload


def _between_clusters(data: bytes) -> int:
    """Where the Cues element after the (known-size) cluster starts: an element boundary."""
    cues = data.rindex(b"\x1c\x53\xbb\x6b")
    assert webm.scan(webm.ScanState(), data[:cues]) == webm.ScanState()
    return cues


def test_padding_may_be_zeros_and_blocks_are_read() -> None:
    data = make_webm(frames=4)
    at = _between_clusters(data)
    padding = _element(b"\xec", bytes(4000))
    webm.scan(webm.ScanState(), data[:at] + padding + data[at:])
    # Inside a cluster of unknown size, a block's own header is checked: a track number, a
    # timestamp and flags whose reserved bits are clear.
    cluster = b"\x1f\x43\xb6\x75\x01\xff\xff\xff\xff\xff\xff\xff" + _element(b"\xe7", b"\x00")
    good = _element(b"\xa3", b"\x81\x00\x00\x80" + bytes(range(1, 200)))
    webm.scan(webm.ScanState(), data[:at] + cluster + good)
    for bad_header in (b"\x80\x00\x00\x80", b"\x00\x00\x00\x80", b"\x81\x00\x00\xf0", b"\x81"):
        with pytest.raises(webm.NotWebMError):
            webm.scan(webm.ScanState(), data[:at] + cluster + _element(b"\xa3", bad_header))


def test_a_state_stored_before_blocks_were_read_still_loads() -> None:
    state = webm.ScanState.from_json({"skip": 12, "pending": "a3"})
    assert (state.skip, state.pending, state.block, state.zeros) == (12, b"\xa3", 0, 0)
