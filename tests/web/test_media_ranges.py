"""Several chunk files served as one resource with Range requests: the first bytes, the middle
across chunk boundaries, a suffix, an open end, ranges beyond the end (416), and headers that
are ignored as RFC 9110 allows; always byte-exact against the chunks' concatenation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import media_ranges
from web.media_ranges import Span, Unsatisfiable, parse_range, ranged_response

SIZES = [1000, 1, 70_000, 0, 333]


@pytest.fixture
def chunks(tmp_path: Path) -> list[Path]:
    paths = []
    for index, size in enumerate(SIZES):
        path = tmp_path / f"{index:06d}.webm"
        path.write_bytes(bytes((i * 31 + index) % 251 for i in range(size)))
        paths.append(path)
    return paths


def _whole(paths: list[Path]) -> bytes:
    return b"".join(path.read_bytes() for path in paths)


def _client(paths: list[Path]) -> httpx.AsyncClient:
    async def serve(request: Request) -> Response:
        return ranged_response(
            paths,
            media_type="video/webm",
            range_header=request.headers.get("range"),
            headers={"Cache-Control": "private, no-store"},
        )

    app = Starlette(routes=[Route("/video", serve)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("bytes=0-99", Span(0, 99, 1000)),
        ("bytes=100-", Span(100, 999, 1000)),
        ("bytes=-100", Span(900, 999, 1000)),
        ("bytes=-5000", Span(0, 999, 1000)),
        ("bytes=990-5000", Span(990, 999, 1000)),
        ("BYTES = 1 - 2", Span(1, 2, 1000)),
        ("bytes=5-3", None),
        ("bytes=0-1,5-6", None),
        ("items=0-5", None),
        ("bytes=-", None),
        ("bytes=abc", None),
        ("bytes=1" + "0" * 400 + "-", "unsatisfiable"),
        ("bytes=" + "9" * 5000 + "-", "unsatisfiable"),
        ("bytes=0-" + "9" * 5000, Span(0, 999, 1000)),
        ("bytes=-" + "9" * 5000, Span(0, 999, 1000)),
        ("bytes=1000-", "unsatisfiable"),
        ("bytes=-0", "unsatisfiable"),
    ],
)
def test_range_headers_are_read_as_rfc_9110_says(header: str | None, expected: object) -> None:
    if expected == "unsatisfiable":
        with pytest.raises(Unsatisfiable):
            parse_range(header, 1000)
    else:
        assert parse_range(header, 1000) == expected


def test_an_empty_resource_satisfies_no_range() -> None:
    with pytest.raises(Unsatisfiable):
        parse_range("bytes=0-", 0)
    with pytest.raises(Unsatisfiable):
        parse_range("bytes=-10", 0)


@pytest.mark.asyncio
async def test_every_kind_of_range_is_served_byte_exact_across_chunks(
    chunks: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small reads, so that a span crosses many reads as well as many files.
    monkeypatch.setattr(media_ranges, "READ_BYTES", 4096)
    whole = _whole(chunks)
    size = len(whole)
    async with _client(chunks) as client:
        full = await client.get("/video")
        assert full.status_code == 200 and full.content == whole
        assert full.headers["accept-ranges"] == "bytes"
        assert full.headers["content-length"] == str(size)
        assert full.headers["cache-control"] == "private, no-store"
        for header, start, end in (
            ("bytes=0-0", 0, 0),
            ("bytes=0-1023", 0, 1023),
            ("bytes=999-1001", 999, 1001),  # the last byte of one chunk to the next's second
            ("bytes=1000-1000", 1000, 1000),  # a one-byte chunk alone
            ("bytes=500-70500", 500, 70500),
            ("bytes=71000-", 71000, size - 1),
            ("bytes=-100", size - 100, size - 1),
            (f"bytes=-{size + 5}", 0, size - 1),
            (f"bytes={size - 1}-{size + 100}", size - 1, size - 1),
        ):
            response = await client.get("/video", headers={"Range": header})
            assert response.status_code == 206, header
            assert response.content == whole[start : end + 1], header
            assert response.headers["content-range"] == f"bytes {start}-{end}/{size}", header
            assert response.headers["content-length"] == str(end - start + 1), header
        for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
            refused = await client.get("/video", headers={"Range": header})
            assert refused.status_code == 416, header
            assert refused.headers["content-range"] == f"bytes */{size}"
            assert refused.content == b""
        ignored = await client.get("/video", headers={"Range": "bytes=0-1,5-9"})
        assert ignored.status_code == 200 and ignored.content == whole


@pytest.mark.asyncio
async def test_one_chunk_and_a_missing_chunk(chunks: list[Path]) -> None:
    async with _client(chunks[:1]) as client:
        one = await client.get("/video", headers={"Range": "bytes=10-19"})
        assert one.status_code == 206 and one.content == chunks[0].read_bytes()[10:20]
    chunks[1].unlink()
    async with _client(chunks) as client:
        rest = await client.get("/video")
        assert rest.content == _whole([chunks[0], *chunks[2:]])
        shifted = await client.get("/video", headers={"Range": "bytes=1000-1001"})
        assert shifted.content == chunks[2].read_bytes()[:2]
