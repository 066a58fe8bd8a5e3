"""Check-in before an exam: what a candidate must have done before an attempt or a part starts.

Two steps come before the exam, in this order: accepting the code of conduct and the
self-declaration (``exam.declarations``), then the identity check. The identity check is the
extension point proctoring fills: the exam flow asks the configured ``IdentityCheck`` whether the
candidate has been identified for a registration. Without one (no proctoring configured) the step
is skipped. A failed or doubtful match does not block by itself: the check reports ``REFERRED``
and the candidate goes on while a proctor decides.

``CheckIn`` holds the rule once; the services that start an attempt or a part ask it, so the
exam pages and the JSON API cannot differ. Other domains add what each part needs through a
``PartGate`` (proctoring: the camera and microphone live, the recording opened), wired in
``web.app.create_app``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import declarations
from exam.lookups import own_registration
from exam.models import Attempt, AttemptPart, Declaration, Registration
from itembank.blueprints import BlueprintPart
from vakt import audit
from vakt.accounts import User
from vakt.errors import Conflict
from vakt.i18n import _l


class IdentityStatus(enum.StrEnum):
    """Where the identity check of one registration stands."""

    NOT_REQUIRED = "not_required"
    TO_DO = "to_do"
    PASSED = "passed"
    REFERRED = "referred"
    """Doubtful: the candidate may go on; a proctor decides afterwards."""

    @property
    def lets_candidate_start(self) -> bool:
        """True when the exam may start after this outcome."""
        return self is not IdentityStatus.TO_DO


class IdentityCheck(Protocol):
    """What proctoring provides to identify a candidate before the exam starts."""

    async def status(self, session: AsyncSession, registration: Registration) -> IdentityStatus:
        """The outcome so far for this registration."""
        ...

    def page_url(self, registration: Registration) -> str:
        """Where the candidate does the check (it sends them back to the exam when done)."""
        ...


class CheckInStep(enum.StrEnum):
    """A step of the check-in that is still to be done."""

    DECLARATION = "declaration"
    IDENTITY = "identity"


class CheckInMissing(Conflict):
    """The exam cannot start: a check-in step is not done (``step`` says which)."""

    def __init__(self, step: CheckInStep) -> None:
        message = (
            _l(
                "Accept the code of conduct and the self-declaration before the exam starts "
                "(on the exam's page)."
            )
            if step is CheckInStep.DECLARATION
            else _l("Take the identity check before the exam starts (on the exam's page).")
        )
        super().__init__(message)
        self.step = step

    def __reduce__(self) -> tuple[object, ...]:
        return (CheckInMissing, (self.step,))


@dataclass(frozen=True)
class PartStart:
    """A part about to start, or just started: what a gate needs to know about it, so that no
    gate reads the attempt, its form and its blueprint again."""

    registration: Registration
    attempt: Attempt
    part: BlueprintPart
    part_index: int


class PartGate(Protocol):
    """What another domain requires before each part starts, and does when it starts (proctoring:
    live camera and microphone before, the part's recording opened when it starts)."""

    async def before_part(self, session: AsyncSession, start: PartStart) -> None:
        """Refuse (a ``VaktError``) while the part may not start."""
        ...

    async def part_started(
        self, session: AsyncSession, start: PartStart, attempt_part: AttemptPart
    ) -> None:
        """Act on the start, in the same transaction."""
        ...


class CheckIn:
    """The check-in rule: declarations accepted, then the identity check (when there is one),
    and before every part what the part gates require (``part_gates``)."""

    def __init__(
        self, identity_check: IdentityCheck | None, part_gates: Sequence[PartGate] = ()
    ) -> None:
        self.identity_check = identity_check
        self.part_gates = tuple(part_gates)

    async def before_part(self, session: AsyncSession, start: PartStart) -> None:
        """Refuse while a part gate refuses."""
        for gate in self.part_gates:
            await gate.before_part(session, start)

    async def part_started(
        self, session: AsyncSession, start: PartStart, attempt_part: AttemptPart
    ) -> None:
        """Tell every part gate that the part started."""
        for gate in self.part_gates:
            await gate.part_started(session, start, attempt_part)

    async def has_declaration(self, session: AsyncSession, registration_id: int) -> bool:
        """True when the candidate accepted the current version of the texts."""
        return (
            await session.scalar(
                select(Declaration.id).where(
                    Declaration.registration_id == registration_id,
                    Declaration.text_version == declarations.TEXT_VERSION,
                )
            )
        ) is not None

    async def identity_status(
        self, session: AsyncSession, registration: Registration
    ) -> IdentityStatus:
        """The identity check's outcome so far (NOT_REQUIRED without a check)."""
        if self.identity_check is None:
            return IdentityStatus.NOT_REQUIRED
        return await self.identity_check.status(session, registration)

    async def missing_step(
        self, session: AsyncSession, registration: Registration
    ) -> CheckInStep | None:
        """The first step still to do before the exam, or None when the candidate may start."""
        if not await self.has_declaration(session, registration.id):
            return CheckInStep.DECLARATION
        if not (await self.identity_status(session, registration)).lets_candidate_start:
            return CheckInStep.IDENTITY
        return None

    async def require(self, session: AsyncSession, registration: Registration) -> None:
        """Refuse (409) while a check-in step is missing."""
        step = await self.missing_step(session, registration)
        if step is not None:
            raise CheckInMissing(step)

    def identity_page_url(self, registration: Registration) -> str | None:
        """Where the identity step is done, or None without one."""
        return self.identity_check.page_url(registration) if self.identity_check else None


async def accept_declaration(
    session: AsyncSession,
    *,
    registration_id: int,
    candidate: User,
    text_version: str,
    text_digest: str,
    language: str,
    now: datetime,
) -> Declaration:
    """Store the candidate's acceptance of the code of conduct and self-declaration."""
    registration = await own_registration(session, registration_id, candidate)
    existing = await session.scalar(
        select(Declaration).where(
            Declaration.registration_id == registration.id,
            Declaration.text_version == text_version,
        )
    )
    if existing is not None:
        return existing
    declaration = Declaration(
        registration_id=registration.id,
        text_version=text_version,
        text_digest=text_digest,
        language=language,
        accepted_at=now,
    )
    session.add(declaration)
    await session.flush()
    await audit.record(
        session,
        actor_id=candidate.id,
        action="declaration.accept",
        entity_type="registration",
        entity_id=registration.id,
        after={"text_version": text_version, "text_digest": text_digest, "language": language},
    )
    return declaration
