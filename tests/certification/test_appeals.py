"""Appeals: the deadline's edge days in the body's time zone across both changes of summer
time, the numbering under concurrency, confidentiality, the outcome and the new decision by an
independent decision maker; over HTTP the candidate's form with bad input and hostile ids."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from certification import appeals, decisions
from certification.independence import NO_PARTICIPANTS
from certification.models import Appeal, Certificate, CertificationDecision
from certification.schemas import AppealStatus, DecisionOutcome
from exam.timing import FixedClock
from grading.regrading import BlindRegrading
from tests.certification.factories import DECIDED_AT, Ready, ToldReviews, ready_for_decision
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import Role, User, UserRole, create_user
from vakt.audit import AuditEntry
from vakt.db import create_sessionmaker
from vakt.errors import Conflict, Forbidden, NotFound, VaktError
from vakt.notifications import Notification

pytestmark = pytest.mark.asyncio
OSLO = "Europe/Oslo"
ENGLISH = {"Accept-Language": "en"}
GROUNDS = "The essay was marked against the wrong criteria."


async def _decided(
    session: AsyncSession, ready: Ready, users: dict[str, User], sent_at: datetime
) -> CertificationDecision:
    """The passed candidate's attempt refused, the decision dated ``sent_at``; committed."""
    decision = await decisions.decide(
        session, registration_id=ready.passed, outcome=DecisionOutcome.REFUSED,
        grounds="Refused for the test.", decider=users["decision_maker"], now=sent_at,
        reviews=ToldReviews(), participants=NO_PARTICIPANTS, timezone=OSLO,
    )  # fmt: skip
    await session.commit()
    return decision


async def _file(session: AsyncSession, ready: Ready, at: datetime, who: User) -> Appeal:
    return await appeals.file_appeal(
        session, candidate=who, registration_id=ready.passed, grounds=GROUNDS, now=at,
        timezone=OSLO,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("sent_at", "last_moment", "last_day"),
    [
        # Sent in summer time; day 21 (31 October) is after summer time ends on 25 October.
        (datetime(2026, 10, 10, 10, tzinfo=UTC), datetime(2026, 10, 31, 22, 59, 59, tzinfo=UTC),
         "2026-10-31"),
        # Sent at 00:30 Oslo time on 11 October (22:30 UTC the day before): day 0 is the 11th.
        (datetime(2026, 10, 10, 22, 30, tzinfo=UTC), datetime(2026, 11, 1, 22, 59, 59, tzinfo=UTC),
         "2026-11-01"),
        # Sent in winter time; day 21 (31 March) is after summer time begins on 29 March.
        (datetime(2026, 3, 10, 11, tzinfo=UTC), datetime(2026, 3, 31, 21, 59, 59, tzinfo=UTC),
         "2026-03-31"),
    ],
)  # fmt: skip
async def test_day_21_is_accepted_to_its_last_second_and_day_22_refused_with_the_date(
    session: AsyncSession,
    users: dict[str, User],
    sent_at: datetime,
    last_moment: datetime,
    last_day: str,
) -> None:
    ready = await ready_for_decision(session, users)
    await _decided(session, ready, users, sent_at)
    candidate = users["candidate"]
    registration = await session.get(appeals.Registration, ready.passed)
    assert registration is not None
    found = await appeals.appealable(session, registration, OSLO)
    assert found is not None and found.last_day.isoformat() == last_day
    with pytest.raises(VaktError) as refused:
        await _file(session, ready, last_moment + timedelta(seconds=1), candidate)
    assert refused.value.status_code == 409 and refused.value.field == "grounds"
    assert str(refused.value.params["day"]) == last_day
    appeal = await _file(session, ready, last_moment, candidate)
    await session.commit()
    assert appeal.number == f"K-{last_moment.year}-0001"
    assert appeal.status == AppealStatus.RECEIVED and appeal.decision_id is not None


async def test_a_result_released_without_a_decision_is_appealed_from_its_release(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    await decisions.release_not_passed(
        session, registration_id=ready.failed, decider=users["decision_maker"], now=DECIDED_AT,
        reviews=ToldReviews(), participants=NO_PARTICIPANTS,
    )  # fmt: skip
    await session.commit()
    candidate = ready.built.candidates[2]
    options = await appeals.appeal_options(session, candidate, OSLO)
    found, filed = options[ready.failed]
    assert found.decision is None and found.sent_at == DECIDED_AT and filed == []
    appeal = await appeals.file_appeal(
        session, candidate=candidate, registration_id=ready.failed, grounds=GROUNDS,
        now=DECIDED_AT, timezone=OSLO,
    )  # fmt: skip
    assert appeal.decision_id is None
    with pytest.raises(NotFound):
        await appeals.file_appeal(
            session, candidate=users["candidate"], registration_id=ready.failed,
            grounds=GROUNDS, now=DECIDED_AT, timezone=OSLO,
        )  # fmt: skip
    with pytest.raises(VaktError) as unstorable:
        await appeals.file_appeal(
            session, candidate=candidate, registration_id=ready.failed,
            grounds="Lone \ud800 surrogate in the grounds", now=DECIDED_AT, timezone=OSLO,
        )  # fmt: skip
    assert unstorable.value.status_code == 400 and unstorable.value.field == "grounds"
    # Nothing released yet for the passed candidate: nothing to appeal.
    with pytest.raises(NotFound):
        await _file(session, ready, DECIDED_AT, users["candidate"])


async def test_two_appeals_filed_at_once_get_two_numbers(
    engine: AsyncEngine, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    await _decided(session, ready, users, DECIDED_AT)
    await decisions.release_not_passed(
        session, registration_id=ready.failed, decider=users["decision_maker"], now=DECIDED_AT,
        reviews=ToldReviews(), participants=NO_PARTICIPANTS,
    )  # fmt: skip
    await session.commit()
    makers = create_sessionmaker(engine)
    filers = [(users["candidate"].id, ready.passed), (ready.built.candidates[2].id, ready.failed)]

    async def file_as(candidate_id: int, registration_id: int) -> str:
        async with makers() as own:
            candidate = await own.get(User, candidate_id)
            assert candidate is not None
            appeal = await appeals.file_appeal(
                own, candidate=candidate, registration_id=registration_id, grounds=GROUNDS,
                now=DECIDED_AT, timezone=OSLO,
            )  # fmt: skip
            await own.commit()
            return appeal.number

    numbers = await asyncio.gather(*(file_as(c, r) for c, r in filers))
    year = DECIDED_AT.year
    assert sorted(numbers) == [f"K-{year}-0001", f"K-{year}-0002"]
    assert await session.scalar(select(func.count()).select_from(Appeal)) == 2


async def test_only_handlers_and_decision_makers_see_appeals_and_the_candidate_theirs(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    await _decided(session, ready, users, DECIDED_AT)
    appeal = await _file(session, ready, DECIDED_AT, users["candidate"])
    for role in ("grader", "proctor", "candidate", "item_writer"):
        with pytest.raises(Forbidden):
            await appeals.appeals_for_staff(session, users[role])
        with pytest.raises(Forbidden):
            await appeals.appeal_for_staff(session, users[role], appeal.id)
    for role in ("administrator", "decision_maker"):
        assert [r.appeal.id for r in await appeals.appeals_for_staff(session, users[role])] == [
            appeal.id
        ]
    assert (await appeals.own_appeal(session, users["candidate"], appeal.id)).id == appeal.id
    with pytest.raises(NotFound):
        await appeals.own_appeal(session, ready.built.candidates[1], appeal.id)
    kinds = list(await session.scalars(select(Notification.kind)))
    assert "certification.appeal_received" in kinds
    assert await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "certification.appeal_filed")
    )


async def test_an_upheld_appeal_is_decided_anew_by_someone_not_in_the_first_decision(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    first = await _decided(session, ready, users, DECIDED_AT)
    appeal = await _file(session, ready, DECIDED_AT, users["candidate"])
    second = await create_user(
        session, username="beslutter2", full_name="Andre Beslutter", password="x" * 12,
        roles={Role.DECISION_MAKER},
    )  # fmt: skip

    async def redecide(
        decider: User,
        outcome: DecisionOutcome = DecisionOutcome.CERTIFIED,
        grounds: str = "The essay meets the criteria.",
    ) -> CertificationDecision:
        return await appeals.redecide(
            session, decider=decider, appeal_id=appeal.id, outcome=outcome, grounds=grounds,
            now=DECIDED_AT, reviews=ToldReviews(), participants=NO_PARTICIPANTS,
            timezone=OSLO,
        )  # fmt: skip

    with pytest.raises(Conflict):  # not upheld yet
        await redecide(second)
    with pytest.raises(Forbidden):
        await appeals.record_outcome(
            session, handler=users["decision_maker"], appeal_id=appeal.id,
            status=AppealStatus.UPHELD, grounds="x", now=DECIDED_AT, regrading=BlindRegrading(),
        )  # fmt: skip
    with pytest.raises(VaktError):
        await appeals.record_outcome(
            session, handler=users["administrator"], appeal_id=appeal.id,
            status=AppealStatus.UPHELD, grounds="  ", now=DECIDED_AT, regrading=BlindRegrading(),
        )  # fmt: skip
    await appeals.record_outcome(
        session, handler=users["administrator"], appeal_id=appeal.id,
        status=AppealStatus.UPHELD, grounds="The marking used the wrong criteria.",
        now=DECIDED_AT, regrading=BlindRegrading(),
    )  # fmt: skip
    with pytest.raises(Conflict):
        await appeals.record_outcome(
            session, handler=users["administrator"], appeal_id=appeal.id,
            status=AppealStatus.REJECTED, grounds="Changed my mind.", now=DECIDED_AT,
            regrading=BlindRegrading(),
        )  # fmt: skip
    with pytest.raises(Forbidden) as refused:
        await redecide(users["decision_maker"])
    assert "made the decision appealed against" in str(refused.value.message)
    with pytest.raises(VaktError):
        await redecide(second, grounds="")
    decision = await redecide(second)
    await session.commit()
    assert decision.decision_round == 2 and decision.replaces_id == first.id
    assert (await decisions.standing_decision(session, ready.passed)) == decision
    assert await session.scalar(
        select(Certificate).where(Certificate.decision_id == decision.id)
    ), "certifying after the appeal issues the certificate"
    with pytest.raises(Conflict):
        await redecide(second)
    kinds = list(
        await session.scalars(
            select(Notification.kind).where(Notification.recipient_id == users["candidate"].id)
        )
    )
    assert "certification.appeal_upheld" in kinds


async def test_a_grader_of_the_attempt_cannot_decide_anew(
    session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    await _decided(session, ready, users, DECIDED_AT)
    appeal = await _file(session, ready, DECIDED_AT, users["candidate"])
    await appeals.record_outcome(
        session, handler=users["administrator"], appeal_id=appeal.id,
        status=AppealStatus.UPHELD, grounds="Upheld.", now=DECIDED_AT, regrading=BlindRegrading(),
    )  # fmt: skip
    grader = users["grader"]
    grader.role_rows.append(UserRole(role=Role.DECISION_MAKER.value))
    await session.commit()
    with pytest.raises(Forbidden) as refused:
        await appeals.redecide(
            session, decider=grader, appeal_id=appeal.id, outcome=DecisionOutcome.CERTIFIED,
            grounds="Fine.", now=DECIDED_AT, reviews=ToldReviews(),
            participants=NO_PARTICIPANTS, timezone=OSLO,
        )  # fmt: skip
    assert "graded" in str(refused.value.message)


# --- over HTTP ---------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DECIDED_AT)


async def test_the_candidate_files_an_appeal_on_my_page_with_bad_input_refused(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User]
) -> None:
    ready = await ready_for_decision(session, users)
    await _decided(session, ready, users, DECIDED_AT)
    await sign_in(client, "candidate")
    my = await client.get("/my", headers=ENGLISH)
    assert f'action="/my/registrations/{ready.passed}/appeal"' in my.text
    assert "You can appeal until and including" in my.text
    token = csrf_from(my.text)
    path = f"/my/registrations/{ready.passed}/appeal"
    form = await client.get(path, headers=ENGLISH)
    assert form.status_code == 200 and "until and including" in form.text
    for grounds, status, words in (
        ("", 422, "at least 10 characters"),
        ("   short ", 422, "at least 10 characters"),
        ("x" * 8001, 422, "at most 8000 characters"),
    ):
        answer = await client.post(
            path, data={"csrf_token": token, "grounds": grounds}, headers=ENGLISH
        )
        assert answer.status_code == status and words in answer.text, grounds[:20]
    surrogate = await client.post(
        path,
        content=f"csrf_token={token}&grounds=%ED%A0%80".encode(),
        headers={**ENGLISH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    # Decoded with replacement characters: never stored as a lone surrogate, a 4xx here.
    assert surrogate.status_code == 422
    for hostile in ("99999999999999999999999", "2147483647", "0"):
        answer = await client.post(
            f"/my/registrations/{hostile}/appeal",
            data={"csrf_token": token, "grounds": GROUNDS},
        )
        assert answer.status_code == 404, hostile
    other = ready.registration_ids[1]
    answer = await client.post(
        f"/my/registrations/{other}/appeal", data={"csrf_token": token, "grounds": GROUNDS}
    )
    assert answer.status_code == 404
    assert await session.scalar(select(func.count()).select_from(Appeal)) == 0
    filed = await client.post(path, data={"csrf_token": token, "grounds": GROUNDS})
    assert filed.status_code == 303
    mine = await client.get(filed.headers["location"], headers={"Accept-Language": "nb"})
    number = f"K-{DECIDED_AT.year}-0001"
    assert mine.status_code == 200 and number in mine.text and GROUNDS in mine.text
    appeal_path = filed.headers["location"].split("?")[0]
    await client.post("/logout", data={"csrf_token": token})

    await sign_in(client, "kandidat1", "x" * 12)
    assert (await client.get(appeal_path)).status_code == 404
    home = await client.get("/")
    await client.post("/logout", data={"csrf_token": csrf_from(home.text)})
    appeal_id = appeal_path.rsplit("/", 1)[1]
    for role in ("grader", "proctor"):
        await sign_in(client, role)
        for staff_path in ("/appeals", f"/appeals/{appeal_id}"):
            assert (await client.get(staff_path)).status_code == 403, (role, staff_path)
        home = await client.get("/")
        await client.post("/logout", data={"csrf_token": csrf_from(home.text)})

    await sign_in(client, "administrator")
    listing = await client.get("/appeals", headers=ENGLISH)
    assert listing.status_code == 200 and number in listing.text
    page = await client.get(f"/appeals/{appeal_id}", headers=ENGLISH)
    assert GROUNDS in page.text
    missing = await client.post(
        f"/appeals/{appeal_id}/status",
        data={"csrf_token": csrf_from(page.text), "status": "bogus", "grounds": "x"},
        headers=ENGLISH,
    )
    assert missing.status_code == 400 and "Choose in review, upheld or rejected" in missing.text
    done = await client.post(
        f"/appeals/{appeal_id}/status",
        data={"csrf_token": csrf_from(page.text), "status": "rejected", "grounds": "No error."},
    )
    assert done.status_code == 303
    home = await client.get("/")
    await client.post("/logout", data={"csrf_token": csrf_from(home.text)})
    await sign_in(client, "candidate")
    inbox = await client.get("/my/inbox", headers=ENGLISH)
    assert f"Your appeal {number} has been rejected" in inbox.text
    mine = await client.get(appeal_path, headers=ENGLISH)
    assert "No error." in mine.text


@pytest.mark.parametrize(
    ("language", "written"), [("nb", "31. oktober 2026"), ("en", "October 31, 2026")]
)
async def test_a_late_appeal_is_refused_with_the_date_in_the_candidates_language(
    client: httpx.AsyncClient,
    session: AsyncSession,
    users: dict[str, User],
    clock: FixedClock,
    language: str,
    written: str,
) -> None:
    ready = await ready_for_decision(session, users)
    await _decided(session, ready, users, datetime(2026, 10, 10, 10, tzinfo=UTC))
    clock.current = datetime(2026, 10, 31, 23, tzinfo=UTC)  # 1 November, 00:00 in Oslo
    await sign_in(client, "candidate")
    my = await client.get("/my", headers={"Accept-Language": language})
    assert f'action="/my/registrations/{ready.passed}/appeal"' not in my.text
    late = await client.post(
        f"/my/registrations/{ready.passed}/appeal",
        data={"csrf_token": csrf_from(my.text), "grounds": GROUNDS},
        headers={"Accept-Language": language},
    )
    assert late.status_code == 409
    [error] = re.findall(r'<p class="ds-alert error-message"[^>]*>([^<]*)</p>', late.text)
    assert written in error and "2026-10-31" not in error
