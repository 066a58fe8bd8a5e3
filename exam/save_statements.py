"""The statements of a save, built once with bound parameters: a save is most of a sitting's
requests, and building and cache-keying a statement costs more CPU than running it. They use the
tables, not the mapped classes: these rows need no ORM bookkeeping (docs/architecture.md, "Under
load")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exam import timing
from exam.devices import OPEN_ELSEWHERE, device_digest
from exam.models import Answer, AnswerSave, Attempt, AttemptPart, AttemptStatus, Registration
from exam.pauses import PAUSED
from itembank.models import ExamFormItem, ItemVersion
from vakt.accounts import User
from vakt.errors import Conflict, Forbidden, NotFound, VaktError
from vakt.i18n import LazyText, _l

_PART, _ATTEMPT, _REGISTRATION, _FORM_ITEM, _VERSION, _ANSWER, _ANSWER_SAVE = (
    cast(Table, model.__table__)
    for model in (AttemptPart, Attempt, Registration, ExamFormItem, ItemVersion, Answer, AnswerSave)
)


SAVE_TARGET = (
    select(
        _PART.c.deadline,
        _PART.c.submitted_at,
        _PART.c.started_at,
        _PART.c.last_contact_at,
        _ATTEMPT.c.id,
        _ATTEMPT.c.status,
        _ATTEMPT.c.device_digest,
        _REGISTRATION.c.id,
        _REGISTRATION.c.candidate_id,
        _VERSION.c.document,
        _PART.c.paused_at,
    )
    .select_from(_PART)
    .join(_ATTEMPT, _ATTEMPT.c.id == _PART.c.attempt_id)
    .join(_REGISTRATION, _REGISTRATION.c.id == _ATTEMPT.c.registration_id)
    .outerjoin(
        _FORM_ITEM,
        and_(
            _FORM_ITEM.c.form_id == _ATTEMPT.c.form_id,
            _FORM_ITEM.c.part_index == _PART.c.part_index,
            _FORM_ITEM.c.item_version_id == bindparam("item_version_id"),
        ),
    )
    .outerjoin(_VERSION, _VERSION.c.id == _FORM_ITEM.c.item_version_id)
    .where(_PART.c.id == bindparam("part_id"))
    .limit(1)
    .with_for_update(of=_PART)
)


KEEP_SAVE = insert(_ANSWER_SAVE).from_select(
    ["attempt_part_id", "item_version_id", "question_id", "sequence", "value", "received_at",
     "applied", "changed_at"],
    select(
        _PART.c.id,
        *(
            bindparam(name, type_=_ANSWER_SAVE.c[column].type)
            for name, column in (
                ("item_version_id", "item_version_id"), ("question_id", "question_id"),
                ("sequence", "sequence"), ("value", "value"), ("now", "received_at"),
                ("applied", "applied"), ("changed_at", "changed_at"),
            )
        ),
    ).where(
        _PART.c.id == bindparam("part_id"), _PART.c.submitted_at.is_(None),
        _PART.c.paused_at.is_(None),
    ),
)  # fmt: skip


NEWEST_SEQUENCE = select(_ANSWER.c.sequence).where(
    _ANSWER.c.attempt_part_id == bindparam("part_id"),
    _ANSWER.c.item_version_id == bindparam("item_version_id"),
    _ANSWER.c.question_id == bindparam("question_id"),
)


def _upsert(dialect_insert: Any) -> Any:
    statement = dialect_insert(_ANSWER).values(
        attempt_part_id=bindparam("part_id"),
        item_version_id=bindparam("item_version_id"),
        question_id=bindparam("question_id"),
        sequence=bindparam("sequence"),
        value=bindparam("value"),
        saved_at=bindparam("now"),
    )
    return statement.on_conflict_do_update(
        index_elements=[
            _ANSWER.c.attempt_part_id,
            _ANSWER.c.item_version_id,
            _ANSWER.c.question_id,
        ],
        set_={
            "sequence": statement.excluded.sequence,
            "value": statement.excluded.value,
            "saved_at": statement.excluded.saved_at,
        },
        where=_ANSWER.c.sequence < statement.excluded.sequence,
    )


UPSERT_ANSWER = {"postgresql": _upsert(postgresql_insert), "sqlite": _upsert(sqlite_insert)}


@dataclass(frozen=True)
class SaveTarget:
    """What a save needs to know about its part, read in one round trip."""

    deadline: datetime
    submitted_at: datetime | None
    started_at: datetime
    last_contact_at: datetime | None
    attempt_id: int
    attempt_status: str
    device_digest: str | None
    registration_id: int
    candidate_id: int
    document: dict[str, Any] | None
    """The item version's document when the form pins it to this part, else None."""
    paused_at: datetime | None
    """Since when the part's clock stands still (``exam.pauses``): no save meanwhile."""

    def check_device(self, device: str | None) -> None:
        """Refuse (403) a change from another browser than the one the attempt is tied to
        (``device``: the browser's token; None where the entrance has no browser)."""
        if device is not None and self.device_digest not in (None, device_digest(device)):
            raise Forbidden(OPEN_ELSEWHERE)

    def check_open(
        self, device: str | None, now: datetime, *, handed_in: LazyText, time_up: LazyText
    ) -> None:
        """The rules every change to a running part obeys but an answer typed in time (which
        may arrive late, ``exam.saves``): the attempt's own browser (403), and (409) a part
        neither handed in nor ended, with time left, and not paused by a proctor. ``handed_in``
        and ``time_up`` say what can no longer change."""
        self.check_device(device)
        if self.attempt_status == AttemptStatus.TERMINATED or self.submitted_at is not None:
            raise Conflict(handed_in)
        if not timing.accepts_saves(self.deadline, now):
            raise Conflict(time_up)
        if self.paused_at is not None:
            raise Conflict(PAUSED)


async def save_target(
    session: AsyncSession, attempt_part_id: int, candidate: User, item_version_id: int
) -> SaveTarget:
    """The part, checked to be the candidate's, with the item version if the part holds it.

    One query instead of one per row (part, attempt, registration, form and its items, version):
    saves are most of a sitting's requests. On PostgreSQL it locks the part's row (FOR UPDATE OF
    attempt_part) so a hand-in cannot read the answers while this save is half done; SQLite
    serialises writers anyway and is covered by the check in the history insert.
    """
    row = (
        await session.execute(
            SAVE_TARGET, {"part_id": attempt_part_id, "item_version_id": item_version_id}
        )
    ).first()
    if row is None:
        raise NotFound(_l("No such part."))
    target = SaveTarget(*tuple(row))
    # Another candidate's part is reported as missing: its existence is not theirs to know.
    if target.candidate_id != candidate.id:
        raise NotFound(_l("No such registration."))
    return target


async def apply_save(
    session: AsyncSession,
    attempt_part_id: int,
    item_version_id: int,
    question_id: str,
    sequence: int,
    value: Any,
    now: datetime,
) -> bool:
    """Make the save the newest answer unless a newer one is there.

    One atomic upsert (INSERT ... ON CONFLICT DO UPDATE ... WHERE the stored sequence is older),
    so two tabs saving at once cannot both win or both lose: the database decides.
    """
    result = await session.execute(
        UPSERT_ANSWER[session.get_bind().dialect.name],
        {
            "part_id": attempt_part_id,
            "item_version_id": item_version_id,
            "question_id": question_id,
            "sequence": sequence,
            "value": value,
            "now": now,
        },
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


SEQUENCE_LEAD = timedelta(minutes=10)
"""How far a sequence number may run ahead of the server's clock in milliseconds. The exam page
numbers changes by the server-synced time, other clients count 1, 2, 3; a number far ahead would
freeze the answer or the flag (no later change could beat it)."""


def check_sequence(sequence: int, now: datetime) -> None:
    """Refuse a change's sequence number below 0 or too far ahead of the server's clock (a 400
    at the field, with the largest number allowed)."""
    max_sequence = int((now + SEQUENCE_LEAD).timestamp() * 1000)
    if not 0 <= sequence <= max_sequence:
        raise VaktError(
            _l("The sequence number must be a whole number from 0 to {max}."),
            field="sequence",
            max=max_sequence,
        )
