"""An attempt held because a proctor did not confirm the candidate's identity, over HTTP: the
decision maker's overview and attempt page and the staff's sitting page say it is held and offer
no decision; an override or a release posted anyway is refused with the reason (409) and changes
nothing; the other candidates' attempts are decided as usual; once a proctor confirms the
identity, the held attempt is decided too, and every decision is audited."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart, Registration
from exam.timing import FixedClock
from proctoring.review import decide_identity
from tests.exam.factories import OPENS
from tests.grading.graded_sitting import graded_sitting
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry

ENGLISH = {"Accept-Language": "en"}
NOW = OPENS + timedelta(hours=10)
GROUNDS = "Klage tatt til følge: oppgave 3 var uklar."
BADGE = "Held: identity not confirmed"
REFUSED = (
    "The candidate&#39;s identity is not confirmed: the attempt is held from the decision until "
    "a proctor confirms it."
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def _attempt(session: AsyncSession, candidate: User) -> tuple[Attempt, list[AttemptPart]]:
    attempt = await session.scalar(
        select(Attempt)
        .join(Registration, Registration.id == Attempt.registration_id)
        .where(Registration.candidate_id == candidate.id)
        .execution_options(populate_existing=True)
    )
    assert attempt is not None
    parts = list(
        await session.scalars(
            select(AttemptPart)
            .where(AttemptPart.attempt_id == attempt.id)
            .order_by(AttemptPart.part_index)
            .execution_options(populate_existing=True)
        )
    )
    return attempt, parts


async def _decisions(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(AuditEntry.action, AuditEntry.entity_id)
        .where(AuditEntry.action.in_(["attempt.release_results", "attempt.part_result_overridden"]))
        .order_by(AuditEntry.seq)
    )
    return [(action, entity_id) for action, entity_id in rows]


async def _identity(
    session: AsyncSession, registration_id: int, proctor: User, *, confirmed: bool
) -> None:
    await decide_identity(
        session, registration_id=registration_id, confirmed=confirmed,
        grounds="" if confirmed else "Ansiktet stemmer ikke med legitimasjonen", proctor=proctor,
        now=NOW,
    )  # fmt: skip
    await session.commit()


@pytest.mark.asyncio
async def test_a_held_attempt_is_not_decided_through_the_pages_until_confirmed(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    built = await graded_sitting(session, users)
    held, held_parts = await _attempt(session, users["candidate"])
    other, other_parts = await _attempt(session, built.candidates[1])
    await _identity(session, held.registration_id, users["proctor"], confirmed=False)
    essay = held_parts[1]
    assert essay.passed is True

    await sign_in(client, "decision_maker")
    overview = await client.get("/results", headers=ENGLISH)
    assert overview.text.count(BADGE) == 1
    row = re.search(
        rf'<a href="/results/attempts/{held.id}">[^<]+</a>([^<]*<span[^>]*>[^<]+)', overview.text
    )
    assert row is not None and BADGE in row.group(1)
    page = await client.get(f"/results/attempts/{held.id}", headers=ENGLISH)
    assert page.status_code == 200
    assert BADGE in page.text and "no result can be overridden or released" in page.text
    assert "/override" not in page.text and "Override the result" not in page.text
    token = csrf_from(page.text)
    refused = await client.post(
        f"/results/parts/{essay.id}/override",
        data={"result": "not_passed", "grounds": GROUNDS, "csrf_token": token},
        headers=ENGLISH,
    )
    assert refused.status_code == 409
    assert REFUSED in refused.text and 'role="alert"' in refused.text
    # The others are decided as usual.
    other_page = await client.get(f"/results/attempts/{other.id}", headers=ENGLISH)
    assert BADGE not in other_page.text and "Override the result" in other_page.text
    done = await client.post(
        f"/results/parts/{other_parts[1].id}/override",
        data={"result": "not_passed", "grounds": GROUNDS, "csrf_token": token},
    )
    assert done.status_code == 303

    # The staff's sitting page shows the hold; results are released by the decision maker only.
    await sign_in(client, "administrator")
    sitting = await client.get(f"/staff/sittings/{built.sitting_id}", headers=ENGLISH)
    assert sitting.text.count(BADGE) == 1
    assert "/release" not in sitting.text
    await sign_in(client, "decision_maker")
    case = await client.get(f"/decisions/registrations/{held.registration_id}", headers=ENGLISH)
    token = csrf_from(case.text)
    refused = await client.post(
        f"/decisions/registrations/{held.registration_id}",
        data={"outcome": "refused", "grounds": GROUNDS, "csrf_token": token},
        headers=ENGLISH,
    )
    assert refused.status_code == 409 and REFUSED in refused.text
    released = await client.post(
        f"/decisions/registrations/{other.registration_id}/release", data={"csrf_token": token}
    )
    assert released.status_code == 303

    # Nothing of the held attempt changed; the others' decisions are on record.
    held, held_parts = await _attempt(session, users["candidate"])
    assert held.results_released_at is None
    assert held_parts[1].passed is True and held_parts[1].result_override_at is None
    assert await _decisions(session) == [
        ("attempt.part_result_overridden", str(other_parts[1].id)),
        ("attempt.release_results", str(other.id)),
    ]

    # A proctor confirms the identity: the hold lifts.
    await _identity(session, held.registration_id, users["proctor"], confirmed=True)
    await sign_in(client, "administrator")
    sitting = await client.get(f"/staff/sittings/{built.sitting_id}", headers=ENGLISH)
    assert BADGE not in sitting.text
    await sign_in(client, "decision_maker")
    page = await client.get(f"/results/attempts/{held.id}", headers=ENGLISH)
    assert BADGE not in page.text and "Override the result" in page.text
    done = await client.post(
        f"/results/parts/{essay.id}/override",
        data={"result": "not_passed", "grounds": GROUNDS, "csrf_token": csrf_from(page.text)},
    )
    assert done.status_code == 303
    released = await client.post(
        f"/decisions/registrations/{held.registration_id}/release",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert released.status_code == 303
    held, held_parts = await _attempt(session, users["candidate"])
    assert held.results_released_at is not None and held_parts[1].passed is False
    assert (await _decisions(session))[2:] == [
        ("attempt.part_result_overridden", str(essay.id)),
        ("attempt.release_results", str(held.id)),
    ]
