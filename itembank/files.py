"""Files that belong to item versions (images, case documents): names and content checks shared
by every way in, storing them once by content, and reading them back."""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank.models import Blob, ItemVersionFile
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from vakt.text import unstorable_text

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


@dataclass(frozen=True)
class FileUpload:
    """A file to attach to a new version."""

    name: str
    data: bytes


StoredFiles = dict[str, tuple[str, str]]
"""A version's files by name: (SHA-256 of the content, media type)."""


async def store_files(session: AsyncSession, uploads: Sequence[FileUpload]) -> StoredFiles:
    """Check and store one version's files; content already stored is not stored twice."""
    return (await store_file_sets(session, [uploads]))[0]


async def store_file_sets(
    session: AsyncSession, upload_sets: Sequence[Sequence[FileUpload]]
) -> list[StoredFiles]:
    """Check and store the files of several versions; content already stored is not stored twice."""
    checked: list[list[tuple[str, str, str, bytes]]] = []
    for uploads in upload_sets:
        rows = []
        for upload in uploads:
            name = safe_file_name(upload.name)
            media_type = sniff_media_type(name, upload.data)
            rows.append((name, hashlib.sha256(upload.data).hexdigest(), media_type, upload.data))
        checked.append(rows)
    wanted = {
        digest: (media_type, data) for rows in checked for _, digest, media_type, data in rows
    }
    known: set[str] = set()
    digests = list(wanted)
    for start in range(0, len(digests), 500):
        chunk = digests[start : start + 500]
        known.update(
            (await session.scalars(select(Blob.sha256).where(Blob.sha256.in_(chunk)))).all()
        )
    session.add_all(
        Blob(sha256=digest, media_type=media_type, size=len(data), data=data)
        for digest, (media_type, data) in wanted.items()
        if digest not in known
    )
    return [
        {name: (digest, media_type) for name, digest, media_type, _ in rows} for rows in checked
    ]


async def read_file(session: AsyncSession, version_id: int, name: str) -> tuple[str, bytes]:
    """A version's file as (media type, content), or a 404."""
    if unstorable_text(name):
        raise NotFound(_l("No such file."))
    row = await session.get(ItemVersionFile, (version_id, name))
    if row is None:
        raise NotFound(_l("No such file."))
    blob = await session.get(Blob, row.sha256)
    if blob is None:
        raise NotFound(_l("No such file."))
    return row.media_type, blob.data
