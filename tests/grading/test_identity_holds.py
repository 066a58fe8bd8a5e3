"""Identity holds: a candidate whose identity a proctor could not confirm has their scripts held
from grading (not claimable, not counted as waiting) until the identity is confirmed; grading
learns of it through ``grading.holds.IdentityHolds`` (proctoring fills it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from grading.claims import claim_next, queue_size
from grading.holds import NoHolds
from grading.independence import NoExaminers
from proctoring.review import ProctoringIdentityHolds, decide_identity
from tests.exam.factories import OPENS, Exam, build_exam
from tests.grading.factories import (
    HandedIn,
    hand_in,
    new_grader,
    registration_of,
    scheme_of,
    scripts_of,
    wire_events,
)
from vakt.accounts import User

LATER = OPENS + timedelta(hours=2)
NOBODY = NoExaminers()


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    wire_events(session)
    return await build_exam(session, users)


@pytest.mark.asyncio
async def test_a_held_candidate_is_not_graded_until_confirmed(
    session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    held_in: HandedIn = await hand_in(session, exam, exam.candidate)
    await hand_in(session, exam, exam.other)
    [held_script] = await scripts_of(session, held_in.knowledge_part_id)
    grader = await new_grader(
        session, "sensor1", scheme_id=await scheme_of(session, exam), admin=exam.admin
    )
    holds = ProctoringIdentityHolds()
    registration_id = await registration_of(session, exam, exam.candidate)
    assert await holds.held_registrations(session) == set()
    assert await queue_size(session, grader, NOBODY, holds) == 2

    await decide_identity(
        session, registration_id=registration_id, confirmed=False,
        grounds="Ansiktet stemmer ikke med legitimasjonen", proctor=users["proctor"], now=LATER,
    )  # fmt: skip
    assert await holds.held_registrations(session) == {registration_id}
    assert await queue_size(session, grader, NOBODY, holds) == 1
    # Grading on its own (no holds told) would hand it out: the hold is proctoring's.
    assert await queue_size(session, grader, NOBODY, NoHolds()) == 2
    first = await claim_next(session, grader=grader, now=LATER, examiners=NOBODY, holds=holds)
    assert first is not None and first.script_id != held_script.id
    assert (
        await claim_next(session, grader=grader, now=LATER, examiners=NOBODY, holds=holds) is None
    )

    # Confirmed later: the script waits for a grader again.
    await decide_identity(
        session, registration_id=registration_id, confirmed=True, grounds="",
        proctor=users["proctor"], now=LATER,
    )  # fmt: skip
    assert await holds.held_registrations(session) == set()
    second = await claim_next(session, grader=grader, now=LATER, examiners=NOBODY, holds=holds)
    assert second is not None and second.script_id == held_script.id
