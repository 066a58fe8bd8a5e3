"""The candidate's pages over HTTP: My page, accommodation requests, the system check, the code
of conduct, the exam page, and one attempt on one computer unless staff allow another."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from exam import declarations
from exam.models import Accommodation, Attempt, AttemptPart, Declaration
from exam.reviews import NO_REVIEWS
from exam.timing import FixedClock
from itembank import versions
from itembank.models import ExamForm, ItemVersion
from itembank.schemas import MultipleResponseQuestion, SingleChoiceQuestion, candidate_view
from itembank.scoring import score_multiple_response, score_single_choice
from itembank.shuffling import option_order
from tests.exam.factories import OPENS, Exam
from tests.web.helpers import accept_rules, csrf, csrf_from, sign_in
from vakt.accounts import User
from vakt.audit import AuditEntry

SECRETS = ('"correct"', '"mapping"', '"guide"', "Hemmelig sensorveiledning")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(OPENS - timedelta(days=10))


@pytest.mark.asyncio
async def test_my_page_and_an_accommodation_request(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await sign_in(client, "candidate")
    page = await client.get("/my", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Desember" in page.text and "Ask for accommodation" in page.text
    url = f"/my/registrations/{exam.registration_id}/accommodation"
    token = csrf_from(page.text)

    bad = await client.post(
        url,
        data={"csrf_token": token, "extra_time_percent": "lots", "reason": "Dysleksi"},
        headers={"Accept-Language": "en"},
    )
    assert bad.status_code == 400
    assert "whole number of percent" in bad.text
    assert "Dysleksi" in bad.text  # what was typed is kept
    no_reason = await client.post(
        url, data={"csrf_token": token, "extra_time_percent": "25", "reason": " "}
    )
    assert no_reason.status_code == 400
    assert "Oppgi grunnen" in no_reason.text or "reason" in no_reason.text

    sent = await client.post(
        url, data={"csrf_token": token, "extra_time_percent": "25", "reason": "Dysleksi"}
    )
    assert sent.status_code == 303
    assert (await client.get(sent.headers["location"])).status_code == 200
    stored = await session.scalar(
        select(Accommodation).where(Accommodation.registration_id == exam.registration_id)
    )
    assert stored is not None and stored.extra_time_percent == 25

    clock.set(OPENS - timedelta(days=6))
    late = await client.post(
        url,
        data={"csrf_token": token, "extra_time_percent": "25", "reason": "Dysleksi"},
        headers={"Accept-Language": "en"},
    )
    assert late.status_code == 409
    assert "at least 7 days before" in late.text

    other_url = f"/my/registrations/{exam.registration_id + 1}/accommodation"
    assert (await client.post(other_url, data={"csrf_token": token})).status_code == 404


async def _through_the_checks(client: httpx.AsyncClient, exam: Exam) -> str:
    base = f"/exam/{exam.registration_id}"
    entry = await client.get(base)
    assert entry.status_code == 303 and entry.headers["location"] == f"{base}/check"
    check = await client.get(f"{base}/check")
    assert check.status_code == 200
    token = csrf_from(check.text)
    reported = await client.post(
        f"{base}/check",
        content=json.dumps({"checks": {"browser": True, "camera": True}}),
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert reported.status_code == 204
    garbage = await client.post(f"{base}/check", content=b"[1,2", headers={"X-CSRF-Token": token})
    assert garbage.status_code == 400

    assert (await client.get(f"{base}/take")).headers["location"] == f"{base}/rules"
    rules = await client.get(f"{base}/rules")
    assert rules.status_code == 200
    unticked = await client.post(
        f"{base}/rules",
        data={"csrf_token": token, "text_version": declarations.TEXT_VERSION, "conduct": "yes"},
        headers={"Accept-Language": "en"},
    )
    assert unticked.status_code == 400 and "Tick both boxes" in unticked.text
    stale = await client.post(
        f"{base}/rules",
        data={"csrf_token": token, "text_version": "1999", "conduct": "yes", "declaration": "yes"},
    )
    assert stale.status_code == 409
    accepted = await client.post(
        f"{base}/rules",
        data={
            "csrf_token": token,
            "text_version": declarations.TEXT_VERSION,
            "conduct": "yes",
            "declaration": "yes",
        },
    )
    assert accepted.status_code == 303
    assert (await client.get(base)).headers["location"] == f"{base}/take"
    return token


@pytest.mark.asyncio
async def test_the_way_into_the_exam_and_the_exam_page(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await sign_in(client, "candidate")
    token = await _through_the_checks(client, exam)
    declaration = await session.scalar(
        select(Declaration).where(Declaration.registration_id == exam.registration_id)
    )
    assert declaration is not None
    assert declaration.text_version == declarations.TEXT_VERSION
    assert len(declaration.text_digest) == 64 and declaration.accepted_at == clock.now()

    base = f"/exam/{exam.registration_id}"
    before = await client.get(f"{base}/take", headers={"Accept-Language": "en"})
    assert before.status_code == 200 and "can be started between" in before.text
    # The browser gets its device cookie before it starts anything.
    assert "vakt_device" in before.headers.get("set-cookie", "")
    too_early = await client.post(f"{base}/start", data={"csrf_token": token})
    assert too_early.status_code == 409

    clock.set(OPENS + timedelta(minutes=2))
    started = await client.post(f"{base}/start", data={"csrf_token": token})
    assert started.status_code == 303, started.text
    page = await client.get(f"{base}/take")
    assert page.status_code == 200
    assert 'id="exam-config"' in page.text and 'role="timer"' in page.text
    config = json.loads(
        re.search(r'id="exam-config">(.*?)</script>', page.text, re.S).group(1)  # type: ignore[union-attr]
    )
    assert config["deadline"].startswith("2026-12-10T09:32")
    for secret in SECRETS:
        assert secret not in page.text, secret

    assert await session.scalar(
        select(AuditEntry.seq).where(AuditEntry.action == "exam.system_check")
    )


def _current_step(html: str) -> list[str]:
    """The keys of the step indicator's steps marked current (there should be exactly one)."""
    steps = re.search(r'<ol id="checkin-steps">(.*?)</ol>', html, re.S)
    assert steps is not None, "no step indicator"
    return re.findall(r'data-step="(\w+)"\s+aria-current="step"', steps.group(1))


def _has_site_navigation(html: str) -> bool:
    header = html.split("</header>")[0]
    return any(
        mark in header
        for mark in ('aria-label="Main menu"', 'action="/logout"', 'href="/my"', 'href="/"')
    )


@pytest.mark.asyncio
async def test_exam_mode_and_the_step_indicator(
    client: httpx.AsyncClient, exam: Exam, clock: FixedClock
) -> None:
    await sign_in(client, "candidate")
    base = f"/exam/{exam.registration_id}"
    en = {"Accept-Language": "en"}
    check = await client.get(f"{base}/check", headers=en)
    assert _current_step(check.text) == ["check"]
    assert "(current)" in check.text and _has_site_navigation(check.text)
    # The sitting is not proctored: no identity step to show.
    assert 'data-step="identity"' not in check.text
    token = await _through_the_checks(client, exam)
    rules = await client.get(f"{base}/rules", headers=en)
    assert _current_step(rules.text) == ["rules"]
    assert re.search(r'data-step="check"\s*>\s*<span class="step-label">[^<]*</span>\s*'
                     r'<span class="step-state">\(done\)', rules.text)  # fmt: skip

    before = await client.get(f"{base}/take", headers=en)
    assert _current_step(before.text) == ["exam"]
    # Between parts the candidate may leave: the site's navigation is there.
    assert _has_site_navigation(before.text) and "Exam in progress" not in before.text

    clock.set(OPENS + timedelta(minutes=2))
    assert (await client.post(f"{base}/start", data={"csrf_token": token})).status_code == 303
    running = await client.get(f"{base}/take", headers=en)
    assert running.status_code == 200 and 'role="timer"' in running.text
    assert _current_step(running.text) == ["exam"]
    assert not _has_site_navigation(running.text)
    assert "Sign out" not in running.text and "My page" not in running.text
    assert 'id="language-select"' in running.text and "Exam in progress" in running.text
    assert 'id="fullscreen"' in running.text
    # The language switch leads back into the running part, in the chosen language.
    switched = await client.post(
        "/language", data={"csrf_token": token, "language": "nb", "next": f"{base}/take"}
    )
    assert switched.status_code == 303 and switched.headers["location"] == f"{base}/take"
    again = await client.get(f"{base}/take")
    assert '<html lang="nb">' in again.text and not _has_site_navigation(again.text)
    # Other pages keep the navigation while the part runs.
    assert _has_site_navigation((await client.get("/my", headers=en)).text)


@pytest.mark.asyncio
async def test_another_computer_only_after_staff_allow_it(
    app: Starlette, exam: Exam, clock: FixedClock
) -> None:
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50001))

        def browser() -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=transport, base_url="http://testserver")

        async with browser() as desktop, browser() as laptop, browser() as staff:
            await sign_in(desktop, "candidate")
            token = await _through_the_checks(desktop, exam)
            clock.set(OPENS + timedelta(minutes=2))
            start = f"/exam/{exam.registration_id}/start"
            assert (await desktop.post(start, data={"csrf_token": token})).status_code == 303

            await sign_in(laptop, "candidate")
            refused = await laptop.get(
                f"/exam/{exam.registration_id}/take", headers={"Accept-Language": "en"}
            )
            assert refused.status_code == 403
            assert "open on another computer" in refused.text

            await sign_in(staff, "administrator")
            sitting_page = await staff.get(f"/staff/sittings/{exam.sitting_id}")
            attempt_id = re.search(r"/staff/attempts/(\d+)/resume", sitting_page.text).group(1)  # type: ignore[union-attr]
            resume = f"/staff/attempts/{attempt_id}/resume"
            token = csrf_from(sitting_page.text)
            no_reason = await staff.post(resume, data={"csrf_token": token, "reason": ""})
            assert no_reason.status_code == 400
            allowed = await staff.post(resume, data={"csrf_token": token, "reason": "PC krasj"})
            assert allowed.status_code == 303

            taken_over = await laptop.get(f"/exam/{exam.registration_id}/take")
            assert taken_over.status_code == 200
            # The permission is used up: now the first computer is the other one.
            assert (await desktop.get(f"/exam/{exam.registration_id}/take")).status_code == 403
            assert (await desktop.get(f"/api/attempts/{attempt_id}")).status_code == 403
            config = json.loads(
                re.search(r'id="exam-config">(.*?)</script>', taken_over.text, re.S).group(1)  # type: ignore[union-attr]
            )
            state = (await laptop.get(f"/api/attempts/{attempt_id}")).json()
            item = next(i for i in state["items"] if i["questions"][0]["type"] == "single_choice")
            question = item["questions"][0]
            url = f"/api/parts/{config['part']}/answers/{item['item_version_id']}/{question['id']}"
            body = {"sequence": 1, "value": question["choices"][0]["id"]}
            from_desktop = await desktop.put(
                url,
                json=body,
                headers={"X-CSRF-Token": await csrf(desktop, "/my"), "Accept-Language": "en"},
            )
            assert from_desktop.status_code == 403
            assert "open on another computer" in from_desktop.json()["error"]["message"]
            from_laptop = await laptop.put(url, json=body, headers={"X-CSRF-Token": config["csrf"]})
            assert from_laptop.status_code == 200


@pytest.mark.asyncio
async def test_other_roles_and_other_candidates_are_kept_out(
    app: Starlette, exam: Exam, users: dict[str, User]
) -> None:
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50002))
        for username in ("grader", "proctor", "item_writer"):
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                await sign_in(http, username)
                assert (await http.get("/my")).status_code == 403
                assert (await http.get(f"/exam/{exam.registration_id}/take")).status_code == 403
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as other:
            await sign_in(other, "kandidat2", "x" * 12)
            for path in ("", "/check", "/rules", "/take"):
                response = await other.get(f"/exam/{exam.registration_id}{path}")
                assert response.status_code == 404, path
            token = await csrf(other, "/my")
            started = await other.post(
                f"/exam/{exam.registration_id}/start", data={"csrf_token": token}
            )
            assert started.status_code == 404


@pytest.mark.asyncio
async def test_the_attempt_is_bound_after_start(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await sign_in(client, "candidate")
    token = await _through_the_checks(client, exam)
    clock.set(OPENS + timedelta(minutes=2))
    await client.post(f"/exam/{exam.registration_id}/start", data={"csrf_token": token})
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == exam.registration_id)
    )
    assert attempt is not None and attempt.device_digest is not None
    assert len(attempt.device_digest) == 64


@pytest.mark.asyncio
async def test_an_answer_cannot_break_out_of_the_page_script(
    client: httpx.AsyncClient, exam: Exam, clock: FixedClock
) -> None:
    await sign_in(client, "candidate")
    token = await _through_the_checks(client, exam)
    clock.set(OPENS + timedelta(minutes=2))
    base = f"/exam/{exam.registration_id}"
    await client.post(f"{base}/start", data={"csrf_token": token})
    headers = {"X-CSRF-Token": token}
    page = await client.get(f"{base}/take")
    config = json.loads(
        re.search(r'id="exam-config">(.*?)</script>', page.text, re.S).group(1)  # type: ignore[union-attr]
    )
    assert (await client.post(f"/api/parts/{config['part']}/submit", headers=headers)).is_success
    clock.advance(timedelta(minutes=11))  # after the break
    await client.post(f"{base}/start", data={"csrf_token": token})
    state = (await client.get(f"/api/attempts/{config['attempt']}")).json()
    essay = state["items"][0]
    hostile = "</script><script>alert(1)</script> & <b>"
    saved = await client.put(
        f"/api/parts/{state['parts'][1]['id']}/answers/{essay['item_version_id']}/"
        f"{essay['questions'][0]['id']}",
        json={"sequence": 1, "value": hostile},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    page = await client.get(f"{base}/take")
    assert "<script>alert(1)" not in page.text
    config = json.loads(
        re.search(r'id="exam-config">(.*?)</script>', page.text, re.S).group(1)  # type: ignore[union-attr]
    )
    assert [a["value"] for a in config["answers"].values()] == [hostile]


@pytest.mark.asyncio
async def test_during_the_break_start_waits_and_every_time_is_local(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await sign_in(client, "candidate")
    token = await _through_the_checks(client, exam)
    clock.set(OPENS + timedelta(minutes=2))  # 09:02 UTC is 10:02 in Oslo in December
    base = f"/exam/{exam.registration_id}"
    await client.post(f"{base}/start", data={"csrf_token": token})
    page = await client.get(f"{base}/take")
    config = json.loads(
        re.search(r'id="exam-config">(.*?)</script>', page.text, re.S).group(1)  # type: ignore[union-attr]
    )
    await client.post(f"/api/parts/{config['part']}/submit", headers={"X-CSRF-Token": token})

    english = {"Accept-Language": "en"}
    between = await client.get(f"{base}/take", headers=english)
    button = re.search(r'<button type="submit"[^>]*id="start-part"[^>]*>', between.text)
    assert button is not None and "disabled" in button.group(0)
    assert "Break until 10:12:00" in between.text
    # The button itself says when it opens, in Oslo time.
    label = re.search(r'id="start-part"[^>]*>(.*?)</button>', between.text, re.S)
    assert label is not None and "(opens at 10:12:00)" in label.group(1)
    assert '<p id="part-position" class="part-position">Part 2 of 2</p>' in between.text
    refused = await client.post(f"{base}/start", data={"csrf_token": token}, headers=english)
    assert refused.status_code == 409
    assert "The break lasts until 10:12:00" in refused.text and "UTC" not in refused.text

    clock.advance(timedelta(minutes=10))
    after = await client.get(f"{base}/take", headers=english)
    button = re.search(r'<button type="submit"[^>]*id="start-part"[^>]*>', after.text)
    assert button is not None and "disabled" not in button.group(0)
    assert "opens at" not in after.text


@pytest.mark.asyncio
async def test_the_result_is_told_in_the_readers_language(
    client: httpx.AsyncClient,
    exam: Exam,
    session: AsyncSession,
    clock: FixedClock,
    users: dict[str, User],
) -> None:
    from exam import handin, results

    await sign_in(client, "candidate")
    token = await _through_the_checks(client, exam)
    clock.set(OPENS + timedelta(minutes=2))
    base = f"/exam/{exam.registration_id}"
    await client.post(f"{base}/start", data={"csrf_token": token})
    clock.advance(timedelta(hours=2))
    assert await handin.submit_overdue_parts(session, now=clock.now()) == 1
    await session.commit()
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == exam.registration_id)
    )
    assert attempt is not None
    part = await session.scalar(select(AttemptPart).where(AttemptPart.attempt_id == attempt.id))
    assert part is not None
    attempt.status = "finished"  # the second part was never started; the attempt is over
    await results.record_computed_result(
        session, attempt_part_id=part.id, score=0.0, max_score=4.0, now=clock.now()
    )
    await results.release_results(
        session,
        attempt_id=attempt.id,
        actor=users["decision_maker"],
        now=clock.now(),
        reviews=NO_REVIEWS,
    )
    await session.commit()
    english = await client.get("/my", headers={"Accept-Language": "en"})
    assert "Not passed" in english.text and "Ikke bestått" not in english.text
    norwegian = await client.get("/my", headers={"Accept-Language": "nb"})
    assert "Ikke bestått" in norwegian.text


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect/></svg>'


@pytest.mark.asyncio
async def test_an_items_files_in_the_exam_are_sandboxed_as_in_the_bank(
    client: httpx.AsyncClient, session: AsyncSession, users: dict[str, User], clock: FixedClock
) -> None:
    """An SVG may hold script: served to a candidate it gets the same sandbox as in the bank."""
    from itembank import blueprints, files, schemes
    from tests.exam.factories import approved_item, set_proctoring, sitting_with_candidate
    from tests.itembank.factories import single_choice

    scheme = await schemes.create_scheme(session, code="SVG", name="Figurer", actor_id=None)
    await set_proctoring(session, scheme.id, None)
    document = single_choice("FIG-1", attachments=["figur.svg"])
    version = await approved_item(
        session, users, scheme.id, document, [files.FileUpload("figur.svg", SVG)]
    )
    blueprint = await blueprints.create_blueprint(
        session, scheme_id=scheme.id, code="F", name="Figur", language="nb", actor_id=None,
        definition=blueprints.parse_blueprint({"parts": [
            {"key": "mc", "title": "Flervalg", "kind": "multiple_choice", "duration_minutes": 10,
             "rules": [{"count": 1}]}]}),
    )  # fmt: skip
    _sitting, registration = await sitting_with_candidate(
        session, users, blueprint_id=blueprint.id, scheme_id=scheme.id, name="Figur",
        opens=OPENS, hours=2,
    )  # fmt: skip
    await session.commit()

    await sign_in(client, "candidate")
    await accept_rules(client, registration.id)
    clock.set(OPENS + timedelta(minutes=1))
    token = await csrf(client, "/my")
    assert (
        await client.post(f"/exam/{registration.id}/start", data={"csrf_token": token})
    ).status_code == 303
    served = await client.get(f"/exam/{registration.id}/files/{version.id}/figur.svg")
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/svg")
    assert "sandbox" in served.headers["content-security-policy"]


CHOICE_INPUT = re.compile(
    r'<input type="(?:radio|checkbox)" name="q(\d+)-([^"]+)" id="[^"]+" value="([^"]+)">'
)


def _page_orders(html: str) -> dict[tuple[int, str], list[str]]:
    orders: dict[tuple[int, str], list[str]] = {}
    for version_id, question_id, choice_id in CHOICE_INPUT.findall(html):
        orders.setdefault((int(version_id), question_id), []).append(choice_id)
    return orders


@pytest.mark.asyncio
async def test_options_are_shown_in_the_forms_own_order_and_scored_by_id(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await sign_in(client, "candidate")
    token = await _through_the_checks(client, exam)
    clock.set(OPENS + timedelta(minutes=2))
    base = f"/exam/{exam.registration_id}"
    assert (await client.post(f"{base}/start", data={"csrf_token": token})).status_code == 303
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == exam.registration_id)
    )
    assert attempt is not None
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None

    page = await client.get(f"{base}/take")
    shown = _page_orders(page.text)
    state = (await client.get(f"/api/attempts/{attempt.id}")).json()
    sent = {
        (item["item_version_id"], question["id"]): [choice["id"] for choice in question["choices"]]
        for item in state["items"]
        for question in item["questions"]
        if question["choices"]
    }
    assert shown == sent and len(sent) == 3  # two single choice, one multiple response
    documents = {}
    for version_id, question_id in sent:
        document = versions.document_of(await versions.get_version(session, version_id))
        documents[version_id] = document
        question = document.questions[0]
        assert isinstance(question, SingleChoiceQuestion | MultipleResponseQuestion)
        bank_order = [choice.id for choice in question.choices]
        expected = option_order(
            candidate_view(document).questions[0].choices,
            form_seed=form.seed,
            version_id=version_id,
            question_id=question_id,
        )
        assert sent[(version_id, question_id)] == [choice.id for choice in expected]
        assert sorted(sent[(version_id, question_id)]) == sorted(bank_order)
    assert _page_orders((await client.get(f"{base}/take")).text) == shown  # a reload: the same

    # Answers are option ids: the score does not depend on where an option was shown.
    headers = {"X-CSRF-Token": token}
    expected_score = 0.0
    for (version_id, question_id), order in sent.items():
        question = documents[version_id].questions[0]
        value: str | list[str]
        if isinstance(question, SingleChoiceQuestion):
            value = question.correct
            expected_score += score_single_choice(question, value)
        else:
            assert isinstance(question, MultipleResponseQuestion)
            value = [order[0], order[-1]]
            expected_score += score_multiple_response(question, value)
        saved = await client.put(
            f"/api/parts/{state['parts'][0]['id']}/answers/{version_id}/{question_id}",
            json={"sequence": 1, "value": value},
            headers=headers,
        )
        assert saved.status_code == 200, saved.text
    handed_in = await client.post(f"/api/parts/{state['parts'][0]['id']}/submit", headers=headers)
    assert handed_in.status_code == 200
    part = await session.scalar(select(AttemptPart).where(AttemptPart.attempt_id == attempt.id))
    assert part is not None and part.auto_score == pytest.approx(expected_score)


@pytest.mark.asyncio
async def test_an_item_stored_by_an_older_release_does_not_break_a_running_exam(
    client: httpx.AsyncClient, exam: Exam, session: AsyncSession, clock: FixedClock
) -> None:
    await sign_in(client, "candidate")
    token = await _through_the_checks(client, exam)
    clock.set(OPENS + timedelta(minutes=2))
    base = f"/exam/{exam.registration_id}"
    assert (await client.post(f"{base}/start", data={"csrf_token": token})).status_code == 303
    attempt = await session.scalar(
        select(Attempt).where(Attempt.registration_id == exam.registration_id)
    )
    assert attempt is not None
    form = await session.get(ExamForm, attempt.form_id)
    assert form is not None
    first = next(row for row in form.items if row.part_index == 0)
    # An option that an older release cleaned to nothing ("<video src=a.mp4>") and stored as "".
    version = await versions.get_version(session, first.item_version_id)
    document = json.loads(json.dumps(version.document))
    document["questions"][0]["choices"][0]["html"] = ""
    await session.execute(
        update(ItemVersion).where(ItemVersion.id == version.id).values(document=document)
    )
    await session.commit()
    page = await client.get(f"{base}/take")
    assert page.status_code == 200
    state = await client.get(f"/api/attempts/{attempt.id}")
    assert state.status_code == 200
    shown = next(i for i in state.json()["items"] if i["item_version_id"] == version.id)
    assert "" in [choice["html"] for choice in shown["questions"][0]["choices"]]
