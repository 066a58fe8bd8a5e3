"""A scheme's proctoring settings page over HTTP: every value checked (the error names the field
and the values typed are kept), the review's settings (claim length, four eyes, each flag kind's
severity) saved and audited; administrators only."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from proctoring import service
from proctoring.models import FlagType, Severity
from proctoring.schemas import Policy
from tests.exam.factories import Exam
from tests.grading.factories import scheme_of
from tests.web.helpers import csrf_from, sign_in
from vakt.audit import AuditEntry

ENGLISH = {"Accept-Language": "en"}


def _form(page: str, **changes: str) -> dict[str, str]:
    """The settings as the page shows them, with ``changes``; checkboxes only when checked."""
    defaults = Policy().model_dump(mode="json")
    form = {
        name: str(value)
        for name, value in defaults.items()
        if name not in {"enabled", "cheating_four_eyes", "severity"}
    }
    form |= {f"severity-{kind.value}": Policy().severity_of(kind).value for kind in FlagType}
    form |= {"enabled": "on", "cheating_four_eyes": "on", "csrf_token": csrf_from(page)}
    form |= changes
    return {name: value for name, value in form.items() if value != "off"}


@pytest.mark.asyncio
@pytest.mark.parametrize("username", ["proctor", "grader", "candidate", "decision_maker"])
async def test_only_administrators_change_the_settings(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, username: str
) -> None:
    scheme_id = await scheme_of(session, exam)
    await sign_in(client, username)
    path = f"/staff/schemes/{scheme_id}/proctoring"
    refused = await client.get(path, headers=ENGLISH)
    assert refused.status_code == 403
    token = csrf_from((await client.get("/")).text)
    posted = await client.post(path, data={"cheating_four_eyes": "", "csrf_token": token})
    assert posted.status_code == 403
    assert (await service.policy_for_scheme(session, scheme_id)).cheating_four_eyes


@pytest.mark.asyncio
async def test_the_review_settings_are_saved_and_audited(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam
) -> None:
    scheme_id = await scheme_of(session, exam)
    path = f"/staff/schemes/{scheme_id}/proctoring"
    await sign_in(client, "administrator")
    page = (await client.get(path, headers=ENGLISH)).text
    assert 'id="cheating_four_eyes" name="cheating_four_eyes" checked' in page
    assert '<label for="severity-paste">Pasted into an answer</label>' in page

    saved = await client.post(
        path,
        data=_form(
            page, review_claim_minutes="45", cheating_four_eyes="off", **{"severity-paste": "high"}
        ),
    )
    assert saved.status_code == 303, saved.text
    session.expire_all()
    policy = await service.policy_for_scheme(session, scheme_id)
    assert policy.review_claim_minutes == 45
    assert not policy.cheating_four_eyes
    assert policy.severity_of(FlagType.PASTE) == Severity.HIGH
    assert policy.severity_of(FlagType.NO_FACE) == Policy().severity_of(FlagType.NO_FACE)
    shown = (await client.get(saved.headers["location"], headers=ENGLISH)).text
    assert 'id="cheating_four_eyes" name="cheating_four_eyes" >' in shown
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "proctoring.policy_changed")
    )
    assert entry is not None and entry.after is not None
    assert entry.after["cheating_four_eyes"] is False
    assert entry.after["severity"]["paste"] == "high"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("review_claim_minutes", "0"),
        ("review_claim_minutes", "1" + "0" * 400),
        ("review_claim_minutes", "tretti"),
        ("review_claim_minutes", "%ED%A0%80"),
        ("severity-paste", "catastrophic"),
        ("severity-no_face", ""),
    ],
)
async def test_a_bad_value_is_refused_at_its_field_and_nothing_is_lost(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, field: str, value: str
) -> None:
    scheme_id = await scheme_of(session, exam)
    before = await service.policy_for_scheme(session, scheme_id)
    path = f"/staff/schemes/{scheme_id}/proctoring"
    await sign_in(client, "administrator")
    page = (await client.get(path, headers=ENGLISH)).text
    # Sent as the browser would, percent-encoded (a lone surrogate's UTF-8 bytes included).
    form = _form(page, speech_seconds="12", **{field: "VALUE"})
    body = urlencode(form).replace("VALUE", value)
    refused = await client.post(
        path,
        content=body.encode(),
        headers={**ENGLISH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert refused.status_code == 422
    assert "the value is missing, not a number, or outside the allowed range" in refused.text
    assert 'id="speech_seconds" name="speech_seconds" inputmode="decimal" value="12"' in (
        refused.text
    )
    session.expire_all()
    assert await service.policy_for_scheme(session, scheme_id) == before
