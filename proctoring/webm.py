"""Checking that uploaded bytes are a WebM (Matroska) stream, chunk by chunk.

MediaRecorder cuts its output every few seconds wherever it happens to be, often inside an
element (Chromium ends a chunk right after an element's ID), so only a recording's first chunk
starts with the EBML magic. The scanner therefore walks the element structure across chunks:
its state after one chunk (bytes still to skip, a partly read element header) is where the next
chunk continues. Elements of unknown size (the Segment and Cluster a live recorder writes) are
entered; every other element is skipped by its size. An ID that is not a Matroska element at that
place, or a malformed size, means the bytes are not WebM.
"""

from __future__ import annotations

from dataclasses import dataclass

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
SEGMENT = 0x18538067
CLUSTER = 0x1F43B675
# Elements that may appear at the levels the scanner walks (the header, the segment's children,
# a cluster's children). Anything else at these levels is not a recording.
KNOWN_IDS = frozenset(
    {
        0x1A45DFA3,  # EBML header
        SEGMENT,
        0x114D9B74,  # SeekHead
        0x1549A966,  # Info
        0x1654AE6B,  # Tracks
        CLUSTER,
        0x1C53BB6B,  # Cues
        0x1254C367,  # Tags
        0x1043A770,  # Chapters
        0x1941A469,  # Attachments
        0xEC,  # Void
        0xBF,  # CRC-32
        0xE7,  # Cluster timestamp
        0xA3,  # SimpleBlock
        0xA0,  # BlockGroup
        0xA7,  # Position
        0xAB,  # PrevSize
        0x5854,  # SilentTracks
    }
)
UNKNOWN_SIZE_ALLOWED = frozenset({SEGMENT, CLUSTER})
MAX_ELEMENT_BYTES = 64 * 1024 * 1024


class NotWebMError(ValueError):
    """The bytes do not continue a WebM stream."""


@dataclass
class ScanState:
    """Where a stream's walk stands between chunks (kept with the recording)."""

    skip: int = 0
    """Bytes of the current element's payload still to come."""
    pending: bytes = b""
    """The start of an element header cut off at the end of the previous chunk."""

    def to_json(self) -> dict[str, object]:
        """For storage in a JSON column."""
        return {"skip": self.skip, "pending": self.pending.hex()}

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> ScanState:
        """From what ``to_json`` stored."""
        if not data:
            return cls()
        return cls(int(str(data.get("skip", 0))), bytes.fromhex(str(data.get("pending", ""))))


def _vint_length(first: int, longest: int) -> int:
    for length in range(1, longest + 1):
        if first & (0x80 >> (length - 1)):
            return length
    raise NotWebMError("malformed element header")


def _header(data: bytes, at: int) -> tuple[int, int | None, int] | None:
    """(element id, payload size or None when unknown, header length) at ``at``, or None if the
    header is cut off by the end of ``data``."""
    if at >= len(data):
        return None
    id_length = _vint_length(data[at], 4)
    if at + id_length >= len(data):
        return None
    element_id = int.from_bytes(data[at : at + id_length], "big")
    size_at = at + id_length
    size_length = _vint_length(data[size_at], 8)
    if size_at + size_length > len(data):
        return None
    raw = int.from_bytes(data[size_at : size_at + size_length], "big")
    value = raw & ((1 << (7 * size_length)) - 1)
    size = None if value == (1 << (7 * size_length)) - 1 else value
    return element_id, size, id_length + size_length


def scan(state: ScanState, chunk: bytes) -> ScanState:
    """Walk ``chunk`` as the continuation of the stream described by ``state``; returns the
    state after it. Raises ``NotWebMError`` when the bytes are not WebM."""
    if chunk.startswith(EBML_MAGIC):
        # A recorder (re)started: a new stream begins here, whatever came before.
        state = ScanState()
        if b"webm" not in chunk[:64]:
            raise NotWebMError("a Matroska file, but not WebM")
    data = state.pending + chunk
    at = min(state.skip, len(data))
    skip = state.skip - at
    while skip == 0 and at < len(data):
        header = _header(data, at)
        if header is None:
            return ScanState(0, data[at:])
        element_id, size, header_length = header
        if element_id not in KNOWN_IDS:
            raise NotWebMError(f"unexpected element 0x{element_id:X}")
        at += header_length
        if size is None:
            if element_id not in UNKNOWN_SIZE_ALLOWED:
                raise NotWebMError(f"element 0x{element_id:X} of unknown size")
            continue  # a live Segment or Cluster: its children follow
        if size > MAX_ELEMENT_BYTES:
            raise NotWebMError("element too large")
        if element_id in (SEGMENT, CLUSTER):
            continue  # known-size containers are entered as well; their children are checked
        taken = min(size, len(data) - at)
        at += taken
        skip = size - taken
    return ScanState(skip, b"")


def starts_stream(chunk: bytes) -> bool:
    """True when the chunk begins a WebM stream (a recorder's first chunk)."""
    return chunk.startswith(EBML_MAGIC)
