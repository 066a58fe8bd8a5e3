"""The proctors' review pages over HTTP: the queue (order, filters, claiming), an attempt's review
(timeline, recordings, identity), every decision through its form (errors at the field with the
values kept), the four eyes on cheating, the candidate's My page and the decision maker's page
showing the outcome, the paused clock in the exam API, and every wrong role and hostile input
refused."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptStatus
from exam.timing import FixedClock
from proctoring.models import FlagType, Recording, RecordingChunk
from proctoring.storage import MediaStore
from tests.exam.factories import OPENS, Exam
from tests.proctoring.reviewing import (
    Flagged,
    flagged_attempt,
    proctors,
    registration_of,
    second_sitting,
)
from tests.web.helpers import csrf_from, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import MAX_ROW_ID
from vakt.settings import Settings

ENGLISH = {"Accept-Language": "en"}
NOW = OPENS + timedelta(minutes=10)
GROUNDS = "Kandidaten leste fra en lapp under hele del 1."


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def _actions(session: AsyncSession) -> list[str]:
    session.expire_all()
    return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


async def _world(session: AsyncSession, exam: Exam) -> tuple[Flagged, Flagged, Flagged]:
    """Three flagged attempts: low (first candidate), high (second), medium (another sitting)."""
    low = await flagged_attempt(
        session, exam.registration_id, exam.candidate,
        [(FlagType.WINDOW_UNFOCUSED, OPENS + timedelta(minutes=1))],
    )  # fmt: skip
    high = await flagged_attempt(
        session, await registration_of(session, exam.other), exam.other,
        [(FlagType.SPEECH, OPENS + timedelta(minutes=2)),
         (FlagType.MULTIPLE_FACES, OPENS + timedelta(minutes=5))],
    )  # fmt: skip
    _sitting, registration_id, third = await second_sitting(session, exam)
    medium = await flagged_attempt(
        session, registration_id, third, [(FlagType.PASTE, OPENS + timedelta(minutes=3))]
    )
    return low, high, medium


def _queue_order(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="queue-row" data-attempt="(\d+)"', html)]


async def _post(
    client: httpx.AsyncClient, path: str, data: dict[str, object], *, page: str
) -> httpx.Response:
    token = csrf_from((await client.get(page, headers=ENGLISH)).text)
    return await client.post(path, data={**data, "csrf_token": token}, headers=ENGLISH)


def _attempt(flagged: Flagged) -> str:
    return f"/proctor/review/attempts/{flagged.attempt_id}"


@pytest.mark.asyncio
async def test_queue_orders_filters_and_claims(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    low, high, medium = await _world(session, exam)
    await sign_in(client, "proctor")
    page = await client.get("/proctor/review", headers=ENGLISH)
    assert page.status_code == 200
    assert _queue_order(page.text) == [high.attempt_id, medium.attempt_id, low.attempt_id]
    assert exam.other.full_name in page.text and "high" in page.text

    filtered = await client.get(
        "/proctor/review", params={"flag_type": "window_unfocused"}, headers=ENGLISH
    )
    assert _queue_order(filtered.text) == [low.attempt_id]
    by_sitting = await client.get(
        "/proctor/review", params={"sitting": str(exam.sitting_id)}, headers=ENGLISH
    )
    assert _queue_order(by_sitting.text) == [high.attempt_id, low.attempt_id]
    for params in (
        {"sitting": "1e400"},
        {"scheme": str(10**400)},
        {"flag_type": "nonsense"},
        {"state": "%ED%A0%80"},
    ):
        query = "&".join(f"{name}={value}" for name, value in params.items())
        bad = await client.get(f"/proctor/review?{query}", headers=ENGLISH)
        assert bad.status_code == 400, params

    claimed = await _post(client, f"{_attempt(high)}/claim", {}, page="/proctor/review")
    assert claimed.status_code == 303
    assert claimed.headers["location"].startswith(_attempt(high))
    now_claimed = await client.get("/proctor/review", params={"state": "claimed"}, headers=ENGLISH)
    assert _queue_order(now_claimed.text) == [high.attempt_id]
    assert users["proctor"].full_name in now_claimed.text
    assert "proctoring.review_claimed" in await _actions(session)


@pytest.mark.asyncio
async def test_decisions_through_the_attempt_page(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam
) -> None:
    low, high, _medium = await _world(session, exam)
    await sign_in(client, "proctor")
    page = _attempt(high)
    shown = await client.get(page, headers=ENGLISH)
    assert shown.status_code == 200
    assert "Timeline" in shown.text and "Sustained speech" in shown.text
    # Without a claim there is nothing to decide with.
    refused = await _post(
        client, f"{page}/flags/{high.flags[0]}", {"decision": "confirmed"}, page=page
    )
    assert refused.status_code == 409 and "Claim the attempt" in refused.text
    await _post(client, f"{page}/claim", {}, page=page)

    # Dismissing needs a reason: the error sits at the field, what was chosen is kept.
    missing = await _post(
        client, f"{page}/flags/{high.flags[0]}", {"decision": "dismissed", "reason": "  "},
        page=page,
    )  # fmt: skip
    assert missing.status_code == 400
    assert f'id="flag-{high.flags[0]}-error"' in missing.text
    assert 'aria-invalid="true"' in missing.text
    for data in (
        {"decision": "maybe"},
        {"decision": "dismissed", "reason": "nul\x00byte"},
        {"decision": "dismissed", "reason": "x" * 4001},
    ):
        bad = await _post(client, f"{page}/flags/{high.flags[0]}", data, page=page)
        assert bad.status_code == 400, data
    # An encoded lone surrogate never reaches the service as one (the form is decoded with
    # replacement characters): no error page, nothing unstorable.
    token = csrf_from((await client.get(page, headers=ENGLISH)).text)
    surrogate = await client.post(
        f"{page}/message",
        content=f"text=%ED%A0%80&csrf_token={token}".encode(),
        headers={**ENGLISH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert surrogate.status_code in (303, 400)
    # Another attempt's flag, an id no row has, an id too large: not found on this page.
    for flag_id in (low.flags[0], MAX_ROW_ID, 10**30):
        stranger = await _post(
            client, f"{page}/flags/{flag_id}", {"decision": "confirmed"}, page=page
        )
        assert stranger.status_code == 404, flag_id

    dismissed = await _post(
        client, f"{page}/flags/{high.flags[0]}",
        {"decision": "dismissed", "reason": "Leste spørsmålet høyt"}, page=page,
    )  # fmt: skip
    assert dismissed.status_code == 303
    confirmed = await _post(
        client, f"{page}/flags/{high.flags[1]}", {"decision": "confirmed"}, page=page
    )
    assert confirmed.status_code == 303
    again = await _post(
        client, f"{page}/flags/{high.flags[1]}", {"decision": "dismissed", "reason": "r"},
        page=page,
    )  # fmt: skip
    assert again.status_code == 409
    shown = await client.get(page, headers=ENGLISH)
    assert "Leste spørsmålet høyt" in shown.text

    # The evidence must be this attempt's confirmed flags.
    for evidence in ([str(low.flags[0])], [str(high.flags[0])], ["1e400"], []):
        bad = await _post(
            client, f"{page}/propose", {"grounds": GROUNDS, "evidence": evidence}, page=page
        )
        assert bad.status_code == 400, evidence
        assert GROUNDS in bad.text  # the grounds typed are kept
    cleared = await _post(client, f"{page}/clear", {}, page=page)
    assert cleared.status_code == 303
    shown = await client.get(page, headers=ENGLISH)
    assert "Cleared by" in shown.text

    # Identity: not confirmed needs grounds; a decision is shown.
    no_grounds = await _post(client, f"{page}/identity", {"identity": "not_confirmed"}, page=page)
    assert no_grounds.status_code == 400 and 'id="identity-error"' in no_grounds.text
    bad_choice = await _post(client, f"{page}/identity", {"identity": "perhaps"}, page=page)
    assert bad_choice.status_code == 400
    decided = await _post(
        client, f"{page}/identity", {"identity": "not_confirmed", "grounds": "Annen person"},
        page=page,
    )  # fmt: skip
    assert decided.status_code == 303
    assert "Annen person" in (await client.get(page, headers=ENGLISH)).text

    sent = await _post(client, f"{page}/message", {"text": "Snu kameraet mot deg"}, page=page)
    assert sent.status_code == 303
    empty = await _post(client, f"{page}/message", {"text": ""}, page=page)
    assert empty.status_code == 400

    actions = await _actions(session)
    for action in (
        "proctoring.flag_decided",
        "proctoring.attempt_cleared",
        "proctoring.identity_decided",
        "proctoring.message_sent",
    ):
        assert action in actions


@pytest.mark.asyncio
async def test_four_eyes_through_the_pages_and_the_candidate_told(
    app: object, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    from tests.web.helpers import browsers

    low, _high, _medium = await _world(session, exam)
    (second,) = await proctors(session, 1)
    page = _attempt(low)
    async with browsers(app, "10.0.0.1", "10.0.0.2", "10.0.0.3") as (first, other, candidate):  # type: ignore[arg-type]
        await sign_in(first, "proctor")
        await sign_in(other, second.username, "x" * 12)
        await sign_in(candidate, "candidate")
        await _post(first, f"{page}/claim", {}, page=page)
        await _post(first, f"{page}/flags/{low.flags[0]}", {"decision": "confirmed"}, page=page)
        proposed = await _post(
            first, f"{page}/propose", {"grounds": GROUNDS, "evidence": [str(low.flags[0])]},
            page=page,
        )  # fmt: skip
        assert proposed.status_code == 303
        # The proposer cannot confirm their own proposal: refused, and told why.
        own = await _post(first, f"{page}/confirm", {}, page=page)
        assert own.status_code == 403 and "another proctor must confirm" in own.text
        rejected = await _post(other, f"{page}/reject", {"grounds": ""}, page=page)
        assert rejected.status_code == 400 and 'id="four-eyes-error"' in rejected.text
        confirmed = await _post(other, f"{page}/confirm", {}, page=page)
        assert confirmed.status_code == 303

        attempt = await session.get(Attempt, low.attempt_id, populate_existing=True)
        assert attempt is not None and attempt.status == AttemptStatus.TERMINATED
        my = await candidate.get("/my", headers=ENGLISH)
        assert "Not passed" in my.text and GROUNDS in my.text
    actions = await _actions(session)
    assert "proctoring.cheating_proposed" in actions
    assert "proctoring.cheating_confirmed" in actions


@pytest.mark.asyncio
async def test_pause_and_resume_through_the_page_and_the_exam_api(
    app: object, session: AsyncSession, exam: Exam
) -> None:
    from tests.web.helpers import browsers

    low, _high, _medium = await _world(session, exam)
    page = _attempt(low)
    async with browsers(app, "10.0.0.1", "10.0.0.2") as (proctor, candidate):  # type: ignore[arg-type]
        await sign_in(proctor, "proctor")
        await sign_in(candidate, "candidate")
        pause = f"{page}/parts/{low.part_id}/pause"
        no_grounds = await _post(proctor, pause, {"grounds": ""}, page=page)
        assert no_grounds.status_code == 400
        assert f'id="pause-{low.part_id}-error"' in no_grounds.text
        paused = await _post(proctor, pause, {"grounds": "Kameraet falt ned"}, page=page)
        assert paused.status_code == 303
        state = (await candidate.get(f"/api/attempts/{low.attempt_id}")).json()
        running = next(p for p in state["parts"] if p["id"] == low.part_id)
        assert running["paused"] is True and running["seconds_left"] > 0
        clock = (await candidate.get(f"/api/parts/{low.part_id}/clock")).json()
        assert clock["paused"] is True and clock["seconds_left"] == running["seconds_left"]
        resumed = await _post(proctor, f"{page}/parts/{low.part_id}/resume", {}, page=page)
        assert resumed.status_code == 303
        state = (await candidate.get(f"/api/attempts/{low.attempt_id}")).json()
        running = next(p for p in state["parts"] if p["id"] == low.part_id)
        assert running["paused"] is False
        # Another attempt's part is not this page's.
        other = await _post(proctor, f"{_attempt(_high)}/parts/{low.part_id}/pause",
                            {"grounds": "x"}, page=page)  # fmt: skip
        assert other.status_code == 404
    actions = await _actions(session)
    assert "attempt.part_paused" in actions and "attempt.part_resumed" in actions


@pytest.mark.asyncio
async def test_recording_played_from_a_flag_with_range_and_gaps(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, settings: Settings
) -> None:
    low, _high, _medium = await _world(session, exam)
    recording = Recording(
        attempt_part_id=low.part_id, storage_key=MediaStore.new_key(), started_at=OPENS,
        chunk_count=2, total_bytes=8, last_index=2,
    )  # fmt: skip
    session.add(recording)
    await session.flush()
    store = MediaStore(settings.data_dir / "media")
    # The first piece begins a WebM file (with its magic number), as a recorder's first does.
    for index, data in {0: b"\x1a\x45\xdf\xa3", 2: b"efgh"}.items():
        digest = hashlib.sha256(data).hexdigest()
        store.write_chunk(recording.storage_key, index, digest, data)
        session.add(
            RecordingChunk(
                recording_id=recording.id,
                index=index,
                size=len(data),
                sha256=digest,
                received_at=OPENS,
            )
        )
    await session.commit()
    await sign_in(client, "proctor")
    page = await client.get(_attempt(low), headers=ENGLISH)
    # The flag began a minute after the recording: that is where "play from here" starts.
    assert f"?recording={recording.id}&amp;at=60" in page.text
    assert "piece 2 is missing" in page.text
    # The recording's stretches: piece 2 (5–10 s of five-second pieces) is a gap.
    stretches = re.findall(r'<li class="(\w+)" data-from="(\d+)" data-until="(\d+)"', page.text)
    assert stretches == [("recorded", "0", "5"), ("gap", "5", "10"), ("recorded", "10", "15")]
    played = await client.get(
        _attempt(low), params={"recording": recording.id, "at": 60}, headers=ENGLISH
    )
    assert f'src="/proctor/recordings/{recording.id}#t=60"' in played.text
    ranged = await client.get(f"/proctor/recordings/{recording.id}", headers={"Range": "bytes=2-5"})
    assert ranged.status_code == 206 and ranged.content == b"\xdf\xa3ef"
    assert ranged.headers["content-range"] == "bytes 2-5/8"
    assert "last-modified" not in ranged.headers


@pytest.mark.asyncio
async def test_wrong_roles_missing_csrf_and_unknown_ids_refused(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam
) -> None:
    low, _high, _medium = await _world(session, exam)
    page = _attempt(low)
    reads = [
        "/proctor",
        "/proctor/review",
        page,
        f"/proctor/registrations/{low.registration_id}",
        "/proctor/recordings/1",
        "/proctor/snapshots/1",
        "/proctor/identity/1/live",
    ]
    posts = [
        f"{page}/{action}"
        for action in ("claim", "release", "clear", "propose", "confirm", "reject", "identity")
    ] + [f"{page}/flags/{low.flags[0]}", f"{page}/parts/{low.part_id}/pause", f"{page}/message"]
    for username in ("grader", "candidate"):
        await sign_in(client, username)
        token = csrf_from((await client.get("/account", headers=ENGLISH)).text)
        for path in reads:
            assert (await client.get(path)).status_code == 403, (username, path)
        for path in posts:
            answer = await client.post(path, data={"csrf_token": token, "grounds": "x"})
            assert answer.status_code == 403, (username, path)
        await client.post("/logout", data={"csrf_token": token})

    await sign_in(client, "proctor")
    for path in ("/grading", "/results", f"/results/attempts/{low.attempt_id}"):
        assert (await client.get(path)).status_code == 403, path
    for path in ("/api/grading/queue", "/api/grading/scripts/ABCDEFGH"):
        assert (await client.get(path)).status_code == 403, path
    assert (await client.get(f"/api/attempts/{low.attempt_id}")).status_code in (403, 404)

    # Unknown and impossible attempt ids are not found; a form without its token is refused.
    for attempt_id in (MAX_ROW_ID, 10**30):
        assert (await client.get(f"/proctor/review/attempts/{attempt_id}")).status_code == 404
    no_token = await client.post(f"{page}/claim", data={})
    assert no_token.status_code == 403
    assert "proctoring.review_claimed" not in await _actions(session)


@pytest.mark.asyncio
async def test_decision_maker_sees_the_review_outcome(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    from proctoring.models import FlagDecision
    from proctoring.review import decide_flag, decide_identity, propose_cheating
    from proctoring.review_claims import claim_review
    from tests.proctoring.reviewing import change_policy

    low, high, _medium = await _world(session, exam)
    proctor = users["proctor"]
    await change_policy(session, exam, cheating_four_eyes=False)
    await claim_review(session, attempt_id=low.attempt_id, proctor=proctor, now=NOW)
    await decide_flag(
        session, flag_id=low.flags[0], decision=FlagDecision.CONFIRMED, reason="",
        proctor=proctor, now=NOW,
    )  # fmt: skip
    await propose_cheating(
        session, attempt_id=low.attempt_id, grounds=GROUNDS, evidence=[low.flags[0]],
        proctor=proctor, now=NOW,
    )  # fmt: skip
    await decide_identity(
        session, registration_id=high.registration_id, confirmed=False,
        grounds="Ikke samme person som på profilbildet", proctor=proctor, now=NOW,
    )  # fmt: skip
    await session.commit()
    await sign_in(client, "decision_maker")
    ended = await client.get(f"/results/attempts/{low.attempt_id}", headers=ENGLISH)
    assert ended.status_code == 200
    assert "Cheating confirmed" in ended.text and GROUNDS in ended.text
    held = await client.get(f"/results/attempts/{high.attempt_id}", headers=ENGLISH)
    assert "Not confirmed" in held.text and "Ikke samme person" in held.text
    assert "2 flags not decided" in held.text


@pytest.mark.asyncio
async def test_an_administrator_confirms_a_proposal_without_the_media(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, users: dict[str, User]
) -> None:
    from proctoring.models import FlagDecision
    from proctoring.review import decide_flag, propose_cheating
    from proctoring.review_claims import claim_review

    low, _high, _medium = await _world(session, exam)
    proctor = users["proctor"]
    await claim_review(session, attempt_id=low.attempt_id, proctor=proctor, now=NOW)
    await decide_flag(
        session, flag_id=low.flags[0], decision=FlagDecision.CONFIRMED, reason="",
        proctor=proctor, now=NOW,
    )  # fmt: skip
    await propose_cheating(
        session, attempt_id=low.attempt_id, grounds=GROUNDS, evidence=[low.flags[0]],
        proctor=proctor, now=NOW,
    )  # fmt: skip
    await session.commit()
    await sign_in(client, "administrator")
    queue = await client.get("/proctor/review", params={"state": "four_eyes"}, headers=ENGLISH)
    assert _queue_order(queue.text) == [low.attempt_id]
    assert 'href="/proctor/review" aria-current="page"' in queue.text
    page = _attempt(low)
    shown = await client.get(page, headers=ENGLISH)
    assert shown.status_code == 200 and GROUNDS in shown.text
    assert "/proctor/identity/" not in shown.text and "/proctor/recordings/" not in shown.text
    # Claiming and deciding flags is the proctors' work.
    assert (await _post(client, f"{page}/claim", {}, page=page)).status_code == 403
    confirmed = await _post(client, f"{page}/confirm", {}, page=page)
    assert confirmed.status_code == 303
    attempt = await session.get(Attempt, low.attempt_id, populate_existing=True)
    assert attempt is not None and attempt.status == AttemptStatus.TERMINATED
