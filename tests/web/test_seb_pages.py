"""Safe Exam Browser over HTTP: for a scheme that requires SEB, the exam page and every JSON
entrance of the exam (start, state, part, save, hand in, clock, proctors' messages, browser
events, live channel) let a request through only with SEB's headers for that very URL; the page
explains how to start SEB, the API answers 403. The .seb download, and the settings page.

Safe Exam Browser itself cannot run here: the X-SafeExamBrowser-ConfigKeyHash and
X-SafeExamBrowser-RequestHash headers are computed as SEB computes them (SHA-256 of the absolute
URL followed by the Config Key, or the Browser Exam Key), the Config Key from the .seb file the
candidate downloads.
"""

from __future__ import annotations

import plistlib
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import seb
from exam.models import SebSettings
from tests.exam.factories import Exam
from tests.grading.factories import scheme_of
from tests.web.helpers import accept_rules, csrf, csrf_from, sign_in
from vakt.audit import AuditEntry
from vakt.settings import Settings

ENGLISH = {"Accept-Language": "en"}
BEK = "b" * 64


async def _require_seb(session: AsyncSession, exam: Exam, **changes: object) -> seb.SebPolicy:
    values: dict[str, object] = {"required": True, "start_url": "http://127.0.0.1:8000/my"}
    values |= changes
    policy = seb.SebPolicy(**values)  # type: ignore[arg-type]
    session.add(SebSettings(scheme_id=await scheme_of(session, exam), settings=policy.as_json()))
    await session.commit()
    return policy


def _url(settings: Settings, path: str) -> str:
    public = urlsplit(settings.public_url)
    return f"{public.scheme}://{public.netloc}{path}"


def _seb(
    settings: Settings, path: str, config: dict[str, object], *, bek: str | None = None
) -> dict[str, str]:
    """The headers SEB running ``config`` sends when it requests ``path``."""
    url = _url(settings, path)
    headers = {"X-SafeExamBrowser-ConfigKeyHash": seb.request_hash(url, seb.config_key(config))}
    if bek is not None:
        headers["X-SafeExamBrowser-RequestHash"] = seb.request_hash(url, bek)
    return headers


async def _downloaded_config(client: httpx.AsyncClient, registration_id: int) -> dict[str, object]:
    response = await client.get(f"/exam/{registration_id}/seb")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/seb"
    assert "attachment" in response.headers["content-disposition"]
    config: dict[str, object] = plistlib.loads(response.content)
    return config


def _refused(response: httpx.Response) -> bool:
    if response.status_code != 403:
        return False
    if response.headers["content-type"].startswith("application/json"):
        return bool(response.json()["error"]["code"] == "SebRequired")
    return "Safe Exam Browser" in response.text


async def _start(
    client: httpx.AsyncClient, settings: Settings, exam: Exam, config: dict[str, object]
) -> tuple[dict[str, str], int, int]:
    """Check in, then start the attempt and its first part from SEB."""
    await accept_rules(client, exam.registration_id)
    token = {"X-CSRF-Token": await csrf(client, "/"), **ENGLISH}
    path = f"/api/registrations/{exam.registration_id}/attempt"
    started = await client.post(path, headers={**token, **_seb(settings, path, config)})
    assert started.status_code == 201, started.text
    attempt_id = started.json()["attempt_id"]
    path = f"/api/attempts/{attempt_id}/parts/next"
    part = await client.post(path, headers={**token, **_seb(settings, path, config)})
    assert part.status_code == 201, part.text
    return token, attempt_id, part.json()["id"]


@pytest.mark.asyncio
async def test_a_candidate_in_seb_takes_the_exam_and_hands_in(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, settings: Settings
) -> None:
    await _require_seb(session, exam)
    await sign_in(client, "candidate")
    config = await _downloaded_config(client, exam.registration_id)
    token, attempt_id, part_id = await _start(client, settings, exam, config)
    path = f"/exam/{exam.registration_id}/take"
    page = await client.get(path, headers=_seb(settings, path, config))
    assert page.status_code == 200, page.text
    path = f"/api/attempts/{attempt_id}"
    state = (await client.get(path, headers=_seb(settings, path, config))).json()
    item = state["items"][0]
    question = item["questions"][0]
    choice = question["choices"][0]["id"]
    value = choice if question["type"] == "single_choice" else [choice]
    path = f"/api/parts/{part_id}/answers/{item['item_version_id']}/{question['id']}"
    saved = await client.put(
        path,
        json={"sequence": 1, "value": value},
        headers={**token, **_seb(settings, path, config)},
    )
    assert saved.status_code == 200 and saved.json()["applied"] is True
    path = f"/api/parts/{part_id}/clock"
    assert (await client.get(path, headers=_seb(settings, path, config))).status_code == 200
    path = f"/api/parts/{part_id}/submit"
    handed_in = await client.post(path, headers={**token, **_seb(settings, path, config)})
    assert handed_in.status_code == 200, handed_in.text


@pytest.mark.asyncio
async def test_the_exam_page_without_seb_explains_how_to_start_it(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, settings: Settings
) -> None:
    await _require_seb(session, exam)
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    config = await _downloaded_config(client, exam.registration_id)
    path = f"/exam/{exam.registration_id}/take"
    for headers in (
        {},
        {"X-SafeExamBrowser-ConfigKeyHash": "0" * 64},
        {"X-SafeExamBrowser-ConfigKeyHash": seb.config_key(config)},
        _seb(settings, "/my", config),
        _seb(settings, path, {**config, "allowQuit": False}),
    ):
        page = await client.get(path, headers={**headers, **ENGLISH})
        assert page.status_code == 403
        assert "must be taken in Safe Exam Browser" in page.text
        assert f'href="/exam/{exam.registration_id}/seb"' in page.text
        assert "Download the SEB configuration" in page.text
    token = csrf_from((await client.get("/my")).text)
    started = await client.post(
        f"/exam/{exam.registration_id}/start", data={"csrf_token": token}, headers=ENGLISH
    )
    assert _refused(started)
    assert (await client.get(path, headers=_seb(settings, path, config))).status_code == 200


@pytest.mark.asyncio
async def test_every_api_entrance_refuses_requests_without_valid_seb_headers(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, settings: Settings
) -> None:
    await _require_seb(session, exam)
    await sign_in(client, "candidate")
    config = await _downloaded_config(client, exam.registration_id)
    token, attempt_id, part_id = await _start(client, settings, exam, config)
    registration = exam.registration_id
    entrances = [
        ("GET", f"/api/attempts/{attempt_id}", None),
        ("POST", f"/api/registrations/{registration}/attempt", None),
        ("POST", f"/api/attempts/{attempt_id}/parts/next", None),
        ("PUT", f"/api/parts/{part_id}/answers/1/q1", {"sequence": 9, "value": "x"}),
        ("POST", f"/api/parts/{part_id}/submit", None),
        ("GET", f"/api/parts/{part_id}/clock", None),
        ("GET", f"/api/registrations/{registration}/messages", None),
        ("POST", f"/api/registrations/{registration}/messages/read", {"ids": []}),
        ("POST", f"/api/registrations/{registration}/events", {"kind": "focus_lost"}),
        ("GET", f"/api/registrations/{registration}/live", None),
        ("POST", f"/api/registrations/{registration}/live", {"sdp": "", "type": "offer"}),
        ("POST", f"/api/parts/{part_id}/recording/finish", {"chunks": 0}),
    ]
    for method, path, body in entrances:
        wrong = [
            {},
            {"X-SafeExamBrowser-ConfigKeyHash": "not a hash"},
            _seb(settings, path + "?other=1", config),
            _seb(settings, "/api/time", config),
            {
                "X-SafeExamBrowser-ConfigKeyHash": _seb(settings, path, config)[
                    "X-SafeExamBrowser-ConfigKeyHash"
                ]
                .replace("0", "1")
                .replace("a", "b")
            },
        ]
        for headers in wrong:
            response = await client.request(method, path, json=body, headers={**token, **headers})
            assert _refused(response), (method, path, headers, response.text)
            assert "must be taken in Safe Exam Browser" in response.json()["error"]["message"]
        allowed = await client.request(
            method, path, json=body, headers={**token, **_seb(settings, path, config)}
        )
        assert not _refused(allowed), (method, path, allowed.text)


@pytest.mark.asyncio
async def test_the_browser_exam_key_is_checked_when_the_staff_gave_some(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, settings: Settings
) -> None:
    await _require_seb(session, exam, browser_exam_keys=("c" * 64, BEK))
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    config = await _downloaded_config(client, exam.registration_id)
    path = f"/exam/{exam.registration_id}/take"
    assert _refused(await client.get(path, headers=_seb(settings, path, config)))
    assert _refused(await client.get(path, headers=_seb(settings, path, config, bek="d" * 64)))
    wrong_url = {
        **_seb(settings, path, config),
        "X-SafeExamBrowser-RequestHash": seb.request_hash(_url(settings, "/my"), BEK),
    }
    assert _refused(await client.get(path, headers=wrong_url))
    allowed = await client.get(path, headers=_seb(settings, path, config, bek=BEK))
    assert allowed.status_code == 200


@pytest.mark.asyncio
async def test_a_scheme_without_seb_needs_no_headers_and_has_no_configuration(
    client: httpx.AsyncClient, exam: Exam
) -> None:
    await sign_in(client, "candidate")
    await accept_rules(client, exam.registration_id)
    assert (await client.get(f"/exam/{exam.registration_id}/take")).status_code == 200
    assert (await client.get(f"/exam/{exam.registration_id}/seb")).status_code == 404
    assert "Download the SEB configuration" not in (await client.get("/my")).text


@pytest.mark.asyncio
async def test_the_configuration_is_offered_on_my_page_and_the_check_in_only_to_the_candidate(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, app: object
) -> None:
    await _require_seb(session, exam, start_url="https://vakt.example/my")
    await sign_in(client, "candidate")
    my_page = await client.get("/my", headers=ENGLISH)
    assert f'href="/exam/{exam.registration_id}/seb"' in my_page.text
    check = await client.get(f"/exam/{exam.registration_id}/check", headers=ENGLISH)
    assert f'href="/exam/{exam.registration_id}/seb"' in check.text
    config = await _downloaded_config(client, exam.registration_id)
    assert config["startURL"] == "https://vakt.example/my"
    assert config["sendBrowserExamKey"] is True
    # Another candidate's registration: no file, and no word whether it would have one.
    await sign_in(client, "kandidat2", "x" * 12)
    assert (await client.get(f"/exam/{exam.registration_id}/seb")).status_code == 404


@pytest.mark.asyncio
async def test_another_candidates_ids_answer_404_not_the_seb_refusal(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, settings: Settings
) -> None:
    await _require_seb(session, exam)
    await sign_in(client, "candidate")
    config = await _downloaded_config(client, exam.registration_id)
    _token, attempt_id, part_id = await _start(client, settings, exam, config)
    await sign_in(client, "kandidat2", "x" * 12)
    for path in (f"/api/attempts/{attempt_id}", f"/api/parts/{part_id}/clock"):
        response = await client.get(path)
        assert response.status_code == 404, response.text


def _settings_form(page: str, **changes: str) -> dict[str, str]:
    form = {
        "required": "on",
        "start_url": "https://vakt.example/my",
        "quit_password": "",
        "browser_exam_keys": "",
        "csrf_token": csrf_from(page),
    }
    form |= changes
    return {name: value for name, value in form.items() if value != "off"}


@pytest.mark.asyncio
async def test_the_settings_page_saves_validates_and_audits(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam
) -> None:
    scheme_id = await scheme_of(session, exam)
    path = f"/staff/schemes/{scheme_id}/seb"
    await sign_in(client, "administrator")
    sittings = await client.get("/staff/sittings", headers=ENGLISH)
    assert f'href="{path}"' in sittings.text
    page = (await client.get(path, headers=ENGLISH)).text
    for changes, label in [
        ({"start_url": ""}, "Start URL (where Safe Exam Browser opens)"),
        ({"start_url": "javascript:alert(1)"}, "Start URL (where Safe Exam Browser opens)"),
        ({"browser_exam_keys": "zz"}, "Allowed Browser Exam Keys (one a line; empty: not checked)"),
        ({"quit_password": "p" * 201}, "Quit password (leave empty to keep the current one)"),
    ]:
        refused = await client.post(path, data=_settings_form(page, **changes), headers=ENGLISH)
        assert refused.status_code == 422
        assert label in refused.text and 'aria-invalid="true"' in refused.text
    assert await session.get(SebSettings, scheme_id) is None
    saved = await client.post(
        path,
        data=_settings_form(page, quit_password="avslutt", browser_exam_keys=BEK.upper()),
        headers=ENGLISH,
    )
    assert saved.status_code == 303
    session.expire_all()
    policy = await seb.policy_for_scheme(session, scheme_id)
    assert policy.required and policy.browser_exam_keys == (BEK,)
    assert policy.quit_password_hash and "avslutt" not in str(policy.as_json())
    shown = (await client.get(path, headers=ENGLISH)).text
    assert seb.policy_config_key(policy) in shown and "avslutt" not in shown
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "exam.seb_settings_changed")
    )
    assert entry is not None and entry.entity_id == str(scheme_id)
    missing = await client.post(
        "/staff/schemes/999999/seb", data=_settings_form(page), headers=ENGLISH
    )
    assert missing.status_code == 404


@pytest.mark.asyncio
@pytest.mark.parametrize("username", ["proctor", "candidate", "decision_maker"])
async def test_only_administrators_change_the_seb_settings(
    client: httpx.AsyncClient, session: AsyncSession, exam: Exam, username: str
) -> None:
    scheme_id = await scheme_of(session, exam)
    await sign_in(client, username)
    path = f"/staff/schemes/{scheme_id}/seb"
    assert (await client.get(path)).status_code == 403
    token = csrf_from((await client.get("/")).text)
    posted = await client.post(path, data={"required": "on", "csrf_token": token})
    assert posted.status_code == 403
    assert await session.get(SebSettings, scheme_id) is None
