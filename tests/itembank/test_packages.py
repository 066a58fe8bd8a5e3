"""QTI content packages: reading, writing, and every way an upload may try to hurt us."""

from __future__ import annotations

import functools
import io
import stat
import struct
import warnings
import zipfile
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import schemes, transfer
from itembank.models import Item
from itembank.qti import UnsafeXml, packages, write_item
from itembank.qti.packages import (
    PackageItem,
    find_items,
    open_package,
    parse_package,
    write_package,
)
from tests.conftest import shared_testdata
from tests.itembank.test_qti import BILLION_LAUGHS, EXTERNAL_ENTITY, sample_documents, tiny_png
from vakt.accounts import User
from vakt.errors import VaktError

ITEM = write_item(sample_documents()["single_choice"][0], version="qti3")


def make_zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@functools.cache
def zeros_zip(size: int) -> bytes:
    """A zip with one entry of ``size`` zero bytes: a zip bomb when large."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("items/bomb.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as stream:
            chunk = bytes(16 * 1024 * 1024)
            for _ in range(size // len(chunk)):
                stream.write(chunk)
    return buffer.getvalue()


def patch_only_entry(
    data: bytes, *, flag_bits: int | None = None, size: int | None = None
) -> bytes:
    """Rewrite the headers of a one-entry zip (the stdlib will not write such lies)."""
    patched = bytearray(data)
    local = patched.find(b"PK\x03\x04")
    central = patched.find(b"PK\x01\x02")
    if flag_bits is not None:
        struct.pack_into("<H", patched, local + 6, flag_bits)
        struct.pack_into("<H", patched, central + 8, flag_bits)
    if size is not None:
        struct.pack_into("<I", patched, local + 22, size)
        struct.pack_into("<I", patched, central + 24, size)
    return bytes(patched)


def symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("items/link.xml")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def duplicate_zip() -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("item.xml", ITEM)
            archive.writestr("item.xml", b"<other/>")
    return buffer.getvalue()


def manifest(*hrefs: str) -> bytes:
    resources = "".join(
        f'<resource identifier="r{n}" type="imsqti_item_xmlv3p0" href="{href}"/>'
        for n, href in enumerate(hrefs)
    )
    return (
        '<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" identifier="m">'
        f"<resources>{resources}"
        '<resource identifier="t" type="imsqti_test_xmlv3p0" href="test.xml"/>'
        "</resources></manifest>"
    ).encode()


BAD_UPLOADS: dict[str, Callable[[], tuple[bytes, str]]] = {
    "zip-bomb-1-gb": lambda: (zeros_zip(1024 * 1024 * 1024), "bomb.zip"),
    "compression-ratio": lambda: (zeros_zip(64 * 1024 * 1024), "ratio.zip"),
    "too-many-entries": lambda: (
        make_zip({f"f{n}.txt": b"" for n in range(packages.MAX_ENTRIES + 1)}),
        "many.zip",
    ),
    "parent-path": lambda: (make_zip({"../evil.xml": ITEM}), "p.zip"),
    "absolute-path": lambda: (make_zip({"/abs.xml": ITEM}), "p.zip"),
    "nested-parent-path": lambda: (make_zip({"items/../../evil.xml": ITEM}), "p.zip"),
    "backslash": lambda: (make_zip({"items\\evil.xml": ITEM}), "p.zip"),
    "drive-letter": lambda: (make_zip({"C:/evil.xml": ITEM}), "p.zip"),
    "symlink": lambda: (symlink_zip(), "p.zip"),
    "encrypted": lambda: (patch_only_entry(make_zip({"item.xml": ITEM}), flag_bits=0x1), "p.zip"),
    "duplicate-entry": lambda: (duplicate_zip(), "p.zip"),
    "lying-size": lambda: (patch_only_entry(make_zip({"item.xml": ITEM}), size=100), "p.zip"),
    "billion-laughs-manifest": lambda: (
        make_zip({"imsmanifest.xml": BILLION_LAUGHS, "item.xml": ITEM}),
        "p.zip",
    ),
    "billion-laughs-item": lambda: (make_zip({"item.xml": ITEM, "x.xml": BILLION_LAUGHS}), "p.zip"),
    "external-entity-item": lambda: (
        make_zip({"imsmanifest.xml": manifest("x.xml"), "x.xml": EXTERNAL_ENTITY}),
        "p.zip",
    ),
    "malformed-manifest": lambda: (make_zip({"imsmanifest.xml": b"<manifest>"}), "p.zip"),
    "malformed-item": lambda: (
        make_zip({"imsmanifest.xml": manifest("x.xml"), "x.xml": b"<qti-assessment-item>\n<p>"}),
        "p.zip",
    ),
    "not-a-zip": lambda: (b"This is a text file, not a zip.", "items.zip"),
    "truncated-zip": lambda: (make_zip({"item.xml": ITEM})[:60], "items.zip"),
    "empty-file": lambda: (b"", "items.zip"),
    "no-items": lambda: (make_zip({"readme.txt": b"hello"}), "p.zip"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
@pytest.mark.asyncio
async def test_bad_packages_are_refused_and_nothing_is_stored(
    session: AsyncSession, users: dict[str, User], case: str
) -> None:
    scheme = await schemes.create_scheme(session, code="PKG", name="Packages", actor_id=None)
    data, filename = BAD_UPLOADS[case]()
    for skip in (False, True):
        with pytest.raises(VaktError) as caught:
            await transfer.import_items(
                session,
                scheme_id=scheme.id,
                data=data,
                filename=filename,
                actor_id=users["item_writer"].id,
                skip_unsupported=skip and case != "malformed-item",
            )
        error = caught.value
        assert error.message.msgid
        assert 400 <= error.status_code < 500
    assert await session.scalar(select(func.count()).select_from(Item)) == 0


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("zip-bomb-1-gb", "would unpack to more than 200 MB"),
        ("compression-ratio", "compressed more than 100:1"),
        ("too-many-entries", f"more than {packages.MAX_ENTRIES} entries"),
        ("parent-path", "../evil.xml"),
        ("absolute-path", "/abs.xml"),
        ("backslash", "items\\evil.xml"),
        ("drive-letter", "C:/evil.xml"),
        ("symlink", "symbolic link"),
        ("encrypted", "encrypted"),
        ("duplicate-entry", "twice"),
        ("not-a-zip", "not a zip file"),
        ("truncated-zip", "not a zip file"),
        ("empty-file", "is empty"),
    ],
)
def test_unsafe_archives_are_refused_before_unpacking(case: str, expected: str) -> None:
    data, filename = BAD_UPLOADS[case]()
    with pytest.raises(VaktError) as caught:
        open_package(data, name=filename)
    error = caught.value
    assert expected in error.message.msgid.format(**error.params)


def test_the_entry_count_is_checked_before_the_directory_is_read() -> None:
    data = bytearray(make_zip({"item.xml": ITEM}))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 60_000, 60_000)  # claim 60 000 entries
    with pytest.raises(VaktError) as caught:
        open_package(bytes(data), name="p.zip")
    assert caught.value.params["count"] == 60_000


def test_the_zip64_entry_count_is_checked_too() -> None:
    data = make_zip({"item.xml": ITEM})
    end = data.rfind(b"PK\x05\x06")
    directory_size, directory_offset = struct.unpack_from("<II", data, end + 12)
    claimed = 10**9
    record = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, claimed, claimed,
        directory_size, directory_offset,
    )  # fmt: skip
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, end, 1)
    tail = bytearray(data[end:])
    struct.pack_into("<HH", tail, 8, 0xFFFF, 0xFFFF)
    with pytest.raises(VaktError) as caught:
        open_package(data[:end] + record + locator + bytes(tail), name="p.zip")
    assert caught.value.params["count"] == claimed


def test_an_entry_that_yields_more_than_it_declares_is_damaged() -> None:
    data, _ = BAD_UPLOADS["lying-size"]()
    with open_package(data, name="p.zip") as package, pytest.raises(VaktError) as caught:
        package.read("item.xml", limit=1024 * 1024)
    assert "damaged" in caught.value.message.msgid


def test_reading_stops_at_the_callers_limit() -> None:
    with open_package(make_zip({"big.png": bytes(5000)}), name="p.zip") as package:
        with pytest.raises(VaktError) as caught:
            package.read("big.png", limit=4000)
        assert "larger than" in caught.value.message.msgid
        assert package.read("big.png", limit=5000) == bytes(5000)


def test_xml_attacks_inside_a_package_raise_unsafe_xml() -> None:
    for case in ("billion-laughs-manifest", "billion-laughs-item", "external-entity-item"):
        data, filename = BAD_UPLOADS[case]()
        with pytest.raises(UnsafeXml):
            parse_package(data, name=filename)


def test_a_malformed_item_is_reported_with_its_line() -> None:
    data, filename = BAD_UPLOADS["malformed-item"]()
    (parsed,) = parse_package(data, name=filename)
    assert parsed.source == "x.xml"
    assert "not well-formed XML (line 2" in parsed.problems[0].render()


# ---- reading and writing -------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["qti3", "qti21"])
def test_written_packages_read_back_with_identical_files(version: str) -> None:
    samples = sample_documents()
    items = [
        PackageItem(document.external_id, write_item(document, version=version), files)  # type: ignore[arg-type]
        for document, files in samples.values()
    ]
    data = write_package(items, version=version)  # type: ignore[arg-type]
    with open_package(data, name="export.zip") as package:
        assert package.has("imsmanifest.xml")
        assert package.has("items/case.harbour/images/harbour.png")
        assert find_items(package).paths == [
            f"items/{document.external_id}/{document.external_id}.xml"
            for document, _ in samples.values()
        ]
    parsed = parse_package(data, name="export.zip")
    for item, (document, files) in zip(parsed, samples.values(), strict=True):
        assert item.problems == []
        assert item.document == document
        assert item.files == files
    # The same items give the same bytes, so exports can be compared.
    assert write_package(items, version=version) == data  # type: ignore[arg-type]


def test_without_a_manifest_every_item_xml_is_found() -> None:
    data = make_zip(
        {
            "b/item.xml": ITEM,
            "a/notes.xml": b"<notes/>",
            "a/picture.png": tiny_png(),
            "a/broken.xml": b"<qti-assessment-item>",
        }
    )
    with open_package(data, name="p.zip") as package:
        found = find_items(package)
    assert found.paths == ["b/item.xml"]
    assert [where for where, _ in found.problems] == ["a/broken.xml"]


def test_manifest_resources_that_are_missing_or_unsafe_are_reported() -> None:
    data = make_zip(
        {
            "imsmanifest.xml": manifest("items/a.xml", "items/missing.xml", "../x.xml"),
            "items/a.xml": ITEM,
        }
    )
    parsed = parse_package(data, name="p.zip")
    assert [item.source for item in parsed] == ["items/missing.xml", "../x.xml", "items/a.xml"]
    assert parsed[0].problems[0].render() == (
        "The manifest lists items/missing.xml, which is not in the package."
    )
    assert "not allowed" in parsed[1].problems[0].render()
    assert parsed[2].document is not None


def test_reads_the_published_qti22_package() -> None:
    data = shared_testdata("qti", "qti2p2", "items.zip").read_bytes()
    parsed = {item.source: item for item in parse_package(data, name="items.zip")}
    assert len(parsed) == 57
    choice = parsed["choice.xml"]
    assert choice.document is not None
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert choice.files == {"images/sign.png": archive.read("images/sign.png")}
    assert parsed["order.xml"].document is None
    assert [p.render() for p in parsed["order.xml"].problems] == [
        "Unsupported interaction: orderInteraction"
    ]
