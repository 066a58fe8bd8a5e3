"""The check-in rule lives once, in the exam domain: no attempt and no part start before the code
of conduct and the self-declaration are accepted and the identity check lets the candidate go
on, whoever asks (the pages, the API, a script)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, declarations
from exam.checkin import CheckIn, CheckInMissing, CheckInStep, IdentityStatus, accept_declaration
from exam.models import Registration
from tests.exam.factories import OPENS, Exam


class FixedIdentity:
    """An identity check that answers what the test says (proctoring's real one is tested in
    tests/web/test_proctoring_api.py and the browser tests)."""

    def __init__(self, status: IdentityStatus) -> None:
        self.current = status

    async def status(self, session: AsyncSession, registration: Registration) -> IdentityStatus:
        return self.current

    def page_url(self, registration: Registration) -> str:
        return f"/exam/{registration.id}/identity"


@pytest.mark.asyncio
async def test_declarations_then_identity_then_the_exam(session: AsyncSession, exam: Exam) -> None:
    identity = FixedIdentity(IdentityStatus.TO_DO)
    checkin = CheckIn(identity)
    start = {"registration_id": exam.registration_id, "candidate": exam.candidate, "now": OPENS}

    with pytest.raises(CheckInMissing) as missing:
        await attempts.start_attempt(session, **start, checkin=checkin)
    assert missing.value.step is CheckInStep.DECLARATION and missing.value.status_code == 409

    await accept_declaration(
        session, registration_id=exam.registration_id, candidate=exam.candidate,
        text_version=declarations.TEXT_VERSION, text_digest="0" * 64, language="nb", now=OPENS,
    )  # fmt: skip
    with pytest.raises(CheckInMissing) as missing:
        await attempts.start_attempt(session, **start, checkin=checkin)
    assert missing.value.step is CheckInStep.IDENTITY

    identity.current = IdentityStatus.REFERRED  # doubtful: a proctor decides; the exam goes on
    attempt = await attempts.start_attempt(session, **start, checkin=checkin)
    part = await attempts.start_part(
        session, attempt_id=attempt.id, candidate=exam.candidate, now=OPENS, checkin=checkin
    )
    assert part.part_index == 0


@pytest.mark.asyncio
async def test_without_an_identity_check_the_declarations_still_count(
    session: AsyncSession, exam: Exam
) -> None:
    checkin = CheckIn(None)
    registration = await session.get(Registration, exam.registration_id)
    assert registration is not None
    assert await checkin.missing_step(session, registration) is CheckInStep.DECLARATION
    await accept_declaration(
        session, registration_id=exam.registration_id, candidate=exam.candidate,
        text_version=declarations.TEXT_VERSION, text_digest="0" * 64, language="nb", now=OPENS,
    )  # fmt: skip
    assert await checkin.missing_step(session, registration) is None
    assert checkin.identity_page_url(registration) is None
