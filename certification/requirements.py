"""The requirements of certification, each checked by the system on a registration whose attempt
is complete: the application approved, every part passed (with its points; a part passed in an
earlier registration of the same process counts), the proctoring cleared, the declarations
accepted, the fee paid or waived where the scheme requires it, and everything within the
scheme's completion window of the first passed part; and no appeal of the registration still
being handled.

The certification agreement: the self-declaration the candidate accepts at check-in
(``exam.declarations.SELF_DECLARATION``) includes the consent to the certification decision, so
its acceptance stands as the agreement until the body has a text of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.models import Appeal, RegistrationFee
from certification.policy import rules_for_scheme
from certification.schemas import AppealStatus, CertificationRules, FeeStatus
from exam.lookups import definition_of, parts_of
from exam.models import (
    Application,
    ApplicationStatus,
    Attempt,
    AttemptPart,
    AttemptStatus,
    Declaration,
    Registration,
    Sitting,
)
from exam.registrations import add_months
from exam.reviews import Reviews, ReviewSummary
from itembank.models import Scheme
from vakt.accounts import User
from vakt.errors import NotFound
from vakt.i18n import Amount, LazyText, Moment, _l


@dataclass(frozen=True)
class Requirement:
    """One requirement as checked: a stable key, whether it is met, and what was found."""

    key: str
    met: bool
    detail: LazyText
    params: dict[str, Any] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """As kept with the decision (the detail in English with its values)."""
        values = {key: str(value) for key, value in self.params.items()}
        return {"key": self.key, "met": self.met, "detail": str(self.detail).format(**values)}


@dataclass(frozen=True)
class CountedPart:
    """A part of the exam as it counts for the decision: the passed result (from this or an
    earlier registration of the process), else this registration's result."""

    key: str
    title: str
    part: AttemptPart | None
    registration_id: int | None


@dataclass(frozen=True)
class Case:
    """A complete registration with everything the decision maker reads."""

    registration: Registration
    attempt: Attempt
    candidate: User
    sitting: Sitting
    scheme: Scheme
    rules: CertificationRules
    registrations: list[Registration]
    """This registration and the earlier ones of the same process whose parts count."""
    parts: list[CountedPart]
    review: ReviewSummary
    requirements: list[Requirement]

    @property
    def all_met(self) -> bool:
        """True when every requirement is met (certifying is allowed)."""
        return all(r.met for r in self.requirements)

    @property
    def terminated(self) -> bool:
        """The attempt was ended (for cheating): it can only be refused."""
        return self.attempt.status == AttemptStatus.TERMINATED


def is_complete(attempt: Attempt, parts: list[AttemptPart]) -> bool:
    """An attempt the decision maker can decide on: ended, and every part it started handed in
    with its result computed; a terminated attempt is complete as it stands."""
    if attempt.status == AttemptStatus.TERMINATED:
        return True
    if attempt.status != AttemptStatus.FINISHED or not parts:
        return False
    return all(p.submitted_at is not None and p.passed is not None for p in parts)


async def _process(
    session: AsyncSession, registration: Registration, attempt: Attempt
) -> list[tuple[Registration, Attempt]]:
    """This registration first, then the earlier registrations of its process (the first and
    its retakes) whose attempts started before this one."""
    first_id = registration.retake_of_id or registration.id
    rows = (
        await session.execute(
            select(Registration, Attempt)
            .join(Attempt, Attempt.registration_id == Registration.id)
            .where(
                Registration.candidate_id == registration.candidate_id,
                or_(Registration.id == first_id, Registration.retake_of_id == first_id),
                Registration.id != registration.id,
                Attempt.started_at <= attempt.started_at,
            )
            .order_by(Attempt.started_at.desc(), Attempt.id.desc())
        )
    ).all()
    return [(registration, attempt), *((r, a) for r, a in rows)]


def _points(part: AttemptPart) -> dict[str, Any]:
    # Amounts, not text: the page writes them the reader's way (52,5 in Norwegian).
    return {
        "score": Amount(part.score) if part.score is not None else "–",
        "max": Amount(part.max_score) if part.max_score is not None else "–",
    }


async def _application(session: AsyncSession, candidate_id: int, scheme_id: int) -> Requirement:
    application = await session.scalar(
        select(Application).where(
            Application.candidate_id == candidate_id, Application.scheme_id == scheme_id
        )
    )
    if application is None or application.status != ApplicationStatus.APPROVED:
        return Requirement("application", False, _l("The application is not approved."))
    return Requirement(
        "application",
        True,
        _l("The application was approved on {date}."),
        {"date": Moment(application.decided_at or application.submitted_at, "date")},
    )


def _proctoring(summary: ReviewSummary) -> Requirement:
    if summary.cheating_confirmed:
        return Requirement("proctoring", False, _l("Cheating was confirmed."))
    if summary.cheating_proposed:
        return Requirement("proctoring", False, _l("Cheating is proposed and not yet decided."))
    if summary.open_flags:
        return Requirement(
            "proctoring",
            False,
            _l("Flags not decided yet: {count}."),
            {"count": summary.open_flags},
        )
    if summary.identity_confirmed is None:
        return Requirement("proctoring", False, _l("Nobody has confirmed the identity yet."))
    if not summary.identity_confirmed:
        return Requirement("proctoring", False, _l("The identity was not confirmed."))
    return Requirement(
        "proctoring",
        True,
        _l("No open flag, no cheating, and the identity is confirmed."),
    )


async def _no_open_appeal(session: AsyncSession, registration_id: int) -> Requirement:
    """An appeal being handled (perhaps with its parts graded again) waits for its outcome."""
    number = await session.scalar(
        select(Appeal.number)
        .where(
            Appeal.registration_id == registration_id,
            Appeal.status.in_((AppealStatus.RECEIVED, AppealStatus.IN_REVIEW)),
        )
        .order_by(Appeal.id)
        .limit(1)
    )
    if number is not None:
        return Requirement(
            "appeal",
            False,
            _l("Appeal {number} is being handled: decide when it has its outcome."),
            {"number": number},
        )
    return Requirement("appeal", True, _l("No appeal is being handled."))


async def _declaration(session: AsyncSession, registration_id: int) -> Requirement:
    declaration = await session.scalar(
        select(Declaration)
        .where(Declaration.registration_id == registration_id)
        .order_by(Declaration.accepted_at.desc())
    )
    if declaration is None:
        return Requirement(
            "declarations",
            False,
            _l("The code of conduct and the self-declaration were not accepted."),
        )
    return Requirement(
        "declarations",
        True,
        _l(
            "The code of conduct and the self-declaration (version {version}, which includes "
            "the certification agreement) were accepted on {date}."
        ),
        {"version": declaration.text_version, "date": Moment(declaration.accepted_at, "date")},
    )


async def _fee(
    session: AsyncSession, rules: CertificationRules, registrations: list[Registration]
) -> Requirement:
    if not rules.fee_required:
        return Requirement("fee", True, _l("The scheme requires no fee."))
    fees = {
        fee.registration_id: fee
        for fee in await session.scalars(
            select(RegistrationFee).where(
                RegistrationFee.registration_id.in_([r.id for r in registrations])
            )
        )
    }
    for registration in registrations:
        fee = fees.get(registration.id)
        if fee is not None and fee.status in (FeeStatus.PAID, FeeStatus.WAIVED):
            detail = _l("The fee is paid (invoice {reference}).")
            if fee.status == FeeStatus.WAIVED:
                detail = _l("The fee is waived ({reference}).")
            return Requirement("fee", True, detail, {"reference": fee.invoice_reference or "–"})
    return Requirement("fee", False, _l("The fee is not recorded as paid or waived."))


def _window(parts: list[CountedPart], rules: CertificationRules) -> Requirement:
    passed = [
        c.part.submitted_at
        for c in parts
        if c.part is not None and c.part.passed and c.part.submitted_at is not None
    ]
    if not passed:
        return Requirement("window", True, _l("No part is passed yet."))
    first, last = min(passed), max(passed)
    ends = add_months(first, rules.completion_months)
    params = {
        "first": Moment(first, "date"),
        "last": Moment(last, "date"),
        "ends": Moment(ends, "date"),
        "months": rules.completion_months,
    }
    if last > ends:
        return Requirement(
            "window",
            False,
            _l(
                "The last part was passed on {last}, after the window of {months} months "
                "from {first} ended on {ends}."
            ),
            params,
        )
    return Requirement(
        "window",
        True,
        _l(
            "The parts were passed between {first} and {last}, within {months} months "
            "(the window ends on {ends})."
        ),
        params,
    )


async def case_of(session: AsyncSession, registration_id: int, reviews: Reviews) -> Case:
    """The registration's case with every requirement checked; a 404 for an unknown
    registration or one whose attempt is not complete."""
    registration = await session.get(Registration, registration_id)
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == registration_id)
    )
    if registration is None or attempt is None:
        raise NotFound(_l("No such complete attempt."))
    own_parts = await parts_of(session, attempt.id)
    if not is_complete(attempt, own_parts):
        raise NotFound(_l("No such complete attempt."))
    sitting = await session.get(Sitting, registration.sitting_id)
    candidate = await session.get(User, registration.candidate_id)
    assert sitting is not None and candidate is not None
    scheme = await session.get(Scheme, sitting.scheme_id)
    assert scheme is not None
    rules = await rules_for_scheme(session, scheme.id)
    definition = await definition_of(session, attempt)
    titles = {p.key: p.title for p in definition.parts}
    process = await _process(session, registration, attempt)
    first = next((r for r, _a in process if r.id == registration.retake_of_id), registration)
    keys = list(first.part_keys)
    counted: list[CountedPart] = []
    used: list[Registration] = []
    attempt_parts = {attempt.id: own_parts}
    for _r, other in process[1:]:
        attempt_parts[other.id] = await parts_of(session, other.id)
    for key in keys:
        chosen: CountedPart | None = None
        for r, a in process:
            if key not in r.part_keys or a.status == AttemptStatus.TERMINATED:
                continue
            part = next((p for p in attempt_parts[a.id] if p.part_key == key), None)
            if part is not None and part.passed:
                chosen = CountedPart(key, titles.get(key, key), part, r.id)
                break
        if chosen is None:
            own = next((p for p in own_parts if p.part_key == key), None)
            chosen = CountedPart(key, titles.get(key, key), own, registration.id)
        counted.append(chosen)
    for r, _a in process:
        if r.id == registration.id or any(c.registration_id == r.id for c in counted):
            used.append(r)
    summary = await reviews.summary_of(session, attempt.id)
    requirements = [await _application(session, candidate.id, scheme.id)]
    for c in counted:
        if c.part is None or c.part.passed is None:
            requirements.append(
                Requirement(f"part:{c.key}", False, _l("{part}: no result."), {"part": c.title})
            )
            continue
        params = {"part": c.title, **_points(c.part)}
        if c.part.passed:
            detail = _l("{part}: passed, {score} of {max} points.")
            if c.registration_id != registration.id:
                detail = _l("{part}: passed in an earlier sitting, {score} of {max} points.")
        else:
            detail = _l("{part}: not passed, {score} of {max} points.")
        requirements.append(Requirement(f"part:{c.key}", bool(c.part.passed), detail, params))
    if attempt.status == AttemptStatus.TERMINATED:
        requirements.append(
            Requirement("attempt", False, _l("The attempt was ended by the exam staff."))
        )
    requirements.append(_proctoring(summary))
    requirements.append(await _declaration(session, registration.id))
    requirements.append(await _fee(session, rules, used))
    requirements.append(_window(counted, rules))
    requirements.append(await _no_open_appeal(session, registration.id))
    return Case(
        registration=registration,
        attempt=attempt,
        candidate=candidate,
        sitting=sitting,
        scheme=scheme,
        rules=rules,
        registrations=used,
        parts=counted,
        review=summary,
        requirements=requirements,
    )
