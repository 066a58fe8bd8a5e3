"""Who may do what in proctoring: the roles of each audience, and a candidate's own
registrations and parts (anyone else's are not found, so ids reveal nothing)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts
from proctoring.access import (
    CANDIDATES,
    ORAL_ANSWER_GRADERS,
    POLICY_EDITORS,
    PROCTORS,
    own_part,
    own_registration,
)
from tests.exam.factories import CHECKED_IN, OPENS, Exam
from vakt.accounts import Role
from vakt.errors import NotFound


def test_each_audience_is_one_role() -> None:
    assert {Role.CANDIDATE} == CANDIDATES
    assert {Role.PROCTOR} == PROCTORS
    assert {Role.GRADER} == ORAL_ANSWER_GRADERS
    assert {Role.ADMINISTRATOR} == POLICY_EDITORS


@pytest.mark.asyncio
async def test_a_candidate_reaches_only_their_own_registration_and_part(
    session: AsyncSession, exam: Exam
) -> None:
    registration = await own_registration(session, exam.registration_id, exam.candidate)
    assert registration.id == exam.registration_id
    with pytest.raises(NotFound):
        await own_registration(session, exam.registration_id, exam.other)
    with pytest.raises(NotFound):
        await own_registration(session, exam.registration_id + 1000, exam.candidate)

    attempt = await attempts.start_attempt(
        session,
        checkin=CHECKED_IN,
        registration_id=exam.registration_id,
        candidate=exam.candidate,
        now=OPENS,
    )
    part = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=OPENS
    )
    await session.commit()
    found, of = await own_part(session, part.id, exam.candidate)
    assert (found.id, of.id) == (part.id, exam.registration_id)
    for someone, part_id in ((exam.other, part.id), (exam.candidate, part.id + 1000)):
        with pytest.raises(NotFound):
            await own_part(session, part_id, someone)
