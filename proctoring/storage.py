"""Where recordings and photos live on disk: under the data folder, by generated names only.

Nothing a browser sends becomes part of a path; files are written to a temporary name and renamed
into place, so a crash never leaves half a chunk under its real name.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

_NAME = re.compile(r"^[0-9a-f]{32}(\.jpg)?$")
_CHUNK_READ_BYTES = 256 * 1024


class MediaStore:
    """Recording chunks and images under ``root`` (``<data_dir>/media``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def new_key() -> str:
        """A fresh random name (128 bits)."""
        return secrets.token_hex(16)

    def _checked(self, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"not a generated media name: {name!r}")
        return name

    def _recording_dir(self, storage_key: str) -> Path:
        return self.root / "recordings" / self._checked(storage_key)

    def chunk_path(self, storage_key: str, index: int, sha256: str) -> Path:
        """The file of one chunk; the digest in the name keeps racing uploads apart."""
        return self._recording_dir(storage_key) / f"{index:06d}-{sha256[:16]}.webm"

    def write_chunk(self, storage_key: str, index: int, sha256: str, data: bytes) -> None:
        """Store a chunk (idempotent: the same bytes land on the same name)."""
        self._write(self.chunk_path(storage_key, index, sha256), data)

    def read_chunks(self, paths: list[Path]) -> Iterator[bytes]:
        """The bytes of these chunk files in order, in pieces (missing files are skipped)."""
        for path in paths:
            try:
                with path.open("rb") as handle:
                    while piece := handle.read(_CHUNK_READ_BYTES):
                        yield piece
            except FileNotFoundError:
                continue

    def delete_recording(self, storage_key: str) -> None:
        """Remove every chunk of a recording."""
        shutil.rmtree(self._recording_dir(storage_key), ignore_errors=True)

    def image_path(self, name: str) -> Path:
        """The file of a stored image."""
        return self.root / "images" / self._checked(name)

    def write_image(self, data: bytes) -> str:
        """Store an image under a new name and return the name."""
        name = f"{self.new_key()}.jpg"
        self._write(self.image_path(name), data)
        return name

    def read_image(self, name: str) -> bytes:
        """The bytes of a stored image."""
        return self.image_path(name).read_bytes()

    def delete_image(self, name: str) -> None:
        """Remove a stored image (gone already is fine)."""
        self.image_path(name).unlink(missing_ok=True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
