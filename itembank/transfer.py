"""Importing items into a scheme's bank and exporting them: QTI packages, QTI files and YAML.

Import is all or nothing by default: every item is read and checked first, and if any has a
problem nothing is stored and the error lists them all. With ``skip_unsupported`` the good items
are stored and the others are listed in the report. A dry run reads and checks without storing.

An item whose id already exists in the scheme becomes a new version of that item, unless nothing
changed (then it is reported as unchanged). Like the other services these functions never commit.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from babel.support import NullTranslations
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from itembank import qti, search, yamlformat
from itembank.files import FileUpload, read_file, safe_file_name, sniff_media_type
from itembank.models import Item, ItemVersion
from itembank.qti import ParsedItem, Problem, packages
from itembank.schemas import ItemDocument, ItemStatus
from itembank.schemes import get_scheme
from itembank.versions import (
    create_items,
    create_version,
    document_of,
    get_version,
    latest_version,
)
from vakt import audit
from vakt.errors import VaktError
from vakt.i18n import LazyText, Message, _l
from vakt.validation import render_message

ExportFormat = Literal["qti3", "qti21", "yaml"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("qti3", "qti21", "yaml")
BATCH_SIZE = 500
"""Items stored (or looked up) per statement batch during an import."""
ImportFormat = Literal["qti-package", "qti-item", "yaml"]


class ImportStatus(enum.StrEnum):
    """What importing an item did (or, in a dry run, would do)."""

    CREATED = "created"
    NEW_VERSION = "new_version"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ImportedItem:
    """An item that was imported, or found unchanged."""

    source: str
    external_id: str
    title: str
    status: ImportStatus
    version_id: int | None
    """The stored version (the existing one when unchanged); None in a dry run."""


@dataclass(frozen=True)
class ImportProblem:
    """Why one item (a file in a package, an entry of a YAML file) was not imported."""

    source: str
    identifier: str | None
    message: LazyText
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """The item's file (and identifier, when known)."""
        return f"{self.source} ({self.identifier})" if self.identifier else self.source

    def render(self, translations: NullTranslations | None = None) -> str:
        """The reason in the reader's language (English without translations)."""
        return render_message(
            Message(self.message, dict(self.params)), translations or NullTranslations()
        )

    def message_with_place(self) -> Message:
        """The reason with the item's place, to be translated when shown."""
        return Message(
            _l("{where}: {problem}"),
            {"where": self.where, "problem": Message(self.message, dict(self.params))},
        )

    def __str__(self) -> str:
        return f"{self.where}: {self.render()}"


@dataclass
class ImportReport:
    """What an import did: the items imported and the problems of the others."""

    format: ImportFormat
    dry_run: bool
    imported: list[ImportedItem] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


class ImportRefused(VaktError):
    """Nothing was imported because some items have problems; ``report`` lists them all."""

    status_code = 422

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            _l(
                "Nothing was imported, because {count} of the items have problems. Fix them, "
                "or import again and skip the items with problems."
            ),
            details=[problem.message_with_place() for problem in report.problems],
            count=len({(problem.source, problem.identifier) for problem in report.problems}),
        )
        self.report = report


def detect_format(data: bytes, filename: str) -> ImportFormat:
    """Which format an upload is in, by its content first and its name second."""
    name = filename.lower()
    if name.endswith(".zip") or data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "qti-package"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if (
        name.endswith(".xml")
        or head.startswith(b"<")
        or head.startswith((b"\xff\xfe", b"\xfe\xff"))
    ):
        return "qti-item"
    raise VaktError(
        _l("The file {name} is not a QTI package (.zip), a QTI item (.xml) or a YAML file."),
        name=filename[:200],
    )


def read_items(data: bytes, filename: str) -> tuple[ImportFormat, list[ParsedItem]]:
    """Read every item of an upload, whatever its format; unreadable files raise VaktError."""
    if not data:
        raise VaktError(_l("The file {name} is empty."), name=filename[:200])
    kind = detect_format(data, filename)
    if kind == "qti-package":
        return kind, packages.parse_package(data, name=filename)
    if kind == "yaml":
        return kind, yamlformat.parse_items(data, source=filename)
    return kind, [qti.parse_item(data, source=filename)]


@dataclass
class _Plan:
    parsed: ParsedItem
    document: ItemDocument
    uploads: list[FileUpload]
    status: ImportStatus
    item_id: int | None = None
    existing_version_id: int | None = None


async def import_items(
    session: AsyncSession,
    *,
    scheme_id: int,
    data: bytes,
    filename: str,
    actor_id: int | None,
    skip_unsupported: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import the items of an upload (QTI package, QTI item file or YAML) into a scheme.

    By default any problem refuses the whole import (``ImportRefused``, listing every problem).
    With ``skip_unsupported`` the items without problems are stored and the rest reported.
    ``dry_run`` reads, checks and reports, and stores nothing; item problems are then only
    reported, never raised. Uploads that cannot be read at all, or look hostile (unsafe XML,
    zip bombs, odd entry names), raise VaktError in every mode.
    """
    await get_scheme(session, scheme_id)
    kind, parsed_items = read_items(data, filename)
    report = ImportReport(format=kind, dry_run=dry_run)
    plans: list[_Plan] = []
    claimed: dict[str, str] = {}
    existing = await _existing_item_ids(
        session, scheme_id, [p.document.external_id for p in parsed_items if p.document]
    )
    for parsed in parsed_items:
        plan = await _plan(session, parsed, claimed, existing)
        if parsed.problems or plan is None:
            report.problems.extend(
                ImportProblem(parsed.source, parsed.identifier, problem.message, problem.params)
                for problem in parsed.problems
            )
            continue
        claimed[plan.document.external_id] = parsed.source
        plans.append(plan)
    if report.problems and not skip_unsupported and not dry_run:
        raise ImportRefused(report)
    created: dict[int, int] = {}
    new_items = [plan for plan in plans if plan.status is ImportStatus.CREATED]
    for start in range(0, 0 if dry_run else len(new_items), BATCH_SIZE):
        batch = new_items[start : start + BATCH_SIZE]
        versions = await create_items(
            session,
            scheme_id=scheme_id,
            entries=[(plan.document, plan.uploads) for plan in batch],
            actor_id=actor_id,
            change_note=f"Imported from {filename[:200]}",
        )
        created.update(
            (id(plan), version.id) for plan, version in zip(batch, versions, strict=True)
        )
    for plan in plans:
        version_id = created.get(id(plan), plan.existing_version_id)
        if not dry_run and plan.status is ImportStatus.NEW_VERSION and plan.item_id is not None:
            version = await create_version(
                session,
                item_id=plan.item_id,
                document=plan.document,
                files=plan.uploads,
                actor_id=actor_id,
                change_note=f"Imported from {filename[:200]}",
            )
            version_id = version.id
        report.imported.append(
            ImportedItem(
                source=plan.parsed.source,
                external_id=plan.document.external_id,
                title=plan.document.title,
                status=plan.status,
                version_id=version_id,
            )
        )
    return report


async def _existing_item_ids(
    session: AsyncSession, scheme_id: int, external_ids: Sequence[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(external_ids), BATCH_SIZE):
        rows = await session.execute(
            select(Item.external_id, Item.id).where(
                Item.scheme_id == scheme_id,
                Item.external_id.in_(external_ids[start : start + BATCH_SIZE]),
            )
        )
        found.update((row[0], row[1]) for row in rows)
    return found


async def _plan(
    session: AsyncSession,
    parsed: ParsedItem,
    claimed: Mapping[str, str],
    existing: Mapping[str, int],
) -> _Plan | None:
    """Check everything storing could trip over, so that storing does not fail halfway."""
    document = parsed.document
    if parsed.problems or document is None:
        return None
    uploads: list[FileUpload] = []
    for name in document.attachments:
        content = parsed.files.get(name)
        if content is None:
            parsed.add_problem(
                Problem(_l("The item uses the file {name}, which is missing."), {"name": name})
            )
            continue
        try:
            safe_file_name(name)
            sniff_media_type(name, content)
        except VaktError as exc:
            parsed.add_problem(Problem.from_error(exc))
            continue
        uploads.append(FileUpload(name=name, data=content))
    other = claimed.get(document.external_id)
    if other is not None:
        parsed.add_problem(
            Problem(
                _l("Another item in this import ({other}) has the same identifier {external_id}."),
                {"other": other, "external_id": document.external_id},
            )
        )
    if parsed.problems:
        return None
    item_id = existing.get(document.external_id)
    if item_id is None:
        return _Plan(parsed, document, uploads, ImportStatus.CREATED)
    latest = await latest_version(session, item_id)
    if _same_content(latest, document, uploads):
        return _Plan(
            parsed,
            document,
            uploads,
            ImportStatus.UNCHANGED,
            item_id,
            existing_version_id=latest.id,
        )
    if latest.status == ItemStatus.IN_REVIEW:
        parsed.add_problem(
            Problem(
                _l(
                    "The item {external_id} is in review, so a new version cannot be imported "
                    "until the review is finished."
                ),
                {"external_id": document.external_id},
            )
        )
        return None
    return _Plan(parsed, document, uploads, ImportStatus.NEW_VERSION, item_id)


def _same_content(
    latest: ItemVersion, document: ItemDocument, uploads: Sequence[FileUpload]
) -> bool:
    if document_of(latest) != document:
        return False
    stored = {file.name: file.sha256 for file in latest.files if file.name in document.attachments}
    new = {upload.name: hashlib.sha256(upload.data).hexdigest() for upload in uploads}
    return stored == new


def export_format(name: str) -> ExportFormat | None:
    """The export format of that name, or None when there is none."""
    return next((fmt for fmt in EXPORT_FORMATS if fmt == name), None)


async def export_items(
    session: AsyncSession, *, version_ids: list[int], fmt: ExportFormat
) -> tuple[bytes, str, str]:
    """Export item versions as (content, media type, file name).

    ``qti3`` and ``qti21`` give a content package (zip with ``imsmanifest.xml``, one folder per
    item with its QTI file and files); ``yaml`` gives one YAML file. The export holds keys and
    grading guides: callers must check that the user may see the bank.
    """
    if not version_ids:
        raise VaktError(_l("Choose at least one item to export."))
    if fmt not in EXPORT_FORMATS:
        raise VaktError(_l("Unknown export format {format}."), format=str(fmt)[:20])
    entries: list[tuple[ItemDocument, dict[str, tuple[str, bytes]]]] = []
    seen: set[str] = set()
    for version_id in dict.fromkeys(version_ids):
        version = await get_version(session, version_id)
        document = document_of(version)
        if document.external_id in seen:
            raise VaktError(
                _l("The export holds more than one version of the item {external_id}."),
                external_id=document.external_id,
            )
        seen.add(document.external_id)
        files = {name: await read_file(session, version.id, name) for name in document.attachments}
        entries.append((document, files))
    stem = entries[0][0].external_id if len(entries) == 1 else "vakt-items"
    if fmt == "yaml":
        return yamlformat.dump_items(entries), yamlformat.MEDIA_TYPE, f"{stem}.yaml"
    items = [
        packages.PackageItem(
            identifier=document.external_id,
            xml=qti.write_item(document, version=fmt),
            files={name: content for name, (_, content) in files.items()},
        )
        for document, files in entries
    ]
    return packages.write_package(items, version=fmt), "application/zip", f"{stem}-{fmt}.zip"


async def export_for_download(
    session: AsyncSession,
    *,
    version_ids: Sequence[int],
    scheme_id: int | None,
    fmt: ExportFormat,
    actor_id: int | None,
) -> tuple[bytes, str, str]:
    """Export the chosen versions, or without a choice the newest version of every item (of
    the scheme, when one is given), as ``export_items`` does; the export is audited, since it
    holds keys and grading guides."""
    chosen = list(version_ids)
    if not chosen:
        query = search.ItemQuery(scheme_id=scheme_id, per_page=100_000)
        chosen = [v.id for v in (await search.search_items(session, query)).rows]
    if not chosen:
        raise VaktError(_l("There are no items to export."))
    exported = await export_items(session, version_ids=chosen, fmt=fmt)
    await audit.record(
        session,
        actor_id=actor_id,
        action="item.export",
        entity_type="item_version",
        entity_id=",".join(map(str, chosen[:20])) + ("…" if len(chosen) > 20 else ""),
        after={"format": fmt, "count": len(chosen)},
    )
    return exported
