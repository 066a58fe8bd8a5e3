"""Serving several files as one resource with HTTP Range support (RFC 9110, section 14), so that a
``<video>`` can seek in a recording kept as many chunk files whose concatenation is one WebM.

Starlette's ``FileResponse`` answers Range requests for one file, but it also sends the file's
``Last-Modified`` and an ``ETag`` made of its modification time: for an oral answer that is when
the candidate sat the exam, which its graders must not learn. So every recording, one chunk or
many, goes through the same small helper here, which sends no time at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import Response, StreamingResponse

READ_BYTES = 64 * 1024
"""How much is read from disk at a time (the whole recording never sits in memory)."""
MAX_DIGITS = 18
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Span:
    """Bytes ``start`` to ``end`` (inclusive) of a resource of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        """How many bytes the span holds."""
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    """A well-formed range that lies outside the resource (answered with 416)."""


def parse_range(header: str | None, size: int) -> Span | None:
    """The single byte range a ``Range`` header asks for; None for the whole resource (no
    header, another unit, several ranges or a malformed one: RFC 9110 lets a server ignore
    those and send everything). ``Unsatisfiable`` for a range beyond the end."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    # A number longer than any file's size is just "beyond the end" (and Python refuses to
    # read integers of thousands of digits).
    if len(first) > MAX_DIGITS:
        raise Unsatisfiable
    if len(last) > MAX_DIGITS:
        last = str(size)
    if not first:
        # A suffix: the last N bytes (all of them when N is larger than the resource).
        wanted = int(last)
        if wanted == 0 or size == 0:
            raise Unsatisfiable
        return Span(max(size - wanted, 0), size - 1, size)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise Unsatisfiable
    return Span(start, min(end, size - 1), size)


def file_sizes(paths: list[Path]) -> list[tuple[Path, int]]:
    """The files that exist, with their sizes now (a missing chunk is skipped, as when the
    whole recording is read)."""
    sized = []
    for path in paths:
        try:
            sized.append((path, os.stat(path).st_size))
        except FileNotFoundError:
            continue
    return sized


def read_span(files: list[tuple[Path, int]], start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start``..``end`` (inclusive) of the files' concatenation, in pieces."""
    offset = 0
    for path, size in files:
        file_start, file_end = offset, offset + size - 1
        offset += size
        if file_end < start or size == 0:
            continue
        if file_start > end:
            return
        with path.open("rb") as handle:
            handle.seek(max(start - file_start, 0))
            left = min(end, file_end) - max(start, file_start) + 1
            while left > 0:
                piece = handle.read(min(READ_BYTES, left))
                if not piece:
                    break  # the file shrank since it was measured; send what there is
                left -= len(piece)
                yield piece


def ranged_response(
    paths: list[Path],
    *,
    media_type: str,
    range_header: str | None,
    headers: Mapping[str, str],
) -> Response:
    """The files as one resource: 200 with everything, 206 with the range asked for, or 416
    for a range beyond the end; ``headers`` go on each answer."""
    files = file_sizes(paths)
    size = sum(length for _path, length in files)
    common = {**headers, "Accept-Ranges": "bytes"}
    try:
        span = parse_range(range_header, size)
    except Unsatisfiable:
        return Response(status_code=416, headers={**common, "Content-Range": f"bytes */{size}"})
    if span is None:
        return StreamingResponse(
            read_span(files, 0, size - 1),
            media_type=media_type,
            headers={**common, "Content-Length": str(size)},
        )
    return StreamingResponse(
        read_span(files, span.start, span.end),
        status_code=206,
        media_type=media_type,
        headers={
            **common,
            "Content-Length": str(span.length),
            "Content-Range": f"bytes {span.start}-{span.end}/{size}",
        },
    )
