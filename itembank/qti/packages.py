"""QTI content packages: zip files with an ``imsmanifest.xml``, item files and their media.

An uploaded zip is untrusted. Before anything is unpacked every entry is checked: the number of
entries, the declared total size, each entry's compression ratio (zip bombs), its name (absolute
paths, ``..``, backslashes, drive letters), symbolic links and encryption. Entries are then read
only when needed, in chunks, and reading stops as soon as an entry yields more than it declared
or more than the caller allows, whatever its header says.
"""

from __future__ import annotations

import io
import posixpath
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import quote, unquote

from lxml import etree

from itembank.files import MAX_FILE_BYTES
from itembank.qti.names import XSI_NAMESPACE, QtiVersion, item_version_of
from itembank.qti.reader import parse_item
from itembank.qti.results import ParsedItem, Problem
from itembank.qti.safe_xml import MAX_XML_BYTES, UploadRefused, parse_xml
from vakt.errors import VaktError
from vakt.i18n import _l

MAX_ENTRIES = 50_000
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_ABOVE = 1024 * 1024
"""Small entries may compress far better than 100:1 (a page of spaces) and cannot hurt."""
_CHUNK = 64 * 1024

MANIFEST_NAME = "imsmanifest.xml"
ITEM_RESOURCE_TYPES = {
    "imsqti_item_xmlv3p0": "qti3",
    "imsqti_item_xmlv2p2": "qti2",
    "imsqti_item_xmlv2p1": "qti2",
}
_MANIFEST_NAMESPACES: dict[QtiVersion, tuple[str, str]] = {
    "qti3": (
        "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1",
        "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd",
    ),
    "qti21": (
        "http://www.imsglobal.org/xsd/imscp_v1p1",
        "http://www.imsglobal.org/xsd/qti/qtiv2p1/qtiv2p1_imscpv1p2_v1p0.xsd",
    ),
}
_RESOURCE_TYPES: dict[QtiVersion, str] = {
    "qti3": "imsqti_item_xmlv3p0",
    "qti21": "imsqti_item_xmlv2p1",
}
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_FIXED_DATE = (2000, 1, 1, 0, 0, 0)
"""Every entry of an export gets the same time, so exporting twice gives the same bytes."""


def _refuse_entry(name: str) -> VaktError:
    return VaktError(
        _l("The package holds the entry {entry}, whose name is not allowed."), entry=name[:200]
    )


def _check_entry_name(name: str) -> None:
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or _DRIVE_LETTER.match(name)
        or ".." in name.split("/")
    ):
        raise _refuse_entry(name)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


class Package:
    """A zip whose entries passed the safety checks; entries are read on demand, with caps."""

    def __init__(self, archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], name: str):
        self._archive = archive
        self._entries = entries
        self._cache: dict[str, bytes] = {}
        self.name = name

    def __enter__(self) -> Package:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the archive."""
        self._archive.close()

    @property
    def names(self) -> list[str]:
        """The paths of the files in the package (folders left out), in archive order."""
        return list(self._entries)

    def has(self, path: str) -> bool:
        """True when the package holds a file at ``path``."""
        return path in self._entries

    def read(self, path: str, *, limit: int) -> bytes:
        """The content of one file, refusing more than ``limit`` bytes or more than declared."""
        if path in self._cache:
            return self._cache[path]
        info = self._entries.get(path)
        if info is None:
            raise VaktError(_l("The package has no file {name}."), name=path)
        if info.file_size > limit:
            raise VaktError(
                _l("The file {name} is larger than {limit} MB."),
                name=path,
                limit=max(1, limit // (1024 * 1024)),
            )
        content = bytearray()
        try:
            with self._archive.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    content += chunk
                    if len(content) > info.file_size or len(content) > limit:
                        raise _damaged(self.name)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise _damaged(self.name) from exc
        if len(content) != info.file_size:
            raise _damaged(self.name)
        self._cache[path] = bytes(content)
        return self._cache[path]

    def read_if_present(self, path: str, *, limit: int) -> bytes | None:
        """Like ``read``, but None when there is no such file."""
        return self.read(path, limit=limit) if self.has(path) else None


class DamagedPackage(UploadRefused):
    """An entry that cannot be read as its headers say: broken, or made to deceive."""


def _damaged(name: str) -> DamagedPackage:
    return DamagedPackage(_l("The zip file {name} is damaged."), name=name)


def _declared_entry_count(data: bytes) -> int | None:
    """The entry count the end-of-central-directory record claims, or None if not found.

    Read before ``zipfile`` builds an object for every entry: a small upload can claim millions.
    """
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return None
    (count,) = struct.unpack_from("<H", data, end + 10)
    if count != 0xFFFF:
        return int(count)
    # Zip64: the locator just before the record points at the zip64 record with the real count.
    locator = end - 20
    if locator < 0 or data[locator : locator + 4] != b"PK\x06\x07":
        return None
    (record,) = struct.unpack_from("<Q", data, locator + 8)
    if record + 40 > len(data) or data[record : record + 4] != b"PK\x06\x06":
        return None
    (count64,) = struct.unpack_from("<Q", data, record + 32)
    return int(count64)


def _too_many_entries(count: int) -> VaktError:
    return VaktError(
        _l("The package has more than {limit} entries."), limit=MAX_ENTRIES, count=count
    )


def open_package(data: bytes, *, name: str) -> Package:
    """Open an uploaded zip after checking every entry; raises VaktError for anything unsafe."""
    if not data:
        raise VaktError(_l("The file {name} is empty."), name=name)
    declared = _declared_entry_count(data)
    if declared is not None and declared > MAX_ENTRIES:
        raise _too_many_entries(declared)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise VaktError(
            _l("The file {name} is not a zip file, or it is damaged."), name=name
        ) from None
    try:
        entries = _checked_entries(infos)
    except VaktError:
        archive.close()
        raise
    return Package(archive, entries, name)


def _checked_entries(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    if len(infos) > MAX_ENTRIES:
        raise _too_many_entries(len(infos))
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        raise VaktError(
            _l("The package would unpack to more than {limit} MB."),
            limit=MAX_TOTAL_BYTES // (1024 * 1024),
        )
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        _check_entry_name(info.filename)
        if _is_symlink(info):
            raise VaktError(
                _l("The package holds a symbolic link ({entry}), which is not allowed."),
                entry=info.filename[:200],
            )
        if info.flag_bits & 0x1:
            raise VaktError(
                _l("The package holds an encrypted entry ({entry}), which cannot be read."),
                entry=info.filename[:200],
            )
        if info.file_size > RATIO_CHECKED_ABOVE and (
            info.compress_size == 0 or info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
        ):
            raise VaktError(
                _l(
                    "The entry {entry} is compressed more than {ratio}:1, as zip bombs are; "
                    "the package is refused."
                ),
                entry=info.filename[:200],
                ratio=MAX_COMPRESSION_RATIO,
            )
        if info.is_dir():
            continue
        if info.filename in entries:
            raise VaktError(
                _l("The package holds the entry {entry} twice."), entry=info.filename[:200]
            )
        entries[info.filename] = info
    return entries


@dataclass
class ItemEntries:
    """Where a package's items are: item file paths, and problems with listed resources."""

    paths: list[str] = field(default_factory=list)
    problems: list[tuple[str, Problem]] = field(default_factory=list)


def find_items(package: Package) -> ItemEntries:
    """The item files of a package, from its manifest or (without one) by looking at each XML.

    The manifest lists items as resources of type ``imsqti_item_xmlv3p0``,
    ``imsqti_item_xmlv2p2`` or ``imsqti_item_xmlv2p1``; other resources (tests, media) are
    skipped. A resource whose file is missing is reported, not ignored.
    """
    found = ItemEntries()
    if not package.has(MANIFEST_NAME):
        for path in sorted(package.names):
            if not path.lower().endswith(".xml"):
                continue
            try:
                root = parse_xml(package.read(path, limit=MAX_XML_BYTES), name=path)
            except UploadRefused:
                raise
            except VaktError as exc:
                found.problems.append((path, Problem.from_error(exc)))
                continue
            if item_version_of(root) is not None:
                found.paths.append(path)
        return found
    manifest = parse_xml(package.read(MANIFEST_NAME, limit=MAX_XML_BYTES), name=MANIFEST_NAME)
    for resource in manifest.iter("{*}resource"):
        if resource.get("type") not in ITEM_RESOURCE_TYPES:
            continue
        href = unquote((resource.get("href") or "").strip())
        where = href or resource.get("identifier") or MANIFEST_NAME
        try:
            _check_entry_name(href)
        except VaktError as exc:
            found.problems.append((where, Problem.from_error(exc)))
            continue
        path = posixpath.normpath(href)
        if path in found.paths:
            continue
        if not package.has(path):
            found.problems.append(
                (
                    where,
                    Problem(
                        _l("The manifest lists {name}, which is not in the package."),
                        {"name": path},
                    ),
                )
            )
            continue
        found.paths.append(path)
    return found


def parse_package(data: bytes, *, name: str) -> list[ParsedItem]:
    """Every assessment item in a content package, read with its files.

    Unsafe or damaged packages and unsafe XML raise VaktError (``UploadRefused`` once the zip
    itself was opened); an item that cannot be read is returned with its
    problems so the other items can still be reported (and, if the caller wishes, imported).
    """
    with open_package(data, name=name) as package:
        entries = find_items(package)
        parsed = [
            ParsedItem(source=where, problems=[problem]) for where, problem in entries.problems
        ]
        for path in entries.paths:
            try:
                xml = package.read(path, limit=MAX_XML_BYTES)
            except UploadRefused:
                raise
            except VaktError as exc:
                parsed.append(ParsedItem(source=path, problems=[Problem.from_error(exc)]))
                continue

            def read_file(file_path: str) -> bytes | None:
                # One more byte than allowed, so an oversized file is reported by its real limit.
                return package.read_if_present(file_path, limit=MAX_FILE_BYTES + 1)

            parsed.append(parse_item(xml, source=path, read_file=read_file))
    if not parsed:
        raise VaktError(_l("The package {name} holds no QTI assessment items."), name=name)
    return parsed


# ---- writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageItem:
    """One item to pack: its identifier, its QTI file and its files by attachment name."""

    identifier: str
    xml: bytes
    files: dict[str, bytes] = field(default_factory=dict)


def item_folder(identifier: str) -> str:
    """The folder an exported item and its files live in (one per item, so names never clash)."""
    return f"items/{identifier}"


def write_package(items: Sequence[PackageItem], *, version: QtiVersion) -> bytes:
    """A content package (zip with ``imsmanifest.xml``) holding the items and their files."""
    namespace, schema = _MANIFEST_NAMESPACES[version]
    manifest = etree.Element(
        f"{{{namespace}}}manifest",
        nsmap={None: namespace, "xsi": XSI_NAMESPACE},  # type: ignore[dict-item]
    )
    manifest.set("identifier", "vakt-export")
    manifest.set(f"{{{XSI_NAMESPACE}}}schemaLocation", f"{namespace} {schema}")
    metadata = etree.SubElement(manifest, f"{{{namespace}}}metadata")
    etree.SubElement(metadata, f"{{{namespace}}}schema").text = "QTI Package"
    etree.SubElement(metadata, f"{{{namespace}}}schemaversion").text = (
        "3.0.0" if version == "qti3" else "2.1"
    )
    etree.SubElement(manifest, f"{{{namespace}}}organizations")
    resources = etree.SubElement(manifest, f"{{{namespace}}}resources")
    entries: list[tuple[str, bytes]] = []
    for item in items:
        folder = item_folder(item.identifier)
        item_path = f"{folder}/{item.identifier}.xml"
        resource = etree.SubElement(resources, f"{{{namespace}}}resource")
        resource.set("identifier", f"item-{item.identifier}")
        resource.set("type", _RESOURCE_TYPES[version])
        resource.set("href", quote(item_path))
        entries.append((item_path, item.xml))
        for file_name, content in [(item_path, item.xml), *item.files.items()]:
            path = file_name if file_name == item_path else f"{folder}/{file_name}"
            etree.SubElement(resource, f"{{{namespace}}}file").set("href", quote(path))
            if path != item_path:
                entries.append((path, content))
    etree.indent(manifest, space="  ")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add_entry(
            archive,
            MANIFEST_NAME,
            etree.tostring(manifest, xml_declaration=True, encoding="UTF-8"),
        )
        for path, content in entries:
            _add_entry(archive, path, content)
    return buffer.getvalue()


def _add_entry(archive: zipfile.ZipFile, path: str, content: bytes) -> None:
    info = zipfile.ZipInfo(path, date_time=_FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    archive.writestr(info, content)
