"""A complete, graded attempt ready for the certification decision: the graded sitting of
tests/grading/graded_sitting.py (the first candidate passes both parts), with the declarations
accepted and the fee paid; and reviews told as a test wants them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certification import fees
from exam.declarations import TEXT_VERSION
from exam.models import Declaration, Registration
from exam.reviews import ReviewSummary
from tests.exam.factories import OPENS
from tests.grading.graded_sitting import GradedSitting, graded_sitting
from vakt.accounts import User

CLEARED = ReviewSummary(cleared=True, identity_confirmed=True)
DECIDED_AT = OPENS + timedelta(days=2)


class ToldReviews:
    """``exam.reviews.Reviews`` answering with one summary for every attempt."""

    def __init__(self, summary: ReviewSummary = CLEARED) -> None:
        self.summary = summary

    async def cheating_grounds(
        self, session: AsyncSession, registration_id: int, candidate: User
    ) -> str | None:
        return self.summary.grounds if self.summary.cheating_confirmed else None

    async def summary_of(self, session: AsyncSession, attempt_id: int) -> ReviewSummary:
        return self.summary


@dataclass
class Ready:
    built: GradedSitting
    registration_ids: list[int]
    """One per candidate, in the order of ``built.candidates``."""

    @property
    def passed(self) -> int:
        """The registration of the candidate who passed every part."""
        return self.registration_ids[0]

    @property
    def failed(self) -> int:
        """A registration with the multiple choice part not passed."""
        return self.registration_ids[2]


async def ready_for_decision(session: AsyncSession, users: dict[str, User]) -> Ready:
    """Every candidate's attempt graded, declarations accepted and fees paid; committed."""
    built = await graded_sitting(session, users)
    ids = []
    for person in built.candidates:
        registration_id = await session.scalar(
            select(Registration.id).where(
                Registration.sitting_id == built.sitting_id,
                Registration.candidate_id == person.id,
            )
        )
        assert registration_id is not None
        ids.append(registration_id)
        session.add(
            Declaration(
                registration_id=registration_id, text_version=TEXT_VERSION, language="nb",
                text_digest="0" * 64, accepted_at=OPENS,
            )
        )  # fmt: skip
        await fees.set_fee(
            session, registration_id=registration_id, status="paid",
            invoice_reference=f"F-{registration_id}", actor=users["administrator"], now=OPENS,
        )  # fmt: skip
    await session.commit()
    return Ready(built, ids)
