"""Appeals: a candidate appeals against a released result or decision from My page, within the
scheme's ``appeal_days`` of the day it was sent (that day is day 0, in the body's time zone; the
last day counts whole). An appeal is numbered per year ("K-2026-0001"), tracked by status and
confidential: the candidate sees their own, the appeal handlers and decision makers see all.

A handler records the outcome with grounds (the candidate is notified); an upheld appeal lets a
decision maker who took no part in the first decision (nor in the attempt: the independence
rules) make a new decision that replaces it, one round on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy.exc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import attachments, notices
from certification.access import APPEAL_HANDLERS, DECIDERS
from certification.attachments import AttachmentStore, Download, Upload
from certification.certificates import issue_certificate, local_date
from certification.decisions import (
    MAX_GROUNDS,
    parse_outcome,
    release_with_decision,
    standing_decision,
)
from certification.independence import Participants, require_independent
from certification.models import Appeal, AppealAttachment, Certificate, CertificationDecision
from certification.numbering import numbered
from certification.policy import rules_for_scheme
from certification.regrading import (
    NOT_FINISHED,
    Regrading,
    RegradingRow,
    regrading_rows,
    unfinished,
)
from certification.requirements import case_of
from certification.schemas import AppealStatus, CertificateStatus, DecisionOutcome
from exam.models import Attempt, Registration, Sitting
from exam.reviews import Reviews
from exam.roles import CANDIDATES, require
from vakt import audit, notifications
from vakt.accounts import User
from vakt.errors import Conflict, Forbidden, NotFound, VaktError
from vakt.i18n import _l
from vakt.text import storable

__all__ = ["MAX_GROUNDS", "parse_outcome"]

APPEAL_MIN_LENGTH = 10
APPEAL_MAX_LENGTH = 8000
VIEWERS = APPEAL_HANDLERS | DECIDERS
NOT_YOURS = _l("There is no such appeal among yours.")
NO_RESULT = _l("There is no released result or decision of yours to appeal here.")
HANDLERS_ONLY = _l("Only the appeal handlers and the decision makers see appeals.")


@dataclass(frozen=True)
class Appealable:
    """A registration's result as sent to the candidate, and the last day to appeal it."""

    registration_id: int
    decision: CertificationDecision | None
    sent_at: datetime
    last_day: date


def last_day(sent_at: datetime, appeal_days: int, timezone: str) -> date:
    """The last day to appeal: the day sent (day 0, in ``timezone``) plus ``appeal_days``."""
    return local_date(sent_at, timezone) + timedelta(days=appeal_days)


async def appealable(
    session: AsyncSession, registration: Registration, timezone: str
) -> Appealable | None:
    """What of this registration can be appealed: the standing decision, else the released
    result; None when nothing has been sent to the candidate."""
    decision = await standing_decision(session, registration.id)
    sent_at = decision.decided_at if decision is not None else None
    if sent_at is None:
        sent_at = await session.scalar(
            select(Attempt.results_released_at)
            .where(Attempt.registration_id == registration.id)
            .order_by(Attempt.id.desc())
            .limit(1)
        )
    if sent_at is None:
        return None
    sitting = await session.get(Sitting, registration.sitting_id)
    assert sitting is not None
    rules = await rules_for_scheme(session, sitting.scheme_id)
    return Appealable(registration.id, decision, sent_at, last_day(sent_at, rules.appeal_days,
                                                                   timezone))  # fmt: skip


async def appeal_options(
    session: AsyncSession, candidate: User, timezone: str
) -> dict[int, tuple[Appealable, list[Appeal]]]:
    """For My page: each of the candidate's registrations with something sent, what can be
    appealed and their appeals against it (oldest first)."""
    options: dict[int, tuple[Appealable, list[Appeal]]] = {}
    for registration in await session.scalars(
        select(Registration).where(Registration.candidate_id == candidate.id)
    ):
        found = await appealable(session, registration, timezone)
        if found is not None:
            options[registration.id] = (found, [])
    for appeal in await session.scalars(
        select(Appeal).where(Appeal.candidate_id == candidate.id).order_by(Appeal.id)
    ):
        if appeal.registration_id in options:
            options[appeal.registration_id][1].append(appeal)
    return options


def _check_grounds(grounds: str) -> str:
    written = storable(grounds, "grounds").strip()
    if len(written) < APPEAL_MIN_LENGTH:
        raise VaktError(
            _l("Write the grounds of your appeal (at least {length} characters)."),
            field="grounds", status_code=422, length=APPEAL_MIN_LENGTH,
        )  # fmt: skip
    if len(written) > APPEAL_MAX_LENGTH:
        raise VaktError(
            _l("The grounds may be at most {length} characters."),
            field="grounds", status_code=422, length=APPEAL_MAX_LENGTH,
        )  # fmt: skip
    return written


async def file_appeal(
    session: AsyncSession,
    *,
    candidate: User,
    registration_id: int,
    grounds: str,
    now: datetime,
    timezone: str,
    uploads: Sequence[Upload] = (),
    store: AttachmentStore | None = None,
) -> Appeal:
    """File the candidate's appeal against their released result or decision, within the
    deadline (refused after it, with the date), with the files attached (``store`` keeps them;
    nothing is filed when one is refused); numbered, audited, the candidate notified."""
    require(candidate, CANDIDATES, _l("Only candidates appeal their results."))
    registration = await session.get(Registration, registration_id)
    if registration is None or registration.candidate_id != candidate.id:
        raise NotFound(NO_RESULT)
    found = await appealable(session, registration, timezone)
    if found is None:
        raise NotFound(NO_RESULT)
    written = _check_grounds(grounds)
    if local_date(now, timezone) > found.last_day:
        raise VaktError(
            _l("The deadline to appeal was {day}: the appeal cannot be filed."),
            field="grounds", status_code=409, day=found.last_day,
        )  # fmt: skip
    files = attachments.check_files(uploads)
    appeal = Appeal(
        candidate_id=candidate.id,
        registration_id=registration.id,
        decision_id=found.decision.id if found.decision is not None else None,
        grounds=written,
        filed_at=now,
        status=AppealStatus.RECEIVED,
        outcome_grounds="",
    )
    await numbered(session, appeal, "K", local_date(now, timezone).year)
    await audit.record(
        session, actor_id=candidate.id, action="certification.appeal_filed",
        entity_type="appeal", entity_id=appeal.id,
        after={"number": appeal.number, "registration_id": registration.id,
               "decision_id": appeal.decision_id},
    )  # fmt: skip
    if files:
        assert store is not None, "attachments need a store"
        await attachments.attach(
            session, appeal=appeal, files=files, store=store, actor=candidate, now=now
        )
    await notifications.notify(
        session, recipient_id=candidate.id, kind=notices.APPEAL_RECEIVED,
        params={"number": appeal.number, "filed_at": now}, now=now,
    )  # fmt: skip
    return appeal


async def own_appeal(session: AsyncSession, candidate: User, appeal_id: int) -> Appeal:
    """The candidate's own appeal; NotFound for anyone else's (its existence stays hidden)."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.candidate_id != candidate.id:
        raise NotFound(NOT_YOURS)
    return appeal


def is_decided(appeal: Appeal) -> bool:
    """The outcome has been recorded (upheld or rejected): the appeal takes no more files."""
    return appeal.status in (AppealStatus.UPHELD, AppealStatus.REJECTED)


async def add_attachments(
    session: AsyncSession,
    *,
    candidate: User,
    appeal_id: int,
    uploads: Sequence[Upload],
    store: AttachmentStore,
    now: datetime,
) -> list[AppealAttachment]:
    """Attach more files to the candidate's own appeal while its outcome is not recorded (at
    most ``attachments.MAX_FILES`` in all); audited."""
    appeal = await own_appeal(session, candidate, appeal_id)
    if is_decided(appeal):
        raise Conflict(_l("The appeal has been decided: no more files can be attached."))
    if not uploads:
        raise VaktError(_l("Choose a file to attach."), field=attachments.FIELD, status_code=422)
    existing = await attachments.count_of(session, appeal.id)
    files = attachments.check_files(uploads, existing)
    return await attachments.attach(
        session, appeal=appeal, files=files, store=store, actor=candidate, now=now
    )


async def own_attachment(
    session: AsyncSession,
    candidate: User,
    appeal_id: int,
    attachment_id: int,
    store: AttachmentStore,
) -> Download:
    """A file of the candidate's own appeal; NotFound for anyone else's."""
    appeal = await own_appeal(session, candidate, appeal_id)
    row = await attachments.attachment_of(session, appeal.id, attachment_id)
    return await attachments.read(store, row)


async def staff_attachment(
    session: AsyncSession,
    viewer: User,
    appeal_id: int,
    attachment_id: int,
    store: AttachmentStore,
) -> Download:
    """A file of an appeal for the appeal handlers and decision makers; each download is
    audited."""
    require(viewer, VIEWERS, HANDLERS_ONLY)
    row = await attachments.attachment_of(session, appeal_id, attachment_id)
    download = await attachments.read(store, row)
    await audit.record(
        session, actor_id=viewer.id, action="certification.appeal_attachment_downloaded",
        entity_type="appeal", entity_id=appeal_id,
        after={"attachment_id": row.id, "file_name": row.file_name, "sha256": row.sha256},
    )  # fmt: skip
    return download


@dataclass(frozen=True)
class AppealRow:
    """An appeal with its candidate, for the handlers."""

    appeal: Appeal
    candidate: User


async def appeals_for_staff(session: AsyncSession, viewer: User) -> list[AppealRow]:
    """Every appeal, newest first (handlers and decision makers only)."""
    require(viewer, VIEWERS, HANDLERS_ONLY)
    rows = await session.execute(
        select(Appeal, User).join(User, User.id == Appeal.candidate_id).order_by(Appeal.id.desc())
    )
    return [AppealRow(a, u) for a, u in rows.all()]


async def appeal_for_staff(session: AsyncSession, viewer: User, appeal_id: int) -> AppealRow:
    """One appeal (handlers and decision makers only; 404 when there is none)."""
    require(viewer, VIEWERS, HANDLERS_ONLY)
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(_l("There is no such appeal."))
    candidate = await session.get(User, appeal.candidate_id)
    assert candidate is not None
    return AppealRow(appeal, candidate)


@dataclass(frozen=True)
class AppealPage:
    """One appeal as its staff page shows it: the appeal, and the parts of the appealed attempt
    with their re-grading."""

    row: AppealRow
    files: list[AppealAttachment]
    regrading: list[RegradingRow]

    @property
    def regrading_unfinished(self) -> bool:
        """Whether a re-grading this appeal ordered is still going on (from the rows, which
        hold every part the appeal can have graded again)."""
        return any(
            r.ordered is not None and r.grading is not None and not r.grading.finished
            for r in self.regrading
        )


async def appeal_page(
    session: AsyncSession, viewer: User, appeal_id: int, regrading: Regrading
) -> AppealPage:
    """The appeal with its attachments and its parts' grading (handlers and decision makers
    only)."""
    row = await appeal_for_staff(session, viewer, appeal_id)
    return AppealPage(
        row,
        await attachments.attachments_of(session, row.appeal.id),
        await regrading_rows(session, row.appeal, regrading),
    )


def parse_status(value: str) -> AppealStatus:
    """The outcome named in the handler's form, or a 400 at the field."""
    try:
        status = AppealStatus(value)
    except ValueError:
        status = AppealStatus.RECEIVED
    if status == AppealStatus.RECEIVED:
        raise VaktError(_l("Choose in review, upheld or rejected."), field="status")
    return status


async def record_outcome(
    session: AsyncSession,
    *,
    handler: User,
    appeal_id: int,
    status: AppealStatus,
    grounds: str,
    now: datetime,
    regrading: Regrading,
) -> Appeal:
    """Mark the appeal in review, or record its outcome (upheld or rejected) with grounds; the
    candidate is notified of the outcome. An outcome, once recorded, stands, and waits for
    every re-grading the appeal ordered to finish."""
    require(handler, APPEAL_HANDLERS, _l("Only the appeal handlers record an appeal's outcome."))
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(_l("There is no such appeal."))
    if appeal.status in (AppealStatus.UPHELD, AppealStatus.REJECTED):
        raise Conflict(_l("The outcome of this appeal has been recorded already."))
    if status == AppealStatus.RECEIVED:
        raise VaktError(_l("Choose in review, upheld or rejected."), field="status")
    written = storable(grounds, "grounds").strip()
    if len(written) > MAX_GROUNDS:
        raise VaktError(
            _l("Write the grounds in at most {count} characters."),
            field="grounds", count=MAX_GROUNDS,
        )  # fmt: skip
    if status != AppealStatus.IN_REVIEW and not written:
        raise VaktError(_l("Give the grounds of the outcome."), field="grounds")
    if status != AppealStatus.IN_REVIEW and await unfinished(session, appeal, regrading):
        raise Conflict(NOT_FINISHED)
    before = appeal.status.value
    appeal.status = status
    if status != AppealStatus.IN_REVIEW:
        appeal.outcome_grounds, appeal.handled_at, appeal.handled_by_id = written, now, handler.id
        await notifications.notify(
            session, recipient_id=appeal.candidate_id,
            kind=notices.APPEAL_OUTCOME[status], params={"number": appeal.number},
            now=now,
        )  # fmt: skip
    await audit.record(
        session, actor_id=handler.id, action="certification.appeal_status",
        entity_type="appeal", entity_id=appeal.id,
        before={"status": before}, after={"status": status.value, "grounds": written},
    )  # fmt: skip
    await session.flush()
    return appeal


async def redecide(
    session: AsyncSession,
    *,
    decider: User,
    appeal_id: int,
    outcome: DecisionOutcome,
    grounds: str,
    now: datetime,
    reviews: Reviews,
    participants: Participants,
    timezone: str,
) -> CertificationDecision:
    """After an upheld appeal, a new decision replacing the standing one (one round on), by a
    decision maker who made no earlier decision on the registration and is independent of it.
    Certifying issues a certificate (when none is held from the first decision); refusing
    withdraws one the first decision issued. A result graded anew is released with it."""
    require(decider, DECIDERS, _l("Only a decision maker decides on certification."))
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(_l("There is no such appeal."))
    if appeal.status != AppealStatus.UPHELD:
        raise Conflict(_l("Only an upheld appeal leads to a new decision."))
    if appeal.new_decision_id is not None:
        raise Conflict(_l("A new decision has been made on this appeal already."))
    previous = await standing_decision(session, appeal.registration_id)
    if previous is None:
        raise Conflict(_l("There is no decision to replace yet: decide in the queue."))
    earlier = set(
        await session.scalars(
            select(CertificationDecision.decided_by_id).where(
                CertificationDecision.registration_id == appeal.registration_id
            )
        )
    )
    if decider.id in earlier:
        raise Forbidden(_l("You made the decision appealed against, so you cannot decide anew."))
    case = await case_of(session, appeal.registration_id, reviews)
    await require_independent(session, decider, case.registrations, participants)
    written = storable(grounds, "grounds").strip()
    if len(written) > MAX_GROUNDS:
        raise VaktError(
            _l("Write the grounds in at most {count} characters."),
            field="grounds", count=MAX_GROUNDS,
        )  # fmt: skip
    if not written:
        raise VaktError(_l("Give the grounds of the new decision."), field="grounds")
    if outcome == DecisionOutcome.CERTIFIED and not case.all_met:
        raise VaktError(
            _l("Certify only when every requirement is met."), field="outcome", status_code=409
        )
    decision = CertificationDecision(
        registration_id=case.registration.id, candidate_id=case.candidate.id,
        scheme_id=case.scheme.id, outcome=outcome, grounds=written,
        requirements=[r.snapshot() for r in case.requirements], decided_by_id=decider.id,
        decided_at=now, replaces_id=previous.id, decision_round=previous.decision_round + 1,
    )  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(decision)
            await session.flush()
    except sqlalchemy.exc.IntegrityError:
        raise Conflict(_l("A new decision has been made on this appeal already.")) from None
    held = await session.scalar(select(Certificate).where(Certificate.decision_id == previous.id))
    if outcome == DecisionOutcome.CERTIFIED and held is None:
        await issue_certificate(
            session, decision=decision, rules=case.rules, timezone=timezone, now=now
        )
    elif outcome == DecisionOutcome.REFUSED and held is not None:
        held.status, held.status_grounds = CertificateStatus.WITHDRAWN, written
        held.status_changed_at, held.status_changed_by_id = now, decider.id
    appeal.new_decision_id = decision.id
    await release_with_decision(session, case, decider, now, reviews)
    await audit.record(
        session, actor_id=decider.id, action="certification.redecided",
        entity_type="appeal", entity_id=appeal.id,
        after={"decision_id": decision.id, "replaces_id": previous.id,
               "round": decision.decision_round, "outcome": outcome.value, "grounds": written},
    )  # fmt: skip
    return decision
