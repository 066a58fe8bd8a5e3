"""What the exam's pages show of the proctor review, told by proctoring through ``Reviews``
(filled by ``proctoring.review_outcomes.ProctoringReviews``, wired in ``web.app.create_app``;
the exam never imports proctoring): the grounds of a decision of cheating on the candidate's
My page, the review's outcome on the decision maker's page of an attempt, and which attempts
are held from the certification decision (the candidate's identity not confirmed)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from vakt.accounts import User


@dataclass(frozen=True)
class ReviewSummary:
    """Where an attempt's proctor review stands, as the decision maker reads it."""

    cleared: bool = False
    cheating_proposed: bool = False
    cheating_confirmed: bool = False
    grounds: str = ""
    """The grounds of the proposal or decision of cheating."""
    identity_confirmed: bool | None = None
    """None: nobody decided on the candidate's identity."""
    identity_grounds: str = ""
    open_flags: int = 0
    """Flags nobody has decided on."""


class Reviews(Protocol):
    """The proctor review, as the exam's pages need it."""

    async def cheating_grounds(
        self, session: AsyncSession, registration_id: int, candidate: User
    ) -> str | None:
        """The grounds of a decision of cheating on the candidate's own registration; None
        without one."""
        ...

    async def summary_of(self, session: AsyncSession, attempt_id: int) -> ReviewSummary:
        """The attempt's review outcome."""
        ...

    async def identity_held(
        self, session: AsyncSession, registration_ids: Collection[int]
    ) -> set[int]:
        """Of these registrations, those whose attempt is held from the certification decision
        (no result released, no part result overridden): a proctor decided the candidate's
        identity is not confirmed, and no later decision confirmed it."""
        ...


class NoReviews:
    """Reviews where nothing is proctored (the exam on its own, in tests)."""

    async def cheating_grounds(
        self, session: AsyncSession, registration_id: int, candidate: User
    ) -> str | None:
        """No decision of cheating."""
        return None

    async def summary_of(self, session: AsyncSession, attempt_id: int) -> ReviewSummary:
        """Nothing reviewed."""
        return ReviewSummary()

    async def identity_held(
        self, session: AsyncSession, registration_ids: Collection[int]
    ) -> set[int]:
        """Nothing held."""
        return set()


NO_REVIEWS = NoReviews()
"""The default of the exam's queries: nothing reviewed."""
