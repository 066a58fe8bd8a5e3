"""The assessment's statistics over HTTP: the staff's page and its CSV files (administrators
only), computing on demand, the scheme's bounds with clear errors, and the bank's item pages
with a version's statistics and its review marks."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.timing import FixedClock
from grading import quality
from grading.models import StatisticsSnapshot
from itembank import quality as bank_quality
from itembank.models import ItemQualityBounds
from tests.exam.factories import OPENS
from tests.grading.graded_sitting import (
    build_sitting,
    grade_everything,
    graded_sitting,
    take_exam,
    wire_events,
)
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry

ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(OPENS + timedelta(hours=10))


def _csv(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


@pytest.mark.asyncio
@pytest.mark.parametrize("username", ["grader", "candidate", "item_writer", "proctor"])
async def test_only_administrators_see_the_statistics(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], username: str
) -> None:
    built = await build_sitting(session, users, candidates=1)
    base = f"/staff/sittings/{built.sitting_id}"
    signed_out = await client.get(f"{base}/statistics")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
    await sign_in(client, username)
    for path in ("/statistics", "/scores.csv", "/statistics.csv"):
        refused = await client.get(base + path, headers=ENGLISH)
        assert refused.status_code == 403, path
        assert "Your roles do not give access to this page." in refused.text
    home = await client.get("/")
    token = csrf_from(home.text)
    for path in ("/statistics", "/bounds"):
        refused = await client.post(base + path, data={"csrf_token": token})
        assert refused.status_code == 403, path
    assert await session.scalar(select(StatisticsSnapshot.id)) is None


@pytest.mark.asyncio
async def test_a_sitting_without_data_shows_dashes_never_nan(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    wire_events(session)
    built = await build_sitting(session, users, candidates=1)
    await sign_in(client, "administrator")
    base = f"/staff/sittings/{built.sitting_id}"
    before = await client.get(f"{base}/statistics", headers=ENGLISH)
    assert before.status_code == 200 and "No statistics yet" in before.text
    empty_scores = await client.get(f"{base}/scores.csv", headers=ENGLISH)
    assert empty_scores.status_code == 200 and len(_csv(empty_scores)) == 1
    empty_statistics = await client.get(f"{base}/statistics.csv", headers=ENGLISH)
    assert empty_statistics.status_code == 200 and len(_csv(empty_statistics)) == 1

    # Nobody has taken it: computing gives empty tables.
    computed = await client.post(f"{base}/statistics", data={"csrf_token": csrf_from(before.text)})
    assert computed.status_code == 303
    page = await client.get(f"{base}/statistics", headers=ENGLISH)
    assert "No part has a result yet." in page.text

    # One candidate, graded by two: every spread, correlation and reliability is undefined.
    await take_exam(session, built, built.candidates[0], ("A", "B", None))
    await grade_everything(session, built, [(7, 8)])
    page = await client.get(f"{base}/statistics", headers=ENGLISH)
    assert page.status_code == 200
    assert "by itself when the last script was final" in page.text
    assert "—" in page.text and "nan" not in page.text.lower()
    assert "too few responses" in page.text
    rows = _csv(await client.get(f"{base}/statistics.csv", headers=ENGLISH))
    assert all("nan" not in cell.lower() for row in rows for cell in row)
    norwegian = await client.get(f"{base}/statistics", headers={"Accept-Language": "nb"})
    assert "for få svar" in norwegian.text and "—" in norwegian.text


@pytest.mark.asyncio
async def test_the_statistics_page_and_csv_files(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)
    # A name someone typed can hold a spreadsheet formula: the export writes it as text.
    candidate = built.candidates[0]
    candidate.full_name = '=HYPERLINK("http://x")'
    await session.commit()
    await sign_in(client, "administrator")
    base = f"/staff/sittings/{built.sitting_id}"

    sitting_page = await client.get(base, headers=ENGLISH)
    assert f'href="{base}/statistics"' in sitting_page.text
    page = await client.get(f"{base}/statistics", headers=ENGLISH)
    assert page.status_code == 200
    assert "KR-20: 0.38" in page.text  # 0.375, two decimals
    assert "0.71" in page.text  # the SEM, sqrt(0.5)
    assert "Second Grader" not in page.text and "Andre Sensor (grader2)" in page.text
    assert "Grader (grader)" in page.text
    assert "0.92" in page.text  # kappa 67/73 = 0.9178
    assert "83%" in page.text  # adjacent agreement 5/6
    norwegian = await client.get(f"{base}/statistics", headers={"Accept-Language": "nb"})
    assert "KR-20: 0,38" in norwegian.text and "83\xa0%" in norwegian.text

    scores = await client.get(f"{base}/scores.csv", headers=ENGLISH)
    assert scores.status_code == 200
    assert scores.headers["content-type"] == "text/csv; charset=utf-8"
    assert scores.headers["content-disposition"] == (
        f'attachment; filename="sitting-{built.sitting_id}-scores.csv"'
    )
    header, *rows = _csv(scores)
    assert header == [
        "Registration", "Username", "Name", "Part", "Points", "Most points", "Percent",
        "Passed", "Overridden",
    ]  # fmt: skip
    assert len(rows) == 12  # six candidates, two parts each
    by_candidate = {(row[1], row[3]): row for row in rows}
    first = by_candidate["candidate", "mc"]
    assert first[2] == '\'=HYPERLINK("http://x")'
    assert first[4:] == ["3", "3", "100", "yes", "no"]
    # The essay of the second candidate: 7.5 of 10 passes at 70 %.
    assert by_candidate["kandidat1", "kunnskap"][4:] == ["7.5", "10", "75", "yes", "no"]
    assert by_candidate["kandidat3", "mc"][4:] == ["1", "3", "33.3333", "no", "no"]
    norwegian_scores = await client.get(f"{base}/scores.csv", headers={"Accept-Language": "nb"})
    assert _csv(norwegian_scores)[0][0] == "Påmelding"

    statistics = await client.get(f"{base}/statistics.csv", headers=ENGLISH)
    assert statistics.status_code == 200
    assert statistics.headers["content-disposition"] == (
        f'attachment; filename="sitting-{built.sitting_id}-statistics.csv"'
    )
    header, *rows = _csv(statistics)
    assert header[:7] == ["Row", "Part", "Item id", "Version", "Title", "Responses", "Most points"]
    items = {row[2]: row for row in rows if row[0] == "item"}
    assert set(items) == {"SC-0", "SC-1", "SC-2", "ES-0"}
    assert items["SC-1"][7:11] == ["0.5", "0.3333", "0.5", "0.5477"]
    assert items["SC-0"][8] == ""  # no discrimination: left empty
    assert items["SC-0"][-1] == "too few responses"
    parts = {row[1]: row for row in rows if row[0] == "part"}
    assert parts["mc"][11:14] == ["KR-20", "0.375", "0.7071"]
    (pair,) = [row for row in rows if row[0] == "grader pair"]
    assert pair[4] == "Grader / Andre Sensor"
    assert pair[14:17] == ["0.5", "0.8333", "0.9178"]


@pytest.mark.asyncio
async def test_bounds_and_computing_on_demand(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)
    admin_id = users["administrator"].id
    await sign_in(client, "administrator")
    base = f"/staff/sittings/{built.sitting_id}"
    page = await client.get(f"{base}/statistics", headers=ENGLISH)
    token = csrf_from(page.text)
    good = {"min_facility": "0,2", "max_facility": "0.95", "min_discrimination": "0.4",
            "min_responses": "5"}  # fmt: skip

    no_token = await client.post(f"{base}/bounds", data=good)
    assert no_token.status_code == 403
    for wrong, message in [
        ({"min_responses": "many"}, "Fewest responses to judge: the value is missing"),
        ({"min_facility": "2"}, "Lowest facility (p): the value is missing"),
        ({"min_facility": "0.9", "max_facility": "0.5"}, "must be below the highest"),
        ({"min_discrimination": ""}, "Lowest discrimination: the value is missing"),
    ]:
        refused = await client.post(
            f"{base}/bounds", data={**good, **wrong, "csrf_token": token}, headers=ENGLISH
        )
        assert refused.status_code == 422, wrong
        assert message in refused.text, refused.text
        assert 'value="many"' in refused.text or "many" not in str(wrong)  # kept as typed
    norwegian = await client.post(
        f"{base}/bounds",
        data={**good, "min_responses": "mange", "csrf_token": token},
        headers={"Accept-Language": "nb"},
    )
    assert norwegian.status_code == 422 and "Færrest svar for å vurdere" in norwegian.text
    assert await session.get(ItemQualityBounds, built.scheme_id) is None

    saved = await client.post(f"{base}/bounds", data={**good, "csrf_token": token})
    assert saved.status_code == 303
    session.expire_all()
    bounds = await bank_quality.bounds_for_scheme(session, built.scheme_id)
    assert (bounds.min_facility, bounds.min_responses) == (0.2, 5)

    computed = await client.post(f"{base}/statistics", data={"csrf_token": token})
    assert computed.status_code == 303
    session.expire_all()
    snapshot = await session.scalar(
        select(StatisticsSnapshot).where(StatisticsSnapshot.sitting_id == built.sitting_id)
    )
    assert snapshot is not None and snapshot.computed_by_id == admin_id
    audited = await session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "grading.statistics_computed")
        .order_by(AuditEntry.seq.desc())
    )
    assert audited is not None and audited.actor_id == admin_id
    page = await client.get(f"{base}/statistics", headers=ENGLISH)
    assert "Marked for review" in page.text and "is below the bound 0.40" in page.text
    missing = await client.get("/staff/sittings/999999/statistics")
    assert missing.status_code == 404
    missing_csv = await client.get("/staff/sittings/999999/scores.csv")
    assert missing_csv.status_code == 404


@pytest.mark.asyncio
async def test_item_pages_show_statistics_and_review_marks(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)
    await bank_quality.set_bounds(
        session, scheme_id=built.scheme_id, actor=users["administrator"], now=OPENS,
        values={"min_responses": 5},
    )  # fmt: skip
    await quality.compute_statistics(
        session, built.sitting_id, now=OPENS, actor=users["administrator"]
    )
    await session.commit()
    sc0, sc1 = built.versions["SC-0"], built.versions["SC-1"]

    await sign_in(client, "item_reviewer")
    marked = await client.get(f"/items/{sc0.item_id}", headers=ENGLISH)
    assert marked.status_code == 200
    assert "Marked for review" in marked.text
    assert "Facility 1.00 is above the bound 0.95" in marked.text
    assert "6 responses in Kvalitetsprøve" in marked.text
    shown = await client.get(f"/items/{sc1.item_id}", headers=ENGLISH)
    assert "Marked for review" not in shown.text
    assert "Kvalitetsprøve" in shown.text and "within the bounds" in shown.text
    assert "0.33" in shown.text  # discrimination 1/3
    # SC-1's shares: A (the key) 50 %, B 33 %, C 17 %, no answer 0 %.
    shares = re.findall(r"<td>(\d+%)</td>", shown.text)
    assert shares == ["50%", "33%", "17%", "0%"]
    norwegian = await client.get(f"/items/{sc0.item_id}", headers={"Accept-Language": "nb"})
    assert "Løsningsandelen 1,00 er over grensen 0,95" in norwegian.text

    listing = await client.get(f"/items?scheme={built.scheme_id}", headers=ENGLISH)
    assert listing.text.count("Marked for review") == 1
    only = await client.get(f"/items?scheme={built.scheme_id}&review=1", headers=ENGLISH)
    assert "SC-0" in only.text and "SC-1" not in only.text
    bad = await client.get("/items?review=maybe", headers=ENGLISH)
    assert bad.status_code == 400 and "Unknown value for review" in bad.text

    # The essay: mean and spread, no choices.
    essay = await client.get(f"/items/{built.versions['ES-0'].item_id}", headers=ENGLISH)
    assert "5.33" in essay.text and "2.64" in essay.text and "Chosen by" not in essay.text

    # Candidates and graders never reach the bank's pages.
    for username in ("candidate", "grader"):
        await client.post("/logout", data={"csrf_token": csrf_from((await client.get("/")).text)})
        await sign_in(client, username)
        refused = await client.get(f"/items/{sc0.item_id}")
        assert refused.status_code == 403
