"""The public verification and register pages, the holder's certificates on My page and their
PDF, and the staff's suspension, withdrawal and change reports, over HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from certification import policy
from certification.models import Certificate, ChangeReport
from certification.schemas import CertificationRules
from exam.timing import FixedClock
from tests.certification.factories import certify
from tests.exam.factories import OPENS, Exam
from tests.web.helpers import browsers, csrf_from, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.settings import Settings

ENGLISH = {"Accept-Language": "en"}
DECIDED = OPENS + timedelta(days=5)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DECIDED + timedelta(days=1))


async def _certificate(session: AsyncSession, exam: Exam, users: dict[str, User]) -> Certificate:
    return await certify(session, exam.registration_id, users["decision_maker"], DECIDED)


def _visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.asyncio
async def test_verification_shows_only_the_allowed_fields(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    candidate = exam.candidate
    candidate.email = "kandidat@example.org"
    candidate.employer = "Hemmelig Arbeidsgiver AS"
    await session.commit()
    certificate = await _certificate(session, exam, users)
    page = await client.get(f"/verify/{certificate.number}", headers=ENGLISH)
    assert page.status_code == 200, page.text
    text = page.text
    assert candidate.full_name in text and "Mangfold" in text
    assert "This certificate is valid." in text
    assert "December 10, 2026" in _visible_text(text) or "December 15, 2026" in text
    for secret in (
        "kandidat@example.org",
        "Hemmelig Arbeidsgiver",
        f">{candidate.username}<",
        f'"{candidate.username}"',
        "decision_maker",
        "Decision Maker",
    ):
        assert secret not in text, secret
    # Typed the way people type: lower case and spaces.
    typed = certificate.number.lower().replace("-", " - ")
    found = await client.get("/verify", params={"number": typed})
    assert found.status_code == 303
    assert found.headers["location"] == f"/verify/{certificate.number.replace(' ', '')}"


@pytest.mark.asyncio
async def test_unknown_and_hostile_numbers(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/verify/DM-AAAAA-AAAAA", headers=ENGLISH)
    assert unknown.status_code == 404
    assert "No certificate has the number DM-AAAAA-AAAAA" in unknown.text
    assert 'id="number"' in unknown.text
    assert (await client.get("/verify/" + "A" * 5000)).status_code == 400
    assert (await client.get("/verify", params={"number": "A" * 5000})).status_code == 400
    assert (await client.get("/verify/%ED%A0%80")).status_code == 400
    assert (await client.get("/verify/%C3%86%C3%98")).status_code == 400
    assert (await client.get("/verify?number=%ED%A0%80")).status_code == 400
    assert (await client.get("/register/DM?q=a%00b")).status_code == 400
    assert (await client.get("/register/%ED%A0%80?q=%ED%A0%80")).status_code == 404
    assert (await client.get("/register/" + "D" * 5000)).status_code == 404
    assert (await client.get("/register/DM", params={"q": "x" * 500})).status_code == 400


@pytest.mark.asyncio
async def test_a_suspension_shows_at_once_and_is_audited(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    certificate = await _certificate(session, exam, users)
    await sign_in(client, "administrator")
    page = await client.get(f"/staff/certificates/{certificate.id}", headers=ENGLISH)
    assert page.status_code == 200, page.text
    token = csrf_from(page.text)
    short = await client.post(
        f"/staff/certificates/{certificate.id}/suspend",
        data={"grounds": "short", "csrf_token": token},
        headers=ENGLISH,
    )
    assert short.status_code == 422
    assert 'aria-invalid="true"' in short.text and "at least 10 characters" in short.text
    unknown = await client.post(
        f"/staff/certificates/{certificate.id}/explode",
        data={"grounds": "Not a thing one can do to a certificate.", "csrf_token": token},
    )
    assert unknown.status_code == 404
    grounds = "The holder's employer reported a breach of the code of conduct."
    done = await client.post(
        f"/staff/certificates/{certificate.id}/suspend",
        data={"grounds": grounds, "csrf_token": token},
    )
    assert done.status_code == 303
    shown = await client.get(f"/verify/{certificate.number}", headers=ENGLISH)
    assert "This certificate is suspended" in shown.text
    assert grounds not in shown.text
    assert (
        await client.post(
            f"/staff/certificates/{certificate.id}/suspend",
            data={"grounds": grounds, "csrf_token": token},
        )
    ).status_code == 409
    lifted = await client.post(
        f"/staff/certificates/{certificate.id}/reinstate",
        data={"grounds": "Investigated: no breach was found.", "csrf_token": token},
    )
    assert lifted.status_code == 303
    assert (
        "This certificate is valid."
        in (await client.get(f"/verify/{certificate.number}", headers=ENGLISH)).text
    )
    withdrawn = await client.post(
        f"/staff/certificates/{certificate.id}/withdraw",
        data={
            "grounds": "The holder asked for the certificate to be withdrawn.",
            "csrf_token": token,
        },
    )
    assert withdrawn.status_code == 303
    assert (
        "has been withdrawn"
        in (await client.get(f"/verify/{certificate.number}", headers=ENGLISH)).text
    )
    assert (
        await client.post(
            f"/staff/certificates/{certificate.id}/reinstate",
            data={"grounds": "Trying to undo a withdrawal.", "csrf_token": token},
        )
    ).status_code == 409
    session.expire_all()
    actions = (
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_type == "certificate")
            .order_by(AuditEntry.seq)
        )
    ).all()
    assert actions == [
        "certification.certificate_issued",
        "certification.certificate_suspended",
        "certification.certificate_reinstated",
        "certification.certificate_withdrawn",
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize("username", ["candidate", "decision_maker", "grader", "proctor"])
async def test_only_staff_change_a_certificate(
    client: httpx.AsyncClient,
    session: AsyncSession,
    exam: Exam,
    users: dict[str, User],
    username: str,
) -> None:
    certificate = await _certificate(session, exam, users)
    await sign_in(client, username)
    token = csrf_from((await client.get("/")).text)
    for path in (
        f"/staff/certificates/{certificate.id}",
        f"/staff/schemes/{certificate.scheme_id}/certificates",
        f"/staff/schemes/{certificate.scheme_id}/certification",
        "/staff/certification/changes",
    ):
        assert (await client.get(path)).status_code == 403, path
    refused = await client.post(
        f"/staff/certificates/{certificate.id}/withdraw",
        data={"grounds": "Not allowed to do this at all.", "csrf_token": token},
    )
    assert refused.status_code == 403


@pytest.mark.asyncio
async def test_expiry_is_computed(
    app: Starlette,
    client: httpx.AsyncClient,
    clock: FixedClock,
    session: AsyncSession,
    exam: Exam,
    users: dict[str, User],
) -> None:
    certificate = await certify(
        session, exam.registration_id, users["decision_maker"], DECIDED,
        CertificationRules(validity_months=12),
    )  # fmt: skip
    last_day = certificate.valid_until
    # Noon on the last day in Oslo is still valid; the next morning it has expired.
    clock.current = OPENS.replace(year=last_day.year, month=last_day.month, day=last_day.day)
    valid = await client.get(f"/verify/{certificate.number}", headers=ENGLISH)
    assert "This certificate is valid." in valid.text
    clock.current = clock.current + timedelta(days=1)
    expired = await client.get(f"/verify/{certificate.number}", headers=ENGLISH)
    assert "This certificate has expired." in expired.text
    register = await client.get("/register/DM", headers=ENGLISH)
    assert certificate.number not in register.text


@pytest.mark.asyncio
async def test_the_register_lists_valid_certificates_and_can_be_switched_off(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    certificate = await _certificate(session, exam, users)
    listed = await client.get("/register/DM", headers=ENGLISH)
    assert listed.status_code == 200 and certificate.number in listed.text
    assert exam.candidate.full_name in listed.text
    by_name = await client.get("/register/DM", params={"q": exam.candidate.full_name[:4].lower()})
    assert certificate.number in by_name.text
    by_number = await client.get("/register/DM", params={"q": certificate.number[-5:]})
    assert certificate.number in by_number.text
    nobody = await client.get("/register/DM", params={"q": "%_nobody"}, headers=ENGLISH)
    assert certificate.number not in nobody.text
    assert "No valid certificate matches your search." in nobody.text
    await policy.set_rules(
        session, scheme_id=certificate.scheme_id, rules=CertificationRules(register_public=False),
        actor=users["administrator"], now=DECIDED,
    )  # fmt: skip
    await session.commit()
    off = await client.get("/register/DM", headers=ENGLISH)
    assert off.status_code == 404
    assert "The register of this scheme is not public" in off.text
    assert certificate.number not in off.text
    # Verification by number still works.
    assert (await client.get(f"/verify/{certificate.number}")).status_code == 200


@pytest.mark.asyncio
async def test_public_pages_are_rate_limited_per_address_across_processes(
    settings: Settings, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    from web.app import create_app

    certificate = await _certificate(session, exam, users)
    settings.public_requests_per_window = 3
    settings.public_window_seconds = 3600
    # Two apps on one database stand for two worker processes.
    first_app, second_app = create_app(settings), create_app(settings)
    async with (
        browsers(first_app, "203.0.113.7", "198.51.100.1") as (one, other),
        browsers(second_app, "203.0.113.7") as (same_address,),
    ):
        assert (await one.get(f"/verify/{certificate.number}")).status_code == 200
        assert (await same_address.get("/verify/DM-AAAAA-AAAAA")).status_code == 404
        assert (await one.get("/register/DM")).status_code == 200
        refused = await same_address.get(f"/verify/{certificate.number}", headers=ENGLISH)
        assert refused.status_code == 429
        assert "You have made many requests in a short time." in refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        nb = await one.get("/verify", headers={"Accept-Language": "nb"})
        assert nb.status_code == 429 and "mange forespørsler" in nb.text
        assert (await other.get(f"/verify/{certificate.number}")).status_code == 200


@pytest.mark.asyncio
async def test_my_page_lists_own_certificates_and_the_pdf_is_own_only(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    certificate = await _certificate(session, exam, users)
    await sign_in(client, "candidate")
    page = await client.get("/my", headers=ENGLISH)
    assert page.status_code == 200, page.text
    assert certificate.number in page.text
    assert f"/my/certificates/{certificate.id}/pdf" in page.text
    pdf = await client.get(f"/my/certificates/{certificate.id}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert (await client.get(f"/my/certificates/{certificate.id + 1}/pdf")).status_code == 404
    assert (await client.get("/my/certificates/99999999999999999999/pdf")).status_code == 404


@pytest.mark.asyncio
async def test_another_holder_s_pdf_is_not_found(
    app: Starlette, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    certificate = await _certificate(session, exam, users)
    async with browsers(app, "127.0.0.1") as (other,):
        await sign_in(other, "kandidat2", "x" * 12)
        assert (await other.get(f"/my/certificates/{certificate.id}/pdf")).status_code == 404


@pytest.mark.asyncio
async def test_a_reported_change_reaches_staff_who_mark_it_handled(
    app: Starlette, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    await _certificate(session, exam, users)
    async with browsers(app, "127.0.0.1", "127.0.0.2") as (holder, staff):
        await sign_in(holder, "candidate")
        token = csrf_from((await holder.get("/my")).text)
        empty = await holder.post("/my/changes", data={"text": " ", "csrf_token": token},
                                  headers=ENGLISH)  # fmt: skip
        assert empty.status_code == 422
        assert 'aria-invalid="true"' in empty.text and "Describe the change" in empty.text
        hostile = await holder.post(
            "/my/changes",
            content=f"text=a%00b%ED%A0%80c{'x' * 20}&csrf_token={token}",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert hostile.status_code == 400
        text = "I have changed my name to Kari Nordmann after marriage."
        sent = await holder.post("/my/changes", data={"text": text, "csrf_token": token})
        assert sent.status_code == 303
        await sign_in(staff, "administrator")
        listed = await staff.get("/staff/certification/changes", headers=ENGLISH)
        assert text in listed.text
        report = await session.scalar(select(ChangeReport))
        assert report is not None
        handled = await staff.post(
            f"/staff/certification/changes/{report.id}/handled",
            data={"csrf_token": csrf_from(listed.text)},
        )
        assert handled.status_code == 303
        session.expire_all()
        assert await session.scalar(select(ChangeReport.handled_at)) is not None
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.entity_type == "change_report")
            )
        ).all()
        assert sorted(actions) == ["certification.change_handled", "certification.change_reported"]


@pytest.mark.asyncio
async def test_the_certification_rules_page(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    certificate = await _certificate(session, exam, users)
    scheme_id = certificate.scheme_id
    await sign_in(client, "administrator")
    page = await client.get(f"/staff/schemes/{scheme_id}/certification", headers=ENGLISH)
    assert page.status_code == 200
    token = csrf_from(page.text)
    values = {
        "validity_months": "24", "completion_months": "12", "appeal_days": "21",
        "recertification_months_before": "3", "recertification_months_after": "999",
        "fee_required": "on", "csrf_token": token,
    }  # fmt: skip
    wrong = await client.post(
        f"/staff/schemes/{scheme_id}/certification", data=values, headers=ENGLISH
    )
    assert wrong.status_code == 422
    assert re.search(
        r'id="recertification_months_after"[^>]*value="999"[^>]*aria-invalid', wrong.text
    )
    values["recertification_months_after"] = "6"
    saved = await client.post(f"/staff/schemes/{scheme_id}/certification", data=values)
    assert saved.status_code == 303
    rules = await policy.rules_for_scheme(session, scheme_id)
    assert rules.validity_months == 24 and rules.register_public is False
    listing = await client.get(
        f"/staff/schemes/{scheme_id}/certificates", params={"q": "candidate"}, headers=ENGLISH
    )
    assert certificate.number in listing.text


@pytest.mark.asyncio
async def test_recertification_from_my_page_to_the_staff_s_answer(
    app: Starlette,
    clock: FixedClock,
    session: AsyncSession,
    exam: Exam,
    users: dict[str, User],
) -> None:
    certificate = await _certificate(session, exam, users)
    certificate_id = certificate.id
    async with browsers(app, "127.0.0.1", "127.0.0.2") as (holder, staff):
        await sign_in(holder, "candidate")
        page = await holder.get("/my", headers=ENGLISH)
        action = f"/my/certificates/{certificate.id}/recertification"
        assert action not in page.text  # the window is not open yet
        token = csrf_from(page.text)
        closed = await holder.post(
            action, data={"evidence": "Years of practice as a manager.", "csrf_token": token},
            headers=ENGLISH,
        )  # fmt: skip
        assert closed.status_code == 409 and "Recertification is open from" in closed.text
        clock.current = clock.current + timedelta(days=3 * 365 - 30)
        page = await holder.get("/my", headers=ENGLISH)
        assert action in page.text
        sent = await holder.post(
            action, data={"evidence": "Years of practice as a manager.", "csrf_token": token}
        )
        assert sent.status_code == 303
        assert "awaits the staff" in (await holder.get("/my", headers=ENGLISH)).text
        await sign_in(staff, "administrator")
        listing = await staff.get("/staff/certification/recertifications", headers=ENGLISH)
        assert "Years of practice as a manager." in listing.text
        staff_token = csrf_from(listing.text)
        path = listing.text.split('action="/staff/certification/recertifications/')[1]
        application_id = path.split("/")[0]
        empty = await staff.post(
            f"/staff/certification/recertifications/{application_id}/renew",
            data={"note": "", "csrf_token": staff_token}, headers=ENGLISH,
        )  # fmt: skip
        assert empty.status_code == 422 and 'aria-invalid="true"' in empty.text
        renewed = await staff.post(
            f"/staff/certification/recertifications/{application_id}/renew",
            data={"note": "The evidence of practice suffices.", "csrf_token": staff_token},
        )
        assert renewed.status_code == 303
        mine = await holder.get("/my", headers=ENGLISH)
        assert "has been renewed: The evidence of practice suffices." in mine.text
        session.expire_all()
        renewal = await session.scalar(
            select(Certificate).where(Certificate.renews_id == certificate_id)
        )
        assert renewal is not None and renewal.number in mine.text
