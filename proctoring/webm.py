"""Checking that uploaded bytes are a WebM (Matroska) stream, chunk by chunk.

MediaRecorder cuts its output every few seconds wherever it happens to be, often inside an
element (Chromium ends a chunk right after the first byte of an element's ID), so only a
recording's first chunk starts with the EBML magic. The scanner therefore walks the element
structure across chunks: its state after one chunk (bytes still to skip, a partly read header)
is where the next chunk continues. Elements of unknown size (the Segment and Cluster a live
recorder writes) are entered; a SimpleBlock's own header (track number, timestamp, flags) is read;
every other payload is skipped by its size. An ID that is not a Matroska element at that place, a
malformed size or block header, or a long run of zero bytes inside a payload means the bytes are
not WebM.

Payloads are compressed audio and video, or short metadata: a run of ``MAX_ZERO_RUN`` zero bytes
never occurs in them (VP8, VP9 and Opus from libvpx, libopus and Chromium, black frames and
silence included, hold runs of at most 16), while zero-filled garbage that lands inside a frame
would otherwise be skipped unread. Only Void, which is padding by definition, may be all zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
SEGMENT = 0x18538067
CLUSTER = 0x1F43B675
SIMPLE_BLOCK = 0xA3
VOID = 0xEC
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
        VOID,
        0xBF,  # CRC-32
        0xE7,  # Cluster timestamp
        SIMPLE_BLOCK,
        0xA0,  # BlockGroup
        0xA7,  # Position
        0xAB,  # PrevSize
        0x5854,  # SilentTracks
    }
)
UNKNOWN_SIZE_ALLOWED = frozenset({SEGMENT, CLUSTER})
MAX_ELEMENT_BYTES = 64 * 1024 * 1024
MAX_ZERO_RUN = 256
"""The longest run of zero bytes taken inside a payload (see the module docstring)."""
SIMPLE_BLOCK_RESERVED_FLAGS = 0x70
"""Bits of a SimpleBlock's flags byte that Matroska reserves (always 0)."""

_ZERO_RUN = bytes(MAX_ZERO_RUN)


class NotWebMError(ValueError):
    """The bytes do not continue a WebM stream."""


@dataclass
class ScanState:
    """Where a stream's walk stands between chunks (kept with the recording)."""

    skip: int = 0
    """Bytes of the current element's payload still to come."""
    pending: bytes = b""
    """The start of an element header (or of a block's header) cut off at the end of the
    previous chunk."""
    block: int = 0
    """When not 0: ``pending`` is the start of a SimpleBlock's header, and this is the size of
    the whole block's payload."""
    zeros: int = 0
    """Zero bytes at the end of the previous chunk, inside the payload still being skipped."""
    padding: bool = False
    """The payload being skipped is Void (padding, whose zeros are expected)."""

    def to_json(self) -> dict[str, object]:
        """For storage in a JSON column."""
        return {
            "skip": self.skip,
            "pending": self.pending.hex(),
            "block": self.block,
            "zeros": self.zeros,
            "padding": self.padding,
        }

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> ScanState:
        """From what ``to_json`` stored (states stored before a field existed have its default)."""
        if not data:
            return cls()
        return cls(
            skip=int(str(data.get("skip", 0))),
            pending=bytes.fromhex(str(data.get("pending", ""))),
            block=int(str(data.get("block", 0))),
            zeros=int(str(data.get("zeros", 0))),
            padding=bool(data.get("padding", False)),
        )


def _vint_length(first: int, longest: int) -> int:
    # A first byte of 0 has no length marker: an ID or size of all zeros is never valid.
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


def _block_header(data: bytes, at: int, block_size: int) -> int | None:
    """The length of the SimpleBlock header at ``at`` (track number, timestamp, flags), or None
    if it is cut off by the end of ``data``. Raises ``NotWebMError`` for one that cannot be."""
    track_length = _vint_length(data[at], 8)
    length = track_length + 3
    if length > block_size:
        raise NotWebMError("a block too short for its header")
    if at + length > len(data):
        return None
    raw = int.from_bytes(data[at : at + track_length], "big")
    if raw & ((1 << (7 * track_length)) - 1) == 0:
        raise NotWebMError("a block of track 0")
    if data[at + length - 1] & SIMPLE_BLOCK_RESERVED_FLAGS:
        raise NotWebMError("a block with reserved flags set")
    return length


def _zeros_after(data: bytes, start: int, end: int, zeros_before: int) -> int:
    """The zero bytes at the end of the payload ``data[start:end]`` (counting those just before
    it when it is all zeros). Raises ``NotWebMError`` on a run of ``MAX_ZERO_RUN``."""
    # Only the payload's ends are copied: a chunk may be megabytes of one frame.
    head = data[start : min(end, start + MAX_ZERO_RUN)]
    leading = len(head) - len(head.lstrip(b"\x00"))
    if zeros_before + leading >= MAX_ZERO_RUN or data.find(_ZERO_RUN, start, end) >= 0:
        raise NotWebMError("a long run of zero bytes")
    if leading == end - start:
        return zeros_before + leading
    tail = data[max(start, end - MAX_ZERO_RUN) : end]
    return len(tail) - len(tail.rstrip(b"\x00"))


def scan(state: ScanState, chunk: bytes) -> ScanState:
    """Walk ``chunk`` as the continuation of the stream described by ``state``; returns the
    state after it. Raises ``NotWebMError`` when the bytes are not WebM."""
    if chunk.startswith(EBML_MAGIC):
        # A recorder (re)started: a new stream begins here, whatever came before.
        state = ScanState()
        if b"webm" not in chunk[:64]:
            raise NotWebMError("a Matroska file, but not WebM")
    data = state.pending + chunk
    at = 0
    skip, block, zeros, padding = state.skip, state.block, state.zeros, state.padding
    while True:
        if skip:
            end = min(len(data), at + skip)
            if not padding:
                zeros = _zeros_after(data, at, end, zeros)
            skip -= end - at
            at = end
            if skip:
                return ScanState(skip=skip, zeros=zeros, padding=padding)
            zeros, padding = 0, False
        if at >= len(data):
            return ScanState(block=block)  # perhaps a block whose header is still to come
        if block:
            block_header = _block_header(data, at, block)
            if block_header is None:
                return ScanState(pending=data[at:], block=block)
            at += block_header
            skip, block = block - block_header, 0
            continue
        header = _header(data, at)
        if header is None:
            return ScanState(pending=data[at:])
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
        if element_id == SIMPLE_BLOCK:
            if size == 0:
                raise NotWebMError("an empty block")
            block = size
            continue
        skip, padding = size, element_id == VOID


def starts_stream(chunk: bytes) -> bool:
    """True when the chunk begins a WebM stream (a recorder's first chunk)."""
    return chunk.startswith(EBML_MAGIC)
