"""The identity-check step before the exam is an extension point that proctoring fills: the
exam sends the candidate to the check until it lets them start. Proctoring's real check does not
exist yet, so this test plugs in a small implementation of the protocol."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from exam import declarations
from exam.checkin import IdentityStatus, accept_declaration
from exam.models import Registration
from exam.timing import FixedClock
from tests.exam.factories import OPENS, Exam, build_exam
from tests.web.helpers import accept_rules, csrf, sign_in
from vakt.accounts import User
from vakt.settings import Settings


class ScriptedIdentityCheck:
    """Answers whatever status the test sets."""

    def __init__(self) -> None:
        self.current = IdentityStatus.TO_DO

    async def status(self, session: AsyncSession, registration: Registration) -> IdentityStatus:
        return self.current

    def page_url(self, registration: Registration) -> str:
        return f"/proctoring/check-in/{registration.id}"


@pytest.fixture
def identity() -> ScriptedIdentityCheck:
    return ScriptedIdentityCheck()


@pytest.fixture
def app(settings: Settings, identity: ScriptedIdentityCheck) -> Starlette:
    from web.app import create_app

    return create_app(
        settings, clock=FixedClock(OPENS + timedelta(minutes=1)), identity_check=identity
    )


@pytest_asyncio.fixture
async def exam(session: AsyncSession, users: dict[str, User]) -> Exam:
    exam = await build_exam(session, users)
    await accept_declaration(
        session, registration_id=exam.registration_id, candidate=exam.candidate,
        text_version=declarations.TEXT_VERSION, text_digest="0" * 64, language="nb", now=OPENS,
    )  # fmt: skip
    await session.commit()
    return exam


@pytest.mark.asyncio
async def test_the_exam_waits_for_the_identity_check(
    client: httpx.AsyncClient, exam: Exam, identity: ScriptedIdentityCheck
) -> None:
    await sign_in(client, "candidate")
    base = f"/exam/{exam.registration_id}"
    check_in = f"/proctoring/check-in/{exam.registration_id}"
    assert (await client.get(base)).headers["location"] == check_in
    assert (await client.get(f"{base}/take")).headers["location"] == check_in
    token = await csrf(client, "/my")
    started = await client.post(f"{base}/start", data={"csrf_token": token})
    assert started.headers["location"] == check_in

    identity.current = IdentityStatus.REFERRED  # doubtful: goes on, a proctor decides later
    assert (await client.get(base)).headers["location"] == f"{base}/take"
    assert (await client.post(f"{base}/start", data={"csrf_token": token})).status_code == 303


@pytest.mark.asyncio
async def test_the_api_obeys_the_same_check_in(
    client: httpx.AsyncClient,
    session: AsyncSession,
    users: dict[str, User],
    identity: ScriptedIdentityCheck,
) -> None:
    """The JSON API is another way in to the same rule: no attempt and no part before the code
    of conduct, the self-declaration and the identity check."""
    exam = await build_exam(session, users)  # declarations not accepted yet
    await sign_in(client, "candidate")
    headers = {"X-CSRF-Token": await csrf(client, "/"), "Accept-Language": "en"}
    start = f"/api/registrations/{exam.registration_id}/attempt"

    refused = await client.post(start, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "CheckInMissing"
    assert "code of conduct" in refused.json()["error"]["message"]

    await accept_rules(client, exam.registration_id)
    refused = await client.post(start, headers=headers)
    assert refused.status_code == 409 and "identity check" in refused.json()["error"]["message"]

    identity.current = IdentityStatus.PASSED
    started = await client.post(start, headers=headers)
    assert started.status_code == 201
    attempt_id = started.json()["attempt_id"]
    assert (
        await client.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
    ).status_code == 201
