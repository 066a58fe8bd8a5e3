"""Files that belong to item versions: names and content checks shared by every import path."""

from __future__ import annotations

import posixpath
import re

from vakt.errors import VaktError
from vakt.i18n import _l

MAX_FILE_BYTES = 20 * 1024 * 1024
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_\-. ]+$")

_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"WEBP", 8, "image/webp"),
]


def safe_file_name(name: str) -> str:
    """Normalise a relative file name; refuse absolute paths, ``..`` and odd characters."""
    cleaned = name.replace("\\", "/").strip()
    normalised = posixpath.normpath(cleaned) if cleaned else ""
    parts = normalised.split("/")
    if (
        not cleaned
        or cleaned.startswith("/")
        or re.match(r"^[A-Za-z]:", cleaned)
        or ".." in cleaned.split("/")
        or any(part in ("", ".", "..") or not _SAFE_NAME.match(part) for part in parts)
        or len(normalised) > 300
    ):
        raise VaktError(_l("The file name {name} is not allowed."), name=name[:200])
    return normalised


def sniff_media_type(name: str, data: bytes) -> str:
    """The media type of a file judged by its content; refuse types items may not carry."""
    if len(data) > MAX_FILE_BYTES:
        raise VaktError(
            _l("The file {name} is larger than {limit} MB."),
            name=name,
            limit=MAX_FILE_BYTES // (1024 * 1024),
        )
    for magic, offset, media_type in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if media_type == "image/webp" and not data.startswith(b"RIFF"):
                continue
            return media_type
    head = data[:512].lstrip().lower()
    if name.lower().endswith(".svg") and (head.startswith(b"<?xml") or head.startswith(b"<svg")):
        return "image/svg+xml"
    raise VaktError(
        _l("The file {name} is not an image (PNG, JPEG, GIF, WebP, SVG) or a PDF."), name=name
    )
