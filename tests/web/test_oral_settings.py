"""The administrators' page of a scheme's rules for oral answers: linked from the sittings,
saves and audits, refuses a bad number at its field, and is for administrators only."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import oral
from exam.models import OralSettings
from tests.exam.factories import Exam
from tests.grading.factories import scheme_of
from tests.web.helpers import csrf_from, sign_in
from vakt.audit import AuditEntry

ENGLISH = {"Accept-Language": "en"}


@pytest.mark.asyncio
async def test_the_retakes_are_saved_validated_and_audited(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam
) -> None:
    scheme_id = await scheme_of(session, exam)
    path = f"/staff/schemes/{scheme_id}/oral"
    await sign_in(client, "administrator")
    sittings = await client.get("/staff/sittings", headers=ENGLISH)
    assert f'href="{path}"' in sittings.text
    page = (await client.get(path, headers=ENGLISH)).text
    assert 'value="0"' in page  # the default: no retake
    token = csrf_from(page)
    for value in ("lots", "-1", "11", "1.5", "9" * 40, ""):
        refused = await client.post(
            path, data={"retakes": value, "csrf_token": token}, headers=ENGLISH
        )
        assert refused.status_code == 400, value
        assert "The number of retakes must be a whole number from 0 to 10." in refused.text
        assert 'aria-invalid="true"' in refused.text
    assert await session.get(OralSettings, scheme_id) is None
    saved = await client.post(path, data={"retakes": "2", "csrf_token": token}, headers=ENGLISH)
    assert saved.status_code == 303
    session.expire_all()
    assert (await oral.rules_for_scheme(session, scheme_id)).retakes == 2
    assert 'value="2"' in (await client.get(path, headers=ENGLISH)).text
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "exam.oral_rules_changed")
    )
    assert entry is not None and entry.entity_id == str(scheme_id)
    missing = await client.post(
        "/staff/schemes/999999/oral", data={"retakes": "1", "csrf_token": token}
    )
    assert missing.status_code == 404


@pytest.mark.asyncio
@pytest.mark.parametrize("username", ["proctor", "candidate", "grader"])
async def test_only_administrators_set_the_oral_rules(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, username: str
) -> None:
    scheme_id = await scheme_of(session, exam)
    await sign_in(client, username)
    path = f"/staff/schemes/{scheme_id}/oral"
    assert (await client.get(path)).status_code == 403
    token = csrf_from((await client.get("/")).text)
    posted = await client.post(path, data={"retakes": "3", "csrf_token": token})
    assert posted.status_code == 403
    assert await session.get(OralSettings, scheme_id) is None
