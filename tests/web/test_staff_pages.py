"""The staff pages over HTTP: sittings, applications, registrations, accommodations, results."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import accommodations
from exam.models import Accommodation, Application, Registration, Sitting
from exam.timing import FixedClock
from tests.exam.factories import OPENS, Exam
from tests.web.helpers import csrf, csrf_from, sign_in
from vakt.accounts import Role, User, create_user


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(OPENS - timedelta(days=20))


@pytest.mark.asyncio
async def test_staff_schedule_a_sitting_with_clear_errors(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession
) -> None:
    await sign_in(client, "administrator")
    page = await client.get("/staff/sittings", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Desember" in page.text
    blueprint_id = re.search(r'<option value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    token = csrf_from(page.text)
    form = {"csrf_token": token, "blueprint_id": blueprint_id, "name": "Januar"}

    bad_date = await client.post(
        "/staff/sittings",
        data={**form, "opens_at": "tomorrow", "closes_at": "2027-01-10T17:00"},
        headers={"Accept-Language": "en"},
    )
    assert bad_date.status_code == 400 and "Give a date and time" in bad_date.text
    backwards = await client.post(
        "/staff/sittings",
        data={**form, "opens_at": "2027-01-10T17:00", "closes_at": "2027-01-10T09:00"},
        headers={"Accept-Language": "en"},
    )
    assert backwards.status_code == 400 and "close after it opens" in backwards.text
    assert 'value="Januar"' in backwards.text  # nothing typed is lost
    no_blueprint = await client.post(
        "/staff/sittings",
        data={
            **form,
            "blueprint_id": "",
            "opens_at": "2027-01-10T09:00",
            "closes_at": "2027-01-10T17:00",
        },
    )
    assert no_blueprint.status_code == 400

    created = await client.post(
        "/staff/sittings",
        data={**form, "opens_at": "2027-01-10T09:00", "closes_at": "2027-01-10T17:00"},
    )
    assert created.status_code == 303
    sitting = await session.scalar(select(Sitting).where(Sitting.name == "Januar"))
    assert sitting is not None
    # Entered in Oslo time (UTC+1 in January), stored in UTC.
    assert sitting.opens_at == datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
    detail = await client.get(created.headers["location"])
    assert detail.status_code == 200 and "Januar" in detail.text


@pytest.mark.asyncio
async def test_applications_registrations_and_accommodations(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, users: dict[str, User]
) -> None:
    newcomer = await create_user(
        session, username="nykandidat", full_name="Nora Ny", password="x" * 12,
        roles={Role.CANDIDATE},
    )  # fmt: skip
    await accommodations.request_accommodation(
        session, registration_id=exam.registration_id, candidate=exam.candidate,
        extra_time_percent=25, reason="Dysleksi", now=OPENS - timedelta(days=20),
    )  # fmt: skip
    await session.commit()
    await sign_in(client, "administrator")
    sitting_url = f"/staff/sittings/{exam.sitting_id}"
    page = await client.get(sitting_url)
    token = csrf_from(page.text)
    assert "nykandidat" not in page.text  # no approved application: not offered

    refused = await client.post(
        f"{sitting_url}/registrations",
        data={"csrf_token": token, "username": "nykandidat"},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 409 and "no approved application" in refused.text
    unknown = await client.post(
        f"{sitting_url}/registrations", data={"csrf_token": token, "username": "nobody"}
    )
    assert unknown.status_code == 400

    applications = await client.get("/staff/applications")
    assert "Nora Ny" in applications.text
    scheme_id = (await session.get(Sitting, exam.sitting_id)).scheme_id  # type: ignore[union-attr]
    bad = await client.post(
        "/staff/applications",
        data={
            "csrf_token": token,
            "candidate_id": str(newcomer.id),
            "scheme_id": str(scheme_id),
            "decision": "maybe",
        },
    )
    assert bad.status_code == 400
    not_a_candidate = await client.post(
        "/staff/applications",
        data={
            "csrf_token": token,
            "candidate_id": str(users["grader"].id),
            "scheme_id": str(scheme_id),
            "decision": "approve",
        },
    )
    assert not_a_candidate.status_code == 400
    approved = await client.post(
        "/staff/applications",
        data={
            "csrf_token": token,
            "candidate_id": str(newcomer.id),
            "scheme_id": str(scheme_id),
            "decision": "approve",
        },
    )
    assert approved.status_code == 303
    assert (
        await session.scalar(
            select(Application.status).where(Application.candidate_id == newcomer.id)
        )
        == "approved"
    )
    registered = await client.post(
        f"{sitting_url}/registrations", data={"csrf_token": token, "username": "nykandidat"}
    )
    assert registered.status_code == 303
    assert await session.scalar(
        select(Registration.id).where(Registration.candidate_id == newcomer.id)
    )

    request_id = await session.scalar(select(Accommodation.id))
    page = await client.get(sitting_url)
    assert "Dysleksi" in page.text
    decided = await client.post(
        f"/staff/accommodations/{request_id}",
        data={"csrf_token": token, "decision": "approve", "note": "Innvilget"},
    )
    assert decided.status_code == 303
    again = await client.post(
        f"/staff/accommodations/{request_id}",
        data={"csrf_token": token, "decision": "reject"},
        headers={"Accept-Language": "en"},
    )
    assert again.status_code == 409 and "decided already" in again.text
    assert await accommodations.approved_extra_time(session, exam.registration_id) == 25


@pytest.mark.asyncio
async def test_only_staff_use_the_staff_pages(client: httpx.AsyncClient, exam: Exam) -> None:
    for username in ("candidate", "grader", "item_writer", "decision_maker"):
        await sign_in(client, username)
        for path in (
            "/staff/sittings",
            f"/staff/sittings/{exam.sitting_id}",
            "/staff/applications",
        ):
            assert (await client.get(path)).status_code == 403, (username, path)
        token = await csrf(client, "/")
        posted = await client.post(
            f"/staff/sittings/{exam.sitting_id}/registrations",
            data={"csrf_token": token, "username": "candidate"},
        )
        assert posted.status_code == 403
