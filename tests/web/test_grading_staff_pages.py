"""The staff's grading pages over HTTP: a scheme's grading rules (every value checked, errors at
the field, values kept), qualifying graders and withdrawing qualifications, the sitting's
grading overview; administrators only, every change audited."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import FixedClock
from grading import claims, policy
from grading.independence import NoExaminers
from grading.models import GraderQualification
from grading.schemas import FinalRule, GradingRules, MarksPerScript
from tests.exam.factories import OPENS, Exam
from tests.grading.factories import scheme_of
from tests.grading.graded_sitting import build_sitting, graded_sitting, take_exam, wire_events
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import Role, User, create_user
from vakt.audit import AuditEntry
from vakt.db import MAX_ROW_ID

ENGLISH = {"Accept-Language": "en"}
VALID = {
    "marks_per_script": "two_for_a_share",
    "double_share_percent": "30",
    "tolerance_percent": "12,5",
    "final_rule": "lower",
    "claim_minutes": "90",
}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(OPENS + timedelta(hours=10))


async def _audit(session: AsyncSession, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
    )


async def _rules_page(client: httpx.AsyncClient, scheme_id: int) -> tuple[str, str]:
    page = await client.get(f"/staff/schemes/{scheme_id}/grading", headers=ENGLISH)
    assert page.status_code == 200, page.text
    return page.text, csrf_from(page.text)


@pytest.mark.asyncio
@pytest.mark.parametrize("username", ["grader", "candidate", "decision_maker", "proctor"])
async def test_only_administrators_reach_the_grading_pages(
    client: httpx.AsyncClient,
    session: AsyncSession,
    exam: Exam,
    users: dict[str, User],
    username: str,
) -> None:
    scheme_id = await scheme_of(session, exam)
    qualification = GraderQualification(grader_id=users["grader"].id, scheme_id=scheme_id)
    session.add(qualification)
    await session.commit()
    pages = [f"/staff/schemes/{scheme_id}/grading", f"/staff/sittings/{exam.sitting_id}/grading"]
    signed_out = await client.get(pages[0])
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
    await sign_in(client, username)
    for path in pages:
        refused = await client.get(path, headers=ENGLISH)
        assert refused.status_code == 403, path
        assert "Your roles do not give access to this page." in refused.text
    token = csrf_from((await client.get("/")).text)
    for path, data in (
        (f"/staff/schemes/{scheme_id}/grading", {**VALID, "tolerance_percent": "50"}),
        (f"/staff/schemes/{scheme_id}/graders", {"grader_id": str(users["grader"].id)}),
        (f"/staff/qualifications/{qualification.id}/withdraw", {}),
    ):
        refused = await client.post(path, data={**data, "csrf_token": token})
        assert refused.status_code == 403, path
    assert await policy.rules_for_scheme(session, scheme_id) == GradingRules()
    assert await session.get(GraderQualification, qualification.id) is not None
    assert not await _audit(session, "grading.rules_changed")


@pytest.mark.asyncio
async def test_the_rules_are_saved_and_audited(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    scheme_id = await scheme_of(session, exam)
    admin_id = users["administrator"].id
    await sign_in(client, "administrator")
    page, token = await _rules_page(client, scheme_id)
    assert "Grading: Mangfold" in page
    assert (
        'id="tolerance_percent" name="tolerance_percent" inputmode="decimal" value="20.0"' in page
    )
    saved = await client.post(
        f"/staff/schemes/{scheme_id}/grading", data={**VALID, "csrf_token": token}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/staff/schemes/{scheme_id}/grading?saved=rules"
    session.expire_all()
    assert await policy.rules_for_scheme(session, scheme_id) == GradingRules(
        marks_per_script=MarksPerScript.TWO_FOR_A_SHARE, double_share_percent=30,
        tolerance_percent=12.5, final_rule=FinalRule.LOWER, claim_minutes=90,
    )  # fmt: skip
    after = await client.get(saved.headers["location"], headers=ENGLISH)
    assert "The grading rules have been saved." in after.text
    assert 'value="12.5"' in after.text
    assert re.search(r'<option value="lower"\s+selected>', after.text)
    [entry] = await _audit(session, "grading.rules_changed")
    assert entry.actor_id == admin_id and entry.entity_id == str(scheme_id)
    assert entry.before is None and entry.after is not None
    assert entry.after["tolerance_percent"] == 12.5

    # The share only counts with two graders for a share; with one grader it is kept, unused.
    one = await client.post(
        f"/staff/schemes/{scheme_id}/grading",
        data={
            **VALID,
            "marks_per_script": "one",
            "double_share_percent": "50",
            "csrf_token": token,
        },
    )
    assert one.status_code == 303
    session.expire_all()
    rules = await policy.rules_for_scheme(session, scheme_id)
    assert rules.marks_per_script == MarksPerScript.ONE
    assert len(await _audit(session, "grading.rules_changed")) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tolerance_percent", "101", "Largest difference between two marks"),
        ("tolerance_percent", "abc", "must be a number"),
        ("tolerance_percent", "1e400", "must be at most 100"),
        ("tolerance_percent", "-1", "must be at least 0"),
        ("claim_minutes", "1e400", "must be a whole number"),
        ("claim_minutes", "1" + "0" * 400, "must be at most 1440"),
        ("claim_minutes", "", "must be a whole number"),
        ("double_share_percent", "0", "the share must be between 1 and 99 %"),
        ("double_share_percent", "100", "the share must be between 1 and 99 %"),
        ("double_share_percent", "2.5", "must be a whole number"),
        ("marks_per_script", "three", "Graders per script: choose one of the options"),
        ("final_rule", "median", "choose one of the options"),
    ],
)
async def test_a_bad_rule_is_refused_at_its_field_with_the_values_kept(
    client: httpx.AsyncClient,
    session: AsyncSession,
    exam: Exam,
    field: str,
    value: str,
    message: str,
) -> None:
    scheme_id = await scheme_of(session, exam)
    await sign_in(client, "administrator")
    _page, token = await _rules_page(client, scheme_id)
    refused = await client.post(
        f"/staff/schemes/{scheme_id}/grading",
        data={**VALID, field: value, "csrf_token": token},
        headers=ENGLISH,
    )
    assert refused.status_code == 422, refused.text
    assert message in refused.text
    tag = re.search(rf'<(?:input|select) id="{field}"[^>]*>', refused.text)
    assert tag is not None and 'aria-invalid="true"' in tag.group(0)
    assert "rules-error" in tag.group(0)
    if field.endswith(("_percent", "_minutes")):
        assert f'value="{value}"' in tag.group(0)  # what was typed is kept
    if field != "tolerance_percent":
        assert 'value="12,5"' in refused.text
    norwegian = await client.post(
        f"/staff/schemes/{scheme_id}/grading",
        data={**VALID, "tolerance_percent": "101", "csrf_token": token},
        headers={"Accept-Language": "nb"},
    )
    assert norwegian.status_code == 422 and "Største forskjell" in norwegian.text
    session.expire_all()
    assert await policy.rules_for_scheme(session, scheme_id) == GradingRules()
    assert not await _audit(session, "grading.rules_changed")


@pytest.mark.asyncio
async def test_broken_text_and_a_missing_csrf_token_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam
) -> None:
    scheme_id = await scheme_of(session, exam)
    await sign_in(client, "administrator")
    _page, token = await _rules_page(client, scheme_id)
    path = f"/staff/schemes/{scheme_id}/grading"
    headers = {**ENGLISH, "content-type": "application/x-www-form-urlencoded"}
    nul = await client.post(
        path, content=f"csrf_token={token}&tolerance_percent=1%00".encode(), headers=headers
    )
    assert nul.status_code == 400 and "cannot be stored" in nul.text
    # A form cannot carry half a surrogate pair: the bytes arrive as replacement characters.
    others = urlencode({k: v for k, v in VALID.items() if k != "tolerance_percent"})
    surrogate = await client.post(
        path,
        content=f"csrf_token={token}&{others}&tolerance_percent=%ED%A0%80".encode(),
        headers=headers,
    )
    assert surrogate.status_code == 422 and "must be a number" in surrogate.text
    tag = await client.post(
        f"/staff/schemes/{scheme_id}/graders",
        content=f"csrf_token={token}&grader_id=1&tag=%ED%A0%80".encode(),
        headers=headers,
    )
    assert tag.status_code == 400
    no_token = await client.post(path, data=VALID)
    assert no_token.status_code == 403
    assert not await _audit(session, "grading.rules_changed")
    for bad in (f"/staff/schemes/{MAX_ROW_ID + 1}/grading", "/staff/schemes/999999/grading"):
        assert (await client.get(bad)).status_code == 404
    missing = await client.post(
        "/staff/schemes/999999/grading", data={**VALID, "csrf_token": token}
    )
    assert missing.status_code == 404  # an unknown scheme, not a database error


@pytest.mark.asyncio
async def test_qualify_and_withdraw_graders(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    scheme_id = await scheme_of(session, exam)
    grader, admin_id, candidate_id = (
        users["grader"],
        users["administrator"].id,
        users["candidate"].id,
    )
    second = await create_user(
        session, username="sensor2", full_name="Stian Sensor", password=None,
        roles={Role.GRADER},
    )  # fmt: skip
    await session.commit()
    grader_id, second_id = grader.id, second.id
    await sign_in(client, "administrator")
    page, token = await _rules_page(client, scheme_id)
    assert "Nobody is qualified to grade this scheme yet." in page
    assert f'<option value="{grader_id}"' in page and f'<option value="{second_id}"' in page
    assert f'<option value="{candidate_id}"' not in page  # graders only
    path = f"/staff/schemes/{scheme_id}/graders"
    lead = await client.post(
        path, data={"grader_id": str(grader_id), "is_lead": "on", "csrf_token": token}
    )
    assert lead.status_code == 303
    tagged = await client.post(
        path, data={"grader_id": str(second_id), "tag": " case ", "csrf_token": token}
    )
    assert tagged.status_code == 303
    page, _token = await _rules_page(client, scheme_id)
    rows = re.findall(r"<tr><td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", page)
    assert rows == [
        ("Grader (grader)", "yes", "All items"),
        ("Stian Sensor (sensor2)", "no", "Only items tagged case"),
    ]
    # Qualifying again changes whether they lead.
    again = await client.post(path, data={"grader_id": str(grader_id), "csrf_token": token})
    assert again.status_code == 303
    session.expire_all()
    rows_in_db = list(
        await session.scalars(select(GraderQualification).order_by(GraderQualification.id))
    )
    assert [(q.grader_id, q.tag, q.is_lead) for q in rows_in_db] == [
        (grader_id, "", False),
        (second_id, "case", False),
    ]
    withdrawn_id = rows_in_db[1].id
    qualified = await _audit(session, "grading.grader_qualified")
    assert [(e.entity_id, e.after) for e in qualified] == [
        (str(grader_id), {"scheme_id": scheme_id, "tag": "", "lead": True}),
        (str(second_id), {"scheme_id": scheme_id, "tag": "case", "lead": False}),
        (str(grader_id), {"scheme_id": scheme_id, "tag": "", "lead": False}),
    ]
    assert all(e.actor_id == admin_id for e in qualified)

    withdrawn = await client.post(
        f"/staff/qualifications/{withdrawn_id}/withdraw", data={"csrf_token": token}
    )
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"] == f"/staff/schemes/{scheme_id}/grading?saved=withdrawn"
    page = (await client.get(withdrawn.headers["location"], headers=ENGLISH)).text
    assert (
        "The qualification has been withdrawn." in page
        and "Stian Sensor (sensor2)</td>" not in page
    )
    [entry] = await _audit(session, "grading.qualification_withdrawn")
    assert entry.entity_id == str(second_id) and entry.before == {
        "scheme_id": scheme_id, "tag": "case", "lead": False,
    }  # fmt: skip
    gone = await client.post(
        f"/staff/qualifications/{withdrawn_id}/withdraw", data={"csrf_token": token}
    )
    assert gone.status_code == 404
    huge = await client.post(
        f"/staff/qualifications/{10**400}/withdraw", data={"csrf_token": token}
    )
    assert huge.status_code == 404


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("grader_id", "message"),
    [
        ("candidate", "Only a user with the grader role can be qualified."),
        ("", "Choose a grader."),
        ("abc", "Choose a grader."),
        ("1e400", "Choose a grader."),
        (str(10**400), "Choose a grader."),
        ("999999", "Only a user with the grader role can be qualified."),
    ],
)
async def test_only_users_with_the_grader_role_are_qualified(
    client: httpx.AsyncClient,
    session: AsyncSession,
    exam: Exam,
    users: dict[str, User],
    grader_id: str,
    message: str,
) -> None:
    scheme_id = await scheme_of(session, exam)
    await sign_in(client, "administrator")
    _page, token = await _rules_page(client, scheme_id)
    chosen = str(users[grader_id].id) if grader_id in users else grader_id
    refused = await client.post(
        f"/staff/schemes/{scheme_id}/graders",
        data={"grader_id": chosen, "tag": "kunnskap", "is_lead": "on", "csrf_token": token},
        headers=ENGLISH,
    )
    assert refused.status_code == 400 and message in refused.text
    select_tag = re.search(r'<select id="grader_id"[^>]*>', refused.text)
    assert select_tag is not None and 'aria-invalid="true"' in select_tag.group(0)
    assert (
        'value="kunnskap"' in refused.text and 'id="is_lead" name="is_lead" checked' in refused.text
    )
    count = await session.scalar(select(func.count()).select_from(GraderQualification))
    assert count == 0 and not await _audit(session, "grading.grader_qualified")


@pytest.mark.asyncio
async def test_the_sitting_overview_counts_scripts_and_graders_without_candidates(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)
    await sign_in(client, "administrator")
    sitting_page = await client.get(f"/staff/sittings/{built.sitting_id}", headers=ENGLISH)
    assert f'href="/staff/sittings/{built.sitting_id}/grading"' in sitting_page.text
    page = await client.get(f"/staff/sittings/{built.sitting_id}/grading", headers=ENGLISH)
    assert page.status_code == 200
    text = page.text
    assert 'id="count-final">6<' in text and 'id="count-waiting">0<' in text
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td>', text)
    assert sorted(rows) == [("Andre Sensor", "0", "6"), ("Grader", "0", "6")]
    for person in built.candidates[1:]:
        assert person.full_name not in text and person.username not in text
    assert (await client.get("/staff/sittings/999999/grading")).status_code == 404


@pytest.mark.asyncio
async def test_the_overview_shows_scripts_waiting_and_being_marked(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    wire_events(session)
    built = await build_sitting(session, users, candidates=2)
    for person in built.candidates:
        await take_exam(session, built, person, ("A", "A", "A"))
    await claims.claim_next(
        session, grader=built.first_grader, now=OPENS + timedelta(hours=9),
        examiners=NoExaminers(),
    )  # fmt: skip
    await session.commit()
    await sign_in(client, "administrator")
    text = (await client.get(f"/staff/sittings/{built.sitting_id}/grading", headers=ENGLISH)).text
    assert 'id="count-waiting">1<' in text and 'id="count-claimed">1<' in text
    assert 'id="count-final">0<' in text
    assert re.search(r'<th scope="row">Grader</th><td>1</td><td>0</td>\s*<td>–</td>', text)
