"""Files attached to an appeal: checked by their content (PDF, PNG, JPEG or plain text, each at
most ``MAX_BYTES``, at most ``MAX_FILES`` an appeal), kept on disk under the data folder by
generated names only, and described by a row each (the cleaned original name, the type found
in the content, the size and the SHA-256 digest).

Nothing a browser sends becomes part of a path: the original name is only shown and offered
as the name of a download. Access is decided by the appeal (``certification.appeals``)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.models import Appeal, AppealAttachment
from vakt import audit
from vakt.accounts import User
from vakt.errors import NotFound, VaktError
from vakt.i18n import _l
from vakt.text import unstorable_text

MAX_FILES = 5
"""Attachments an appeal may have in all."""
MAX_BYTES = 10 * 1024 * 1024
"""The largest attachment (10 MB)."""
MAX_NAME_LENGTH = 200
FIELD = "attachments"
KINDS: dict[str, str] = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".txt": "text/plain",
}
"""The file types accepted, by name ending; the content must be of the same type."""
ACCEPT = ",".join([*KINDS, *sorted(set(KINDS.values()))])
"""For the file input's ``accept`` attribute (a hint to the browser, checked here anyway)."""

_STORED_NAME = re.compile(r"^[0-9a-f]{32}$")
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
"""Control and format characters, surrogate halves, private and unassigned code points: none is
kept in a file name shown to people or offered in a download."""


@dataclass(frozen=True)
class Upload:
    """A file as sent: the name the browser gave and (up to a byte past the limit) its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    """An upload found acceptable: its cleaned name, its type by content, bytes and digest."""

    name: str
    content_type: str
    data: bytes
    sha256: str


@dataclass(frozen=True)
class Download:
    """An attachment with its bytes, to be sent."""

    attachment: AppealAttachment
    data: bytes


class AttachmentStore:
    """Attachment files under ``root`` (``<data_dir>/appeal_attachments``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, stored_name: str) -> Path:
        """The file of a stored attachment (only generated names are accepted)."""
        if not _STORED_NAME.match(stored_name):
            raise ValueError(f"not a generated attachment name: {stored_name!r}")
        return self.root / stored_name[:2] / stored_name

    def write(self, data: bytes) -> str:
        """Store the bytes under a new random name (128 bits) and return the name; written to
        a temporary name and renamed, so a crash never leaves half a file under its name."""
        name = secrets.token_hex(16)
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{name}.{secrets.token_hex(4)}.tmp")
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        return name

    def read(self, stored_name: str) -> bytes:
        """The bytes of a stored attachment (FileNotFoundError when gone)."""
        return self.path(stored_name).read_bytes()


def clean_name(name: str) -> str:
    """The name to keep and show: the last part of any path, without control characters,
    surrogate halves or leading dots, at most ``MAX_NAME_LENGTH`` characters (the ending
    kept); "attachment" when nothing is left."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        ch
        for ch in unicodedata.normalize("NFC", last)
        if unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    kept = " ".join(kept.split()).lstrip(". ").rstrip(". ")
    if len(kept) > MAX_NAME_LENGTH:
        _stem, dot, ending = kept.rpartition(".")
        ending = f"{dot}{ending}" if dot and len(ending) <= 10 else ""
        kept = kept[: MAX_NAME_LENGTH - len(ending)] + ending
    return kept or "attachment"


def sniff(data: bytes) -> str | None:
    """The accepted type the content is of, by its first bytes (text: UTF-8 without control
    characters other than tab and line breaks); None for anything else."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if unstorable_text(text) else "text/plain"


def check_files(uploads: Sequence[Upload], existing: int = 0) -> list[CheckedFile]:
    """The uploads as files to keep, or a 422 at the attachments naming the first file refused
    (empty, too large, or not a PDF, PNG, JPEG or text file both by name and content), or
    when the appeal would have more than ``MAX_FILES``."""
    if existing + len(uploads) > MAX_FILES:
        raise VaktError(
            _l("An appeal can have at most {count} attachments."),
            field=FIELD, status_code=422, count=MAX_FILES,
        )  # fmt: skip
    checked: list[CheckedFile] = []
    for upload in uploads:
        name = clean_name(upload.name)
        if not upload.data:
            raise VaktError(
                _l("The file {name} is empty."), field=FIELD, status_code=422, name=name
            )
        if len(upload.data) > MAX_BYTES:
            raise VaktError(
                _l("The file {name} is larger than {size} MB."),
                field=FIELD, status_code=422, name=name, size=MAX_BYTES // (1024 * 1024),
            )  # fmt: skip
        expected = KINDS.get(os.path.splitext(name)[1].lower())
        found = sniff(upload.data)
        if expected is None or found != expected:
            raise VaktError(
                _l("The file {name} is not a PDF, PNG, JPEG or plain text file."),
                field=FIELD, status_code=422, name=name,
            )  # fmt: skip
        digest = hashlib.sha256(upload.data).hexdigest()
        checked.append(CheckedFile(name, found, upload.data, digest))
    return checked


async def attach(
    session: AsyncSession,
    *,
    appeal: Appeal,
    files: Sequence[CheckedFile],
    store: AttachmentStore,
    actor: User,
    now: datetime,
) -> list[AppealAttachment]:
    """Keep checked files with the appeal: written to disk, a row each, each audited."""
    rows: list[AppealAttachment] = []
    for file in files:
        # Writing and syncing up to 10 MB blocks: off the event loop.
        stored_name = await asyncio.to_thread(store.write, file.data)
        row = AppealAttachment(
            appeal_id=appeal.id, file_name=file.name, content_type=file.content_type,
            size=len(file.data), sha256=file.sha256, stored_name=stored_name,
            uploaded_at=now, uploaded_by_id=actor.id,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        await audit.record(
            session, actor_id=actor.id, action="certification.appeal_attachment_added",
            entity_type="appeal", entity_id=appeal.id,
            after={"attachment_id": row.id, "file_name": row.file_name, "size": row.size,
                   "content_type": row.content_type, "sha256": row.sha256},
        )  # fmt: skip
        rows.append(row)
    return rows


async def count_of(session: AsyncSession, appeal_id: int) -> int:
    """How many files the appeal has."""
    count = await session.scalar(
        select(func.count())
        .select_from(AppealAttachment)
        .where(AppealAttachment.appeal_id == appeal_id)
    )
    return int(count or 0)


async def attachments_of(session: AsyncSession, appeal_id: int) -> list[AppealAttachment]:
    """The appeal's files, in the order they were attached."""
    return list(
        await session.scalars(
            select(AppealAttachment)
            .where(AppealAttachment.appeal_id == appeal_id)
            .order_by(AppealAttachment.id)
        )
    )


async def attachment_of(
    session: AsyncSession, appeal_id: int, attachment_id: int
) -> AppealAttachment:
    """One file of the appeal; NotFound for another appeal's or none."""
    row = await session.get(AppealAttachment, attachment_id)
    if row is None or row.appeal_id != appeal_id:
        raise NotFound(NO_SUCH_FILE)
    return row


async def read(store: AttachmentStore, row: AppealAttachment) -> Download:
    """The attachment with its bytes; NotFound when the file has gone from the disk."""
    try:
        return Download(row, await asyncio.to_thread(store.read, row.stored_name))
    except FileNotFoundError:
        raise NotFound(NO_SUCH_FILE) from None


NO_SUCH_FILE = _l("There is no such attachment.")
