"""Item bank services: schemes, items and their immutable versions, the review workflow, search.

Every function takes the caller's session and never commits: the request (or CLI command) that
calls it owns the transaction. Every state change is written to the audit log.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import Select, func, insert, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from itembank.checks import document_errors
from itembank.files import safe_file_name, sniff_media_type
from itembank.models import (
    Blob,
    Item,
    ItemVersion,
    ItemVersionFile,
    ItemVersionTag,
    ReviewEvent,
    Scheme,
)
from itembank.schemas import (
    STATUS_LABELS,
    CandidateItem,
    ItemDocument,
    ItemStatus,
    ItemType,
    candidate_view,
    validate_input,
)
from vakt import audit
from vakt.accounts import Role, User
from vakt.db import utcnow
from vakt.errors import Conflict, Forbidden, NotFound, VaktError
from vakt.i18n import _l
from vakt.text import UNSTORABLE_TEXT, unstorable_text

BANK_ROLES = (Role.ITEM_WRITER, Role.ITEM_REVIEWER, Role.ADMINISTRATOR)
"""The only roles that may list the bank or see an item's key and guide."""


@dataclass(frozen=True)
class FileUpload:
    """A file to attach to a new version."""

    name: str
    data: bytes


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


# ---- schemes ------------------------------------------------------------------------------------


async def create_scheme(
    session: AsyncSession, *, code: str, name: str, description: str = "", actor_id: int | None
) -> Scheme:
    """Create a certification scheme."""
    code = code.strip()
    if not code or len(code) > 40 or not name.strip():
        raise VaktError(_l("A scheme needs a code (at most 40 characters) and a name."))
    if await session.scalar(select(Scheme.id).where(Scheme.code == code)):
        raise Conflict(_l("A scheme with the code {code} exists already."), code=code)
    scheme = Scheme(code=code, name=name.strip(), description=description)
    session.add(scheme)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="scheme.create",
        entity_type="scheme",
        entity_id=scheme.id,
        after={"code": code, "name": scheme.name},
    )
    return scheme


async def get_scheme(session: AsyncSession, scheme_id: int) -> Scheme:
    """A scheme by id, or a 404."""
    scheme = await session.get(Scheme, scheme_id)
    if scheme is None:
        raise NotFound(_l("No such scheme."))
    return scheme


async def get_scheme_by_code(session: AsyncSession, code: str) -> Scheme:
    """A scheme by code, or a 404."""
    scheme = await session.scalar(select(Scheme).where(Scheme.code == code))
    if scheme is None:
        raise NotFound(_l("There is no scheme with the code {code}."), code=code)
    return scheme


async def list_schemes(session: AsyncSession) -> Sequence[Scheme]:
    """All schemes by code."""
    return (await session.scalars(select(Scheme).order_by(Scheme.code))).all()


# ---- versions -----------------------------------------------------------------------------------


def _content_hash(document: ItemDocument, files: Mapping[str, str]) -> str:
    payload = json.dumps(
        {"document": document.model_dump(mode="json"), "files": dict(sorted(files.items()))},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


async def _store_files(
    session: AsyncSession, uploads: Sequence[FileUpload]
) -> dict[str, tuple[str, str]]:
    return (await _store_file_sets(session, [uploads]))[0]


async def _store_file_sets(
    session: AsyncSession, upload_sets: Sequence[Sequence[FileUpload]]
) -> list[dict[str, tuple[str, str]]]:
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


@dataclass(frozen=True)
class _NewVersion:
    """The rows one new version needs: the version itself, its tags and its files."""

    values: dict[str, object]
    tags: list[str]
    files: dict[str, tuple[str, str]]


def _check_text(value: str, field: str) -> None:
    if unstorable_text(value):
        raise VaktError(UNSTORABLE_TEXT, field=field)


def _check_storable(documents: Sequence[ItemDocument], change_note: str) -> None:
    """Refuse, before anything is written, what would not read back as new content. Every way
    in (editor, API, imports, the command line) meets here, however its document was made."""
    _check_text(change_note, "change_note")
    for document in documents:
        try:
            validate_input(document.model_dump(mode="json"))
        except ValidationError as exc:
            raise invalid_document(exc) from None


def _new_version(
    item_id: int,
    number: int,
    document: ItemDocument,
    files: Mapping[str, tuple[str, str]],
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
        "status": ItemStatus.DRAFT.value,
        "item_type": document.type.value,
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
    stored = await _store_file_sets(session, [files for _, files in entries])
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
    carried.update(await _store_files(session, files or ()))
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


async def review_history(session: AsyncSession, item_id: int) -> Sequence[ReviewEvent]:
    """Every workflow step of every version of an item, oldest first."""
    return (
        await session.scalars(
            select(ReviewEvent)
            .join(ItemVersion, ItemVersion.id == ReviewEvent.version_id)
            .where(ItemVersion.item_id == item_id)
            .order_by(ReviewEvent.at, ReviewEvent.id)
        )
    ).all()


class CandidateViews:
    """What candidates see of item versions, kept in memory by one process.

    Showing an exam validates every item's document, cleans its HTML and leaves the key behind:
    milliseconds per item, at every page load and reload of every candidate. A version never
    changes once made, so its view is built once per process and reused; the least recently
    shown are forgotten beyond ``max_versions``.
    """

    def __init__(self, max_versions: int = 4096) -> None:
        self._views: OrderedDict[int, CandidateItem] = OrderedDict()
        self._max_versions = max_versions

    async def of(
        self, session: AsyncSession, version_ids: Sequence[int]
    ) -> dict[int, CandidateItem]:
        """The candidate views (no key, no guide) of these versions, by id, in the order asked;
        an id that names no version is left out. Shared: callers must not change them."""
        missing = [version_id for version_id in version_ids if version_id not in self._views]
        if missing:
            rows = await session.execute(
                select(ItemVersion.id, ItemVersion.document).where(ItemVersion.id.in_(missing))
            )
            for version_id, document in rows:
                self._views[version_id] = candidate_view(ItemDocument.model_validate(document))
        views: dict[int, CandidateItem] = {}
        for version_id in version_ids:
            if version_id in self._views:
                self._views.move_to_end(version_id)
                views[version_id] = self._views[version_id]
        while len(self._views) > self._max_versions:
            self._views.popitem(last=False)
        return views


def document_of(version: ItemVersion) -> ItemDocument:
    """The validated document of a stored version."""
    return ItemDocument.model_validate(version.document)


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


# ---- workflow -----------------------------------------------------------------------------------

_TRANSITIONS: dict[tuple[ItemStatus, ItemStatus], tuple[Role, ...]] = {
    (ItemStatus.DRAFT, ItemStatus.IN_REVIEW): (Role.ITEM_WRITER, Role.ADMINISTRATOR),
    (ItemStatus.IN_REVIEW, ItemStatus.APPROVED): (Role.ITEM_REVIEWER,),
    (ItemStatus.IN_REVIEW, ItemStatus.DRAFT): (Role.ITEM_REVIEWER,),
    (ItemStatus.APPROVED, ItemStatus.RETIRED): (Role.ITEM_REVIEWER, Role.ADMINISTRATOR),
}


async def transition(
    session: AsyncSession,
    *,
    version_id: int,
    to_status: ItemStatus,
    actor: User,
    comment: str = "",
) -> ItemVersion:
    """Move a version through the workflow: draft -> in review -> approved -> retired.

    A reviewer sends a version back to draft (a rejection) with a comment. Nobody approves a
    version they wrote. Approving a version retires the item's previously approved version.
    """
    version = await get_version(session, version_id)
    from_status = ItemStatus(version.status)
    allowed_roles = _TRANSITIONS.get((from_status, to_status))
    if allowed_roles is None:
        raise Conflict(
            _l("A version that is {from_status} cannot become {to_status}."),
            from_status=STATUS_LABELS[from_status],
            to_status=STATUS_LABELS[to_status],
        )
    if not actor.has_any(*allowed_roles):
        raise Forbidden(_l("Your roles do not allow this step."))
    comment = comment.strip()
    _check_text(comment, "comment")
    if len(comment) > 5000:
        raise VaktError(_l("The comment is too long (at most 5000 characters)."), field="comment")
    if to_status is ItemStatus.APPROVED and version.author_id == actor.id:
        raise Forbidden(_l("You wrote this version, so someone else must review it."))
    rejecting = from_status is ItemStatus.IN_REVIEW and to_status is ItemStatus.DRAFT
    if (rejecting or to_status is ItemStatus.RETIRED) and not comment:
        raise VaktError(_l("Say why in a comment."), field="comment")
    latest = await latest_version(session, version.item_id)
    if to_status is ItemStatus.IN_REVIEW and latest.id != version.id:
        raise Conflict(_l("Only the newest version of an item can be sent to review."))
    if to_status is ItemStatus.APPROVED:
        previous = await session.scalars(
            select(ItemVersion).where(
                ItemVersion.item_id == version.item_id,
                ItemVersion.status == ItemStatus.APPROVED.value,
                ItemVersion.id != version.id,
            )
        )
        for older in previous:
            await _set_status(
                session, older, ItemStatus.RETIRED, actor, "superseded by a newer version"
            )
    await _set_status(session, version, to_status, actor, comment)
    return version


async def _set_status(
    session: AsyncSession, version: ItemVersion, to_status: ItemStatus, actor: User, comment: str
) -> None:
    from_status = version.status
    version.status = to_status.value
    session.add(
        ReviewEvent(
            version_id=version.id,
            from_status=from_status,
            to_status=to_status.value,
            actor_id=actor.id,
            comment=comment,
        )
    )
    await audit.record(
        session,
        actor_id=actor.id,
        action="item.status",
        entity_type="item_version",
        entity_id=version.id,
        before={"status": from_status},
        after={"status": to_status.value, "comment": comment},
    )


# ---- search -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemQuery:
    """Filters for the bank's list; ``None`` means any."""

    scheme_id: int | None = None
    item_type: ItemType | None = None
    tag: str | None = None
    status: ItemStatus | None = None
    text: str | None = None
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class ItemPage:
    """One page of search results (each row an item's newest version)."""

    rows: Sequence[ItemVersion]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.per_page))


def _latest_versions_query(query: ItemQuery) -> Select[ItemVersion]:
    newest = (
        select(ItemVersion.item_id, func.max(ItemVersion.number).label("number"))
        .group_by(ItemVersion.item_id)
        .subquery()
    )
    statement = (
        select(ItemVersion)
        .join(
            newest,
            (newest.c.item_id == ItemVersion.item_id) & (newest.c.number == ItemVersion.number),
        )
        .join(Item, Item.id == ItemVersion.item_id)
    )
    if query.scheme_id is not None:
        statement = statement.where(Item.scheme_id == query.scheme_id)
    if query.item_type is not None:
        statement = statement.where(ItemVersion.item_type == query.item_type.value)
    if query.status is not None:
        statement = statement.where(ItemVersion.status == query.status.value)
    if query.tag:
        statement = statement.where(
            select(ItemVersionTag.version_id)
            .where(ItemVersionTag.version_id == ItemVersion.id, ItemVersionTag.tag == query.tag)
            .exists()
        )
    if query.text:
        pattern = f"%{query.text.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(ItemVersion.title).like(pattern),
                func.lower(Item.external_id).like(pattern),
            )
        )
    return statement


async def search_items(session: AsyncSession, query: ItemQuery) -> ItemPage:
    """The newest version of each item matching the filters, a page at a time."""
    statement = _latest_versions_query(query)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    page = max(1, query.page)
    rows = (
        await session.scalars(
            statement.order_by(Item.external_id)
            .offset((page - 1) * query.per_page)
            .limit(query.per_page)
        )
    ).all()
    return ItemPage(rows=rows, total=int(total or 0), page=page, per_page=query.per_page)


async def all_tags(session: AsyncSession) -> list[str]:
    """Every tag in use, sorted."""
    return list(
        (
            await session.scalars(
                select(ItemVersionTag.tag).distinct().order_by(ItemVersionTag.tag)
            )
        ).all()
    )


# ---- comparing versions -------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between two versions."""

    path: str
    old: str
    new: str


def compare_documents(old: ItemDocument, new: ItemDocument) -> list[FieldChange]:
    """The fields that differ between two documents, by dotted path, in document order."""
    changes: list[FieldChange] = []

    def walk(path: str, a: object, b: object) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                walk(f"{path}.{key}" if path else key, a.get(key), b.get(key))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(f"{path}[{index}]", x, y)
        elif a != b:
            changes.append(FieldChange(path, _show(a), _show(b)))

    walk("", old.model_dump(mode="json"), new.model_dump(mode="json"))
    return changes


def _show(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=1)
