"""Items and their immutable versions: creating them (one, or many at once for imports),
a new version for every edit, and reading them.

Every function takes the caller's session and never commits: the request (or CLI command) that
calls it owns the transaction. Every change is written to the audit log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from itembank.checks import document_errors, refuse_unstorable
from itembank.files import FileUpload, StoredFiles, store_file_sets, store_files
from itembank.models import Item, ItemVersion, ItemVersionFile, ItemVersionTag
from itembank.quality import clear_marks
from itembank.schemas import ItemDocument, ItemStatus, validate_input
from itembank.schemes import get_scheme
from vakt import audit
from vakt.db import utcnow
from vakt.errors import Conflict, NotFound, VaktError
from vakt.i18n import _l


def parse_document(data: object) -> ItemDocument:
    """Validate new content by every rule, turning validation errors into one clear error with
    details."""
    try:
        return validate_input(data)
    except ValidationError as exc:
        raise invalid_document(exc) from None


def invalid_document(exc: ValidationError) -> VaktError:
    """A user-facing error listing, field by field, where a document is wrong."""
    return VaktError(
        _l("The item is not valid."),
        details=list(document_errors(exc)),
    )


def document_of(version: ItemVersion) -> ItemDocument:
    """The validated document of a stored version."""
    return ItemDocument.model_validate(version.document)


def _content_hash(document: ItemDocument, files: Mapping[str, str]) -> str:
    payload = json.dumps(
        {"document": document.model_dump(mode="json"), "files": dict(sorted(files.items()))},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class _NewVersion:
    """The rows one new version needs: the version itself, its tags and its files."""

    values: dict[str, object]
    tags: list[str]
    files: StoredFiles


def _check_storable(documents: Sequence[ItemDocument], change_note: str) -> None:
    """Refuse, before anything is written, what would not read back as new content. Every way
    in (editor, API, imports, the command line) meets here, however its document was made."""
    refuse_unstorable(change_note, "change_note")
    for document in documents:
        try:
            validate_input(document.model_dump(mode="json"))
        except ValidationError as exc:
            raise invalid_document(exc) from None


def _new_version(
    item_id: int,
    number: int,
    document: ItemDocument,
    files: StoredFiles,
    *,
    author_id: int | None,
    change_note: str,
) -> _NewVersion:
    missing = [name for name in document.attachments if name not in files]
    if missing:
        raise VaktError(
            _l("The item refers to files that were not supplied: {names}"), names=", ".join(missing)
        )
    values: dict[str, object] = {
        "item_id": item_id,
        "number": number,
        "status": ItemStatus.DRAFT,
        "item_type": document.type,
        "title": document.title,
        "language": document.language,
        "document": document.model_dump(mode="json"),
        "content_hash": _content_hash(document, {name: sha for name, (sha, _) in files.items()}),
        "max_points": document.max_points,
        "author_id": author_id,
        "change_note": change_note,
        "created_at": utcnow(),
    }
    return _NewVersion(values, list(document.tags), dict(sorted(files.items())))


async def _insert_versions(
    session: AsyncSession, new_versions: Sequence[_NewVersion]
) -> list[ItemVersion]:
    """Insert versions with their tags and files in a few statements (bulk imports are large)."""
    # A plain executemany, then one SELECT, beats INSERT ... RETURNING in parameter order, which
    # SQLite can only do a row at a time.
    await session.execute(insert(ItemVersion), [new.values for new in new_versions])
    by_key: dict[tuple[object, object], ItemVersion] = {}
    for start in range(0, len(new_versions), 500):
        chunk = new_versions[start : start + 500]
        rows = await session.scalars(
            select(ItemVersion).where(
                tuple_(ItemVersion.item_id, ItemVersion.number).in_(
                    [(new.values["item_id"], new.values["number"]) for new in chunk]
                )
            )
        )
        by_key.update(((row.item_id, row.number), row) for row in rows)
    versions = [by_key[(new.values["item_id"], new.values["number"])] for new in new_versions]
    tag_rows = [
        {"version_id": version.id, "tag": tag}
        for version, new in zip(versions, new_versions, strict=True)
        for tag in new.tags
    ]
    file_rows = [
        {"version_id": version.id, "name": name, "sha256": sha, "media_type": media_type}
        for version, new in zip(versions, new_versions, strict=True)
        for name, (sha, media_type) in new.files.items()
    ]
    if tag_rows:
        await session.execute(insert(ItemVersionTag), tag_rows)
    if file_rows:
        await session.execute(insert(ItemVersionFile), file_rows)
    for version, new in zip(versions, new_versions, strict=True):
        set_committed_value(
            version,
            "files",
            [
                ItemVersionFile(version_id=version.id, name=name, sha256=sha, media_type=media_type)
                for name, (sha, media_type) in new.files.items()
            ],
        )
    return versions


async def create_item(
    session: AsyncSession,
    *,
    scheme_id: int,
    document: ItemDocument,
    files: Sequence[FileUpload] = (),
    actor_id: int | None,
    change_note: str = "",
) -> ItemVersion:
    """Create an item and its first version (a draft)."""
    created = await create_items(
        session,
        scheme_id=scheme_id,
        entries=[(document, files)],
        actor_id=actor_id,
        change_note=change_note,
    )
    return created[0]


async def create_items(
    session: AsyncSession,
    *,
    scheme_id: int,
    entries: Sequence[tuple[ItemDocument, Sequence[FileUpload]]],
    actor_id: int | None,
    change_note: str = "",
) -> list[ItemVersion]:
    """Create several items, each with a first version (a draft), in a few statements.

    All or nothing: an id that exists already (or appears twice) refuses the whole batch.
    """
    await get_scheme(session, scheme_id)
    _check_storable([document for document, _ in entries], change_note)
    ids = [document.external_id for document, _ in entries]
    repeated = sorted({external_id for external_id in ids if ids.count(external_id) > 1})
    taken: list[str] = []
    for start in range(0, len(ids), 500):
        taken += (
            await session.scalars(
                select(Item.external_id).where(
                    Item.scheme_id == scheme_id, Item.external_id.in_(ids[start : start + 500])
                )
            )
        ).all()
    if repeated or taken:
        raise Conflict(
            _l("An item with the id {external_id} exists already in this scheme."),
            field="external_id",
            external_id=(repeated or taken)[0],
        )
    stored = await store_file_sets(session, [files for _, files in entries])
    await session.flush()  # the files' blobs go first
    now = utcnow()
    await session.execute(
        insert(Item),
        [
            {"scheme_id": scheme_id, "external_id": external_id, "created_by_id": actor_id,
             "created_at": now}
            for external_id in ids
        ],
    )  # fmt: skip
    by_id: dict[str, Item] = {}
    for start in range(0, len(ids), 500):
        rows = await session.scalars(
            select(Item).where(
                Item.scheme_id == scheme_id, Item.external_id.in_(ids[start : start + 500])
            )
        )
        by_id.update((item.external_id, item) for item in rows)
    items = [by_id[external_id] for external_id in ids]
    versions = await _insert_versions(
        session,
        [
            _new_version(item.id, 1, document, files, author_id=actor_id, change_note=change_note)
            for item, (document, _), files in zip(items, entries, stored, strict=True)
        ],
    )
    for item, version in zip(items, versions, strict=True):
        set_committed_value(version, "item", item)
    await audit.record_many(
        session,
        [
            audit.AuditEvent(
                actor_id=actor_id,
                action="item.create",
                entity_type="item_version",
                entity_id=version.id,
                after={
                    "item_id": item.id,
                    "external_id": item.external_id,
                    "number": 1,
                    "content_hash": version.content_hash,
                },
            )
            for item, version in zip(items, versions, strict=True)
        ],
    )
    return versions


async def create_version(
    session: AsyncSession,
    *,
    item_id: int,
    document: ItemDocument,
    files: Sequence[FileUpload] | None = None,
    actor_id: int | None,
    change_note: str = "",
) -> ItemVersion:
    """Store an edit as a new draft version; earlier versions stay exactly as they were.

    ``files=None`` keeps the latest version's files; new uploads replace files of the same name.
    """
    _check_storable([document], change_note)
    latest = await latest_version(session, item_id)
    if latest.status == ItemStatus.IN_REVIEW:
        raise Conflict(_l("This item is in review. The reviewer must finish before it is edited."))
    if document.external_id != latest.item.external_id:
        raise VaktError(_l("An item's id cannot change."), field="external_id")
    carried = {f.name: (f.sha256, f.media_type) for f in latest.files}
    carried.update(await store_files(session, files or ()))
    kept = {name: value for name, value in carried.items() if name in document.attachments}
    new = _new_version(
        latest.item_id,
        latest.number + 1,
        document,
        kept,
        author_id=actor_id,
        change_note=change_note,
    )
    if new.values["content_hash"] == latest.content_hash:
        raise VaktError(_l("Nothing was changed, so no new version was made."))
    await session.flush()  # the files' blobs go first
    (version,) = await _insert_versions(session, [new])
    set_committed_value(version, "item", latest.item)
    await audit.record(
        session,
        actor_id=actor_id,
        action="item.new_version",
        entity_type="item_version",
        entity_id=version.id,
        before={"version_id": latest.id, "number": latest.number,
                "content_hash": latest.content_hash},
        after={"number": version.number, "content_hash": version.content_hash},
    )  # fmt: skip
    # The new version is what candidates will see: the old one's statistics say nothing of it.
    await clear_marks(
        session, item_id=latest.item_id, new_version_id=version.id, actor_id=actor_id,
        now=utcnow(),
    )  # fmt: skip
    return version


async def get_version(session: AsyncSession, version_id: int) -> ItemVersion:
    """A version by id, or a 404."""
    version = await session.get(ItemVersion, version_id)
    if version is None:
        raise NotFound(_l("No such item version."))
    return version


async def latest_version(session: AsyncSession, item_id: int) -> ItemVersion:
    """The newest version of an item, or a 404."""
    version = await session.scalar(
        select(ItemVersion)
        .where(ItemVersion.item_id == item_id)
        .order_by(ItemVersion.number.desc())
        .limit(1)
    )
    if version is None:
        raise NotFound(_l("No such item."))
    return version


async def list_versions(session: AsyncSession, item_id: int) -> Sequence[ItemVersion]:
    """All versions of an item, oldest first."""
    versions = (
        await session.scalars(
            select(ItemVersion).where(ItemVersion.item_id == item_id).order_by(ItemVersion.number)
        )
    ).all()
    if not versions:
        raise NotFound(_l("No such item."))
    return versions
