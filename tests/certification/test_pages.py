"""The certification pages over HTTP: the decision maker's queue and case page, certifying (the
candidate then sees "Bestått" with the points on My page), refusing with grounds, errors at the
field with the values kept, other roles refused, CSRF, hostile ids; the staff's fee page and its
CSV import (errors per line, nothing half imported)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from certification.models import CertificationDecision, RegistrationFee
from certification.schemas import FeeStatus
from exam.models import Attempt, AttemptPart
from exam.timing import FixedClock
from proctoring.models import IdentityDecision
from tests.certification.factories import DECIDED_AT, Ready, ready_for_decision
from tests.exam.factories import OPENS
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import User

pytestmark = pytest.mark.asyncio
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DECIDED_AT)


async def confirmed_identities(session: AsyncSession, ready: Ready, proctor: User) -> None:
    """A proctor confirmed every candidate's identity (the sitting is not proctored otherwise)."""
    for registration_id in ready.registration_ids:
        session.add(
            IdentityDecision(
                registration_id=registration_id, confirmed=True, decided_by_id=proctor.id,
                decided_at=OPENS,
            )
        )  # fmt: skip
    await session.commit()


async def _ready(session: AsyncSession, users: dict[str, User]) -> Ready:
    ready = await ready_for_decision(session, users)
    await confirmed_identities(session, ready, users["proctor"])
    return ready


async def test_the_decision_maker_certifies_and_the_candidate_sees_passed(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await _ready(session, users)
    await sign_in(client, "decision_maker")
    queue = await client.get("/decisions", headers=ENGLISH)
    assert queue.status_code == 200
    assert queue.text.count('href="/decisions/registrations/') == 6
    case = await client.get(f"/decisions/registrations/{ready.passed}", headers=ENGLISH)
    assert case.status_code == 200
    assert len(re.findall(r'class="requirement met"', case.text)) == 8
    assert "Kunnskap: passed, 9 of 10 points." in case.text
    assert "which includes the certification agreement" in case.text
    assert "Sensor" not in case.text and "Grader" not in case.text
    decided = await client.post(
        f"/decisions/registrations/{ready.passed}",
        data={"csrf_token": csrf_from(case.text), "outcome": "certified", "grounds": ""},
    )
    assert decided.status_code == 303
    after = await client.get(decided.headers["location"], headers=ENGLISH)
    assert "The candidate is certified" in after.text and "Certificate " in after.text
    queue = await client.get("/decisions", headers=ENGLISH)
    assert f'/decisions/registrations/{ready.passed}"' not in queue.text
    again = await client.post(
        f"/decisions/registrations/{ready.passed}",
        data={"csrf_token": csrf_from(case.text), "outcome": "refused", "grounds": "Nei."},
        headers=ENGLISH,
    )
    assert again.status_code == 409 and "decided already" in again.text

    await client.post("/logout", data={"csrf_token": csrf_from(case.text)})
    await sign_in(client, "candidate")
    my = (await client.get("/my", headers={"Accept-Language": "nb"})).text
    assert "<strong>Bestått</strong>" in my
    assert "Kunnskap: 9 av 10 poeng" in my or "9 av 10" in my
    assert "Sensor" not in my and "Decision Maker" not in my


async def _points(session: AsyncSession, registration_id: int, score: float, top: float) -> None:
    part = await session.scalar(
        select(AttemptPart)
        .join(Attempt, Attempt.id == AttemptPart.attempt_id)
        .where(Attempt.registration_id == registration_id)
    )
    assert part is not None
    part.score, part.max_score = score, top
    await session.commit()


@pytest.mark.parametrize(
    ("language", "passed", "not_passed"),
    [
        ("nb", "bestått, 52,5 av 60,25 poeng.", "<li>Flervalg: ikke bestått, 2,5 av 3 poeng.</li>"),
        ("en", "passed, 52.5 of 60.25 points.", "<li>Flervalg: not passed, 2.5 of 3 points.</li>"),
    ],
)
async def test_the_points_of_the_requirements_are_written_the_readers_way(
    client: httpx.AsyncClient,
    session: AsyncSession,
    users: dict[str, User],
    language: str,
    passed: str,
    not_passed: str,
) -> None:
    ready = await _ready(session, users)
    await _points(session, ready.passed, 52.5, 60.25)
    await _points(session, ready.failed, 2.5, 3)
    await sign_in(client, "decision_maker")
    reader = {"Accept-Language": language}
    case = await client.get(f"/decisions/registrations/{ready.passed}", headers=reader)
    other_way = "52.5" if language == "nb" else "52,5"
    assert passed in case.text and other_way not in case.text
    url = f"/decisions/registrations/{ready.failed}"
    form = await client.get(url, headers=reader)
    refused = await client.post(
        url, headers=reader,
        data={"csrf_token": csrf_from(form.text), "outcome": "certified", "grounds": ""},
    )  # fmt: skip
    assert refused.status_code == 409 and not_passed in refused.text
    # The decision keeps the requirements as checked, in English with plain numbers.
    decided = await client.post(
        f"/decisions/registrations/{ready.passed}",
        data={"csrf_token": csrf_from(case.text), "outcome": "certified", "grounds": ""},
    )
    assert decided.status_code == 303
    decision = await session.scalar(select(CertificationDecision))
    assert decision is not None
    details = [r["detail"] for r in decision.requirements]
    assert any(d.endswith("passed, 52.5 of 60.25 points.") for d in details), details


async def test_certifying_with_a_requirement_unmet_lists_it_and_keeps_the_values(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await _ready(session, users)
    await sign_in(client, "decision_maker")
    case = await client.get(f"/decisions/registrations/{ready.failed}", headers=ENGLISH)
    token = csrf_from(case.text)
    url = f"/decisions/registrations/{ready.failed}"
    refused = await client.post(
        url, data={"csrf_token": token, "outcome": "certified", "grounds": "Mine ord"},
        headers=ENGLISH,
    )  # fmt: skip
    assert refused.status_code == 409
    assert "Certify only when every requirement is met." in refused.text
    assert "<li>Flervalg: not passed, 2 of 3 points.</li>" in refused.text
    assert 'value="certified" checked' in refused.text and ">Mine ord</textarea>" in refused.text
    no_grounds = await client.post(
        url, data={"csrf_token": token, "outcome": "refused", "grounds": "  "}, headers=ENGLISH
    )
    assert no_grounds.status_code == 400
    assert 'id="grounds-error">Give the grounds for refusing.' in no_grounds.text
    assert 'aria-invalid="true" aria-describedby="grounds-error"' in no_grounds.text
    for data in ({}, {"outcome": "maybe"}, {"outcome": "certified\x00"}):
        bad = await client.post(url, data={"csrf_token": token, **data}, headers=ENGLISH)
        assert bad.status_code == 400, data
    nul = await client.post(
        url, data={"csrf_token": token, "outcome": "refused", "grounds": "Nei\x00"}
    )
    assert nul.status_code == 400
    no_csrf = await client.post(url, data={"outcome": "refused", "grounds": "Nei."})
    assert no_csrf.status_code == 403
    assert await session.scalar(select(func.count()).select_from(CertificationDecision)) == 0
    refused_ok = await client.post(
        url, data={"csrf_token": token, "outcome": "refused", "grounds": "Flervalg ikke bestått."}
    )
    assert refused_ok.status_code == 303


async def test_other_roles_and_hostile_ids_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await _ready(session, users)
    for role in ("administrator", "candidate", "grader", "proctor"):
        await sign_in(client, role)
        for path in ("/decisions", f"/decisions/registrations/{ready.passed}"):
            assert (await client.get(path)).status_code == 403, (role, path)
        home = await client.get("/")
        posted = await client.post(
            f"/decisions/registrations/{ready.passed}",
            data={"csrf_token": csrf_from(home.text), "outcome": "certified"},
        )
        assert posted.status_code == 403
        await client.post("/logout", data={"csrf_token": csrf_from(home.text)})
    await sign_in(client, "decision_maker")
    for path in (
        "/decisions/registrations/99999999999999999999999",
        "/decisions/registrations/2147483647",
        "/decisions/registrations/0",
    ):
        assert (await client.get(path)).status_code == 404, path
    for query in ("?scheme=abc", "?sitting=99999999999999999999", "?scheme=%ED%A0%80"):
        assert (await client.get(f"/decisions{query}")).status_code == 400, query
    filtered = await client.get(f"/decisions?scheme={ready.built.scheme_id}&sitting=")
    assert filtered.status_code == 200


async def test_a_decision_maker_who_proctored_is_refused_with_the_reason(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    await confirmed_identities(session, ready, users["decision_maker"])
    await sign_in(client, "decision_maker")
    case = await client.get(f"/decisions/registrations/{ready.passed}", headers=ENGLISH)
    refused = await client.post(
        f"/decisions/registrations/{ready.passed}",
        data={"csrf_token": csrf_from(case.text), "outcome": "certified"},
        headers=ENGLISH,
    )
    assert refused.status_code == 403
    assert "You reviewed the proctoring of this candidate" in refused.text


async def test_staff_set_and_import_fees(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await _ready(session, users)
    await sign_in(client, "administrator")
    page = await client.get("/staff/fees", headers=ENGLISH)
    assert page.status_code == 200 and f'id="fee-{ready.passed}"' in page.text
    token = csrf_from(page.text)
    url = f"/staff/fees/registrations/{ready.passed}"
    missing = await client.post(
        url, data={"csrf_token": token, "status": "paid", "invoice_reference": ""},
        headers=ENGLISH,
    )  # fmt: skip
    assert missing.status_code == 400 and f'id="fee-error-{ready.passed}"' in missing.text
    wrong = await client.post(url, data={"csrf_token": token, "status": "gratis"})
    assert wrong.status_code == 400
    saved = await client.post(
        url, data={"csrf_token": token, "status": "waived", "invoice_reference": "Stipend"}
    )
    assert saved.status_code == 303
    fee = await session.get(RegistrationFee, ready.passed, populate_existing=True)
    assert fee is not None and fee.status == FeeStatus.WAIVED
    assert (await client.post(
        "/staff/fees/registrations/2147483647", data={"csrf_token": token, "status": "paid"}
    )).status_code == 404  # fmt: skip

    bad = (
        "registration_id,status,invoice_reference\n"
        f"{ready.passed},due,\n"
        "abc,paid,F-1\n"
        f"{ready.failed},gratis,F-2\n"
        "2147483600,paid,F-3\n"
        f"{ready.registration_ids[3]},paid,\n"
    )
    refused = await client.post(
        "/staff/fees/import", data={"csrf_token": token},
        files={"file": ("fees.csv", bad.encode(), "text/csv")}, headers=ENGLISH,
    )  # fmt: skip
    assert refused.status_code == 400
    for line in (3, 4, 5, 6):
        assert f"<li>Line {line}:" in refused.text
    assert "<li>Line 2:" not in refused.text
    fee = await session.get(RegistrationFee, ready.passed, populate_existing=True)
    assert fee is not None and fee.status == FeeStatus.WAIVED  # nothing half imported
    good = (
        f"registration_id,status,invoice_reference\n{ready.passed},due,\n{ready.failed},paid,F-9\n"
    )
    imported = await client.post(
        "/staff/fees/import", data={"csrf_token": token},
        files={"file": ("fees.csv", good.encode(), "text/csv")},
    )  # fmt: skip
    assert imported.status_code == 303
    fee = await session.get(RegistrationFee, ready.passed, populate_existing=True)
    assert fee is not None and fee.status == FeeStatus.DUE
    for content in (b"\xff\xfe", b"id;status\n1;paid\n", b""):
        wrong_file = await client.post(
            "/staff/fees/import", data={"csrf_token": token},
            files={"file": ("fees.csv", content, "text/csv")},
        )  # fmt: skip
        assert wrong_file.status_code == 400, content
    await client.post("/logout", data={"csrf_token": token})
    await sign_in(client, "decision_maker")
    assert (await client.get("/staff/fees")).status_code == 403


async def test_a_decision_maker_declares_a_conflict_and_is_then_refused(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await _ready(session, users)
    await sign_in(client, "decision_maker")
    page = await client.get("/decisions", headers=ENGLISH)
    token = csrf_from(page.text)
    empty = await client.post(
        "/decisions/conflicts", data={"csrf_token": token, "note": "Nabo"}, headers=ENGLISH
    )
    assert empty.status_code == 400
    assert 'id="conflict-candidate_username-error"' in empty.text and 'value="Nabo"' in empty.text
    unknown = await client.post(
        "/decisions/conflicts", data={"csrf_token": token, "candidate_username": "ingen\x00"}
    )
    assert unknown.status_code == 400
    declared = await client.post(
        "/decisions/conflicts",
        data={"csrf_token": token, "candidate_username": "candidate", "note": "Nabo"},
    )
    assert declared.status_code == 303
    refused = await client.post(
        f"/decisions/registrations/{ready.passed}",
        data={"csrf_token": token, "outcome": "certified"},
        headers=ENGLISH,
    )
    assert refused.status_code == 403
    assert "You declared a conflict of interest with this candidate" in refused.text
    await client.post("/logout", data={"csrf_token": token})
    await sign_in(client, "grader")
    home = await client.get("/")
    assert (
        await client.post(
            "/decisions/conflicts",
            data={"csrf_token": csrf_from(home.text), "candidate_username": "candidate"},
        )
    ).status_code == 403
