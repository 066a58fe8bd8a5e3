"""Safe Exam Browser: the SEB-JSON and Config Key rules SEB documents
(https://safeexambrowser.org/developer/seb-config-key.html), the request hashes, and the
settings' validation.

Safe Exam Browser itself cannot run here: every header is computed the way SEB computes it
(SHA-256 of the absolute URL followed by the key), from the configuration Vakt gives out.
"""

from __future__ import annotations

import hashlib
import plistlib
from datetime import UTC, datetime

import pytest

from exam import seb
from vakt.errors import VaktError

URL = "https://vakt.example/api/parts/7/submit"
POLICY = seb.SebPolicy(required=True, start_url="https://vakt.example/my")
BEK = "a" * 64


def _form(**changes: object) -> seb.SebForm:
    values: dict[str, object] = {
        "required": True,
        "start_url": "https://vakt.example/my",
        "quit_password": "",
        "clear_quit_password": False,
        "browser_exam_keys": "",
    }
    values |= changes
    return seb.SebForm(**values)  # type: ignore[arg-type]


def test_seb_json_follows_the_documented_rules() -> None:
    settings = {
        "originatorVersion": "SEB_Win_2.1.1",
        "startURL": "https://vakt.example/start",
        "allowWLAN": False,
        "allowWlan": True,
        "URLFilterEnable": True,
        "emptyDictionary": {},
        "examKeySalt": b"\x01\x02\xff",
        "aaaaaa": datetime(1940, 10, 9, 22, 13, 56, tzinfo=UTC),
        # A URL filter's regular expression keeps its backslashes, as in SEB's own example.
        "whitelistURLFilter": r"^.*?:\/\/((safeexambrowser\.org))\/exams$",
        "restartExamText": "Prøv igjen",
        "permittedProcesses": [{"title": "SEB", "active": True, "Arguments": [], "x": {}}],
        "exitKey1": 2,
    }
    text = seb.seb_json(settings)
    assert text == (
        '{"aaaaaa":"1940-10-09T22:13:56+00:00","allowWlan":true,"allowWLAN":false,'
        '"examKeySalt":"AQL/","exitKey1":2,'
        '"permittedProcesses":[{"active":true,"Arguments":[],"title":"SEB"}],'
        '"restartExamText":"Prøv igjen","startURL":"https://vakt.example/start",'
        '"URLFilterEnable":true,'
        r'"whitelistURLFilter":"^.*?:\/\/((safeexambrowser\.org))\/exams$"}'
    )
    assert seb.config_key(settings) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_originator_version_does_not_change_the_config_key() -> None:
    settings = seb.seb_settings(POLICY)
    assert "originatorVersion" in settings
    without = {key: value for key, value in settings.items() if key != "originatorVersion"}
    assert seb.config_key(settings) == seb.config_key(without)
    assert seb.config_key(settings) != seb.config_key({**without, "allowQuit": False})


def test_the_config_key_of_vakts_configuration() -> None:
    # A fixed value from this implementation: any change to the configuration Vakt gives out
    # changes the key every SEB client computes, and must be deliberate.
    assert seb.policy_config_key(POLICY) == (
        "053332c82030aa3f1ca2848478b6238a905f9d7067dc955e880ed1bcea906353"
    )


def test_the_downloaded_file_has_the_key_the_server_checks() -> None:
    """SEB reads the .seb file and computes the Config Key from what it holds."""
    content = seb.config_file(POLICY)
    assert content.startswith(b"<?xml")
    read = plistlib.loads(content)
    assert read["startURL"] == "https://vakt.example/my"
    assert read["sendBrowserExamKey"] is True
    assert seb.config_key(read) == seb.policy_config_key(POLICY)


def test_the_request_hash_is_over_the_url_without_its_fragment_and_the_key() -> None:
    key = seb.policy_config_key(POLICY)
    expected = hashlib.sha256((URL + key).encode()).hexdigest()
    assert seb.request_hash(URL, key) == expected
    assert seb.request_hash(URL + "#part-2", key) == expected


def _proof(config_hash: str | None, bek_hash: str | None = None, url: str = URL) -> seb.SebProof:
    return seb.SebProof(url=url, config_key_hash=config_hash, request_hash=bek_hash)


def test_verify_the_config_key_header() -> None:
    good = seb.request_hash(URL, seb.policy_config_key(POLICY))
    assert seb.verify(POLICY, _proof(good))
    assert seb.verify(POLICY, _proof(good.upper()))
    assert not seb.verify(POLICY, _proof(None))
    assert not seb.verify(POLICY, _proof(""))
    assert not seb.verify(POLICY, _proof("0" * 64))
    # The key itself, unhashed, or a hash for another URL proves nothing about this request.
    assert not seb.verify(POLICY, _proof(seb.policy_config_key(POLICY)))
    other = seb.request_hash("https://vakt.example/my", seb.policy_config_key(POLICY))
    assert not seb.verify(POLICY, _proof(other))
    # Another configuration (here: without the quit password the scheme sets).
    stricter = seb.SebPolicy(required=True, start_url=POLICY.start_url, quit_password_hash="b" * 64)
    assert not seb.verify(stricter, _proof(good))
    # A scheme that does not require SEB asks for nothing.
    assert seb.verify(seb.SebPolicy(), _proof(None))


def test_verify_the_browser_exam_key_when_the_staff_gave_some() -> None:
    policy = seb.SebPolicy(
        required=True, start_url=POLICY.start_url, browser_exam_keys=("c" * 64, BEK)
    )
    config_hash = seb.request_hash(URL, seb.policy_config_key(policy))
    assert seb.verify(policy, _proof(config_hash, seb.request_hash(URL, BEK)))
    assert not seb.verify(policy, _proof(config_hash, None))
    assert not seb.verify(policy, _proof(config_hash, seb.request_hash(URL, "d" * 64)))
    assert not seb.verify(policy, _proof(config_hash, seb.request_hash(URL + "?x=1", BEK)))
    assert not seb.verify(policy, _proof(None, seb.request_hash(URL, BEK)))


def test_the_settings_are_validated_and_the_password_is_kept_only_as_its_hash() -> None:
    current = seb.SebPolicy()
    policy = seb.validate_policy(
        _form(quit_password="hemmelig", browser_exam_keys=f" {BEK.upper()}\n\n{BEK}\n"),
        current,
    )
    assert policy.quit_password_hash == hashlib.sha256(b"hemmelig").hexdigest()
    assert policy.browser_exam_keys == (BEK,)
    kept = seb.validate_policy(_form(), policy)
    assert kept.quit_password_hash == policy.quit_password_hash
    cleared = seb.validate_policy(_form(clear_quit_password=True), policy)
    assert cleared.quit_password_hash == ""
    off = seb.validate_policy(_form(required=False, start_url=""), policy)
    assert not off.required


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start_url": ""}, "start_url"),
        ({"start_url": "javascript:alert(1)"}, "start_url"),
        ({"start_url": "ftp://vakt.example/"}, "start_url"),
        ({"start_url": "https:///my"}, "start_url"),
        ({"start_url": "https://vakt.example/a b"}, "start_url"),
        ({"start_url": "https://vakt.example/" + "a" * 2000}, "start_url"),
        ({"start_url": "https://vakt.example/\ud800"}, "start_url"),
        ({"quit_password": "x" * 201}, "quit_password"),
        ({"browser_exam_keys": "not a key"}, "browser_exam_keys"),
        ({"browser_exam_keys": "a" * 63}, "browser_exam_keys"),
        ({"browser_exam_keys": "\n".join(f"{n:064x}" for n in range(51))}, "browser_exam_keys"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(VaktError) as refused:
        seb.validate_policy(_form(**changes), seb.SebPolicy())
    assert refused.value.field == field
    if refused.value.params:
        assert refused.value.params["name"] is seb.LABELS[field]
