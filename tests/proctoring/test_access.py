"""Who may do what in proctoring: the roles of each audience, and a candidate's own
registrations and parts (anyone else's are not found, so ids reveal nothing)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts
from exam.lookups import own_registration
from exam.models import Sitting
from proctoring import media, service
from proctoring.access import (
    CANDIDATES,
    POLICY_EDITORS,
    PROCTORS,
    own_part,
)
from proctoring.storage import MediaStore
from tests.exam.factories import CHECKED_IN, OPENS, Exam
from vakt.accounts import Role, User
from vakt.errors import Forbidden, NotFound
from vakt.settings import Settings


def test_each_audience_is_one_role() -> None:
    assert {Role.CANDIDATE} == CANDIDATES
    assert {Role.PROCTOR} == PROCTORS
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


@pytest.mark.asyncio
async def test_the_services_for_staff_refuse_other_roles(
    session: AsyncSession, exam: Exam, users: dict[str, User], settings: Settings
) -> None:
    store = MediaStore(settings.data_dir / "media")
    # Graders see oral answers through grading, by script (grading.answers), never here.
    fetch, allowed = media.recording_for_proctor, "proctor"
    for username in ("candidate", "grader", "proctor", "administrator"):
        if username == allowed:
            with pytest.raises(NotFound):  # allowed, but there is no such recording
                await fetch(session, store, recording_id=1, viewer=users[username], now=OPENS)
        else:
            with pytest.raises(Forbidden):
                await fetch(session, store, recording_id=1, viewer=users[username], now=OPENS)
    with pytest.raises(Forbidden):
        await media.snapshot_for_proctor(
            session, store, snapshot_id=1, viewer=users["grader"], now=OPENS
        )
    with pytest.raises(Forbidden):
        await media.identity_photo_for_proctor(
            session, store, verification_id=1, which="live", viewer=users["administrator"],
            now=OPENS,
        )  # fmt: skip
    sitting = await session.get_one(Sitting, exam.sitting_id)
    with pytest.raises(Forbidden):
        await service.set_policy(
            session, scheme_id=sitting.scheme_id, values={}, actor=users["proctor"], now=OPENS
        )
