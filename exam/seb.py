"""Safe Exam Browser (SEB), optional per scheme: the ``.seb`` configuration a candidate opens to
start SEB, its Config Key, and the rule that every exam request of such a scheme comes from SEB.

SEB documents two request headers (https://safeexambrowser.org/developer/seb-config-key.html and
the Browser Exam Key specification):

- ``X-SafeExamBrowser-ConfigKeyHash``: SHA-256 (hex) of the absolute request URL (without its
  fragment) followed by the Config Key. The Config Key is SHA-256 (hex) of the settings as
  "SEB-JSON": ``originatorVersion`` removed, keys of every dictionary sorted case-insensitively,
  empty dictionaries removed, no whitespace, no escaping of ``/``, ``\\`` or non-ASCII text,
  ``<data>`` as Base64 and ``<date>`` as ISO 8601. Vakt writes the settings itself, so it computes
  the Config Key itself: the same settings give the same key on every SEB version and platform.
- ``X-SafeExamBrowser-RequestHash``: SHA-256 (hex) of the URL followed by the Browser Exam Key,
  which depends on the SEB build as well as the settings, so it cannot be computed here: the staff
  enter the keys they accept (checked only when they entered some).

A scheme's SEB rule is enforced for every exam request by ``require_seb``, which the exam page and
every JSON entrance of the exam call (``web.seb`` wires it around those routes).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import plistlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam.models import Attempt, AttemptPart, Registration, SebSettings, Sitting
from exam.roles import EXAM_ADMINISTRATORS, require
from itembank.models import Scheme
from vakt.accounts import User
from vakt.errors import Forbidden, NotFound, VaktError
from vakt.i18n import LazyText, _l
from vakt.scheme_settings import store_scheme_settings
from vakt.text import storable

CONFIG_KEY_HEADER = "x-safeexambrowser-configkeyhash"
REQUEST_HASH_HEADER = "x-safeexambrowser-requesthash"
MEDIA_TYPE = "application/seb"
MAX_URL_LENGTH = 2000
MAX_EXAM_KEYS = 50
_HEX64 = re.compile(r"[0-9a-f]{64}")

LABELS: dict[str, LazyText] = {
    "required": _l("Require Safe Exam Browser for the exam"),
    "start_url": _l("Start URL (where Safe Exam Browser opens)"),
    "quit_password": _l("Quit password (leave empty to keep the current one)"),
    "browser_exam_keys": _l("Allowed Browser Exam Keys (one a line; empty: not checked)"),
}
"""The settings form's fields as people read them (the form and its errors)."""

REFUSED = _l("Only administrators may change the Safe Exam Browser settings.")
SEB_REQUIRED = _l(
    "This exam must be taken in Safe Exam Browser. Download the exam's Safe Exam Browser "
    "configuration from the exam's page and open it to start Safe Exam Browser."
)


@dataclass(frozen=True)
class SebPolicy:
    """A scheme's Safe Exam Browser settings."""

    required: bool = False
    start_url: str = ""
    quit_password_hash: str = ""
    """SHA-256 (hex) of the quit password, as SEB keeps it (``hashedQuitPassword``); empty:
    SEB quits without a password."""
    browser_exam_keys: tuple[str, ...] = field(default=())
    """Browser Exam Keys accepted (hex); empty: the Browser Exam Key is not checked."""

    def as_json(self) -> dict[str, Any]:
        """What is stored."""
        return {
            "required": self.required,
            "start_url": self.start_url,
            "quit_password_hash": self.quit_password_hash,
            "browser_exam_keys": list(self.browser_exam_keys),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SebPolicy:
        """The policy stored as ``data`` (the defaults for none)."""
        if not data:
            return cls()
        return cls(
            required=bool(data.get("required")),
            start_url=str(data.get("start_url") or ""),
            quit_password_hash=str(data.get("quit_password_hash") or ""),
            browser_exam_keys=tuple(str(key) for key in data.get("browser_exam_keys") or ()),
        )


class SebRequired(Forbidden):
    """An exam request of a scheme that requires SEB came without valid SEB headers."""

    def __init__(self, registration_id: int) -> None:
        super().__init__(SEB_REQUIRED)
        self.registration_id = registration_id

    def __reduce__(self) -> tuple[object, ...]:
        return (SebRequired, (self.registration_id,))


# ---- the settings ------------------------------------------------------------------------------


def _invalid(name: str, message: LazyText) -> VaktError:
    return VaktError(message, field=name, status_code=422, name=LABELS[name])


@dataclass(frozen=True)
class SebForm:
    """The settings form as submitted (text as typed)."""

    required: bool
    start_url: str
    quit_password: str
    clear_quit_password: bool
    browser_exam_keys: str


def validate_policy(form: SebForm, current: SebPolicy) -> SebPolicy:
    """The policy a submitted settings form describes; a 422 naming the field at fault.

    The quit password itself is never kept, only its SHA-256 as SEB compares it; an empty one
    keeps the current hash (``clear_quit_password`` removes it)."""
    start_url = storable(form.start_url, "start_url").strip()
    if len(start_url) > MAX_URL_LENGTH:
        raise _invalid("start_url", _l("{name}: at most 2000 characters."))
    if start_url:
        parts = urlsplit(start_url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or any(c.isspace() for c in start_url)
        ):
            raise _invalid(
                "start_url", _l("{name}: a full address starting with https:// or http://.")
            )
    elif form.required:
        raise _invalid("start_url", _l("{name}: required when Safe Exam Browser is required."))
    quit_password = storable(form.quit_password, "quit_password")
    if len(quit_password) > 200:
        raise _invalid("quit_password", _l("{name}: at most 200 characters."))
    if form.clear_quit_password:
        quit_hash = ""
    elif quit_password:
        quit_hash = hashlib.sha256(quit_password.encode()).hexdigest()
    else:
        quit_hash = current.quit_password_hash
    keys: list[str] = []
    for line in storable(form.browser_exam_keys, "browser_exam_keys").splitlines():
        key = line.strip().lower()
        if not key:
            continue
        if not _HEX64.fullmatch(key):
            raise _invalid(
                "browser_exam_keys",
                _l("{name}: each key is 64 hexadecimal characters (0-9, a-f)."),
            )
        if key not in keys:
            keys.append(key)
    if len(keys) > MAX_EXAM_KEYS:
        raise _invalid("browser_exam_keys", _l("{name}: at most 50 keys."))
    return SebPolicy(
        required=form.required,
        start_url=start_url,
        quit_password_hash=quit_hash,
        browser_exam_keys=tuple(keys),
    )


async def policy_for_scheme(session: AsyncSession, scheme_id: int) -> SebPolicy:
    """The scheme's SEB settings (not required when none are stored)."""
    row = await session.get(SebSettings, scheme_id)
    return SebPolicy.from_json(row.settings if row else None)


async def scheme_policy(session: AsyncSession, scheme_id: int) -> tuple[Scheme, SebPolicy]:
    """The scheme and its SEB settings; a 404 for a scheme that does not exist."""
    scheme = await session.get(Scheme, scheme_id)
    if scheme is None:
        raise NotFound(_l("No such scheme."))
    return scheme, await policy_for_scheme(session, scheme.id)


async def set_policy(
    session: AsyncSession, *, scheme_id: int, form: SebForm, actor: User, now: datetime
) -> SebPolicy:
    """Change a scheme's SEB settings to what the form says (``validate_policy``); audited."""
    require(actor, EXAM_ADMINISTRATORS, REFUSED)
    _scheme, current = await scheme_policy(session, scheme_id)
    policy = validate_policy(form, current)
    await store_scheme_settings(
        session,
        SebSettings,
        scheme_id=scheme_id,
        settings=policy.as_json(),
        actor_id=actor.id,
        now=now,
        action="exam.seb_settings_changed",
    )
    return policy


# ---- the configuration and its Config Key ------------------------------------------------------


def seb_settings(policy: SebPolicy) -> dict[str, Any]:
    """The SEB settings of a scheme's exam (what the ``.seb`` file holds)."""
    settings: dict[str, Any] = {
        "originatorVersion": "Vakt",
        # 0: the file starts an exam (it does not reconfigure the client permanently).
        "sebConfigPurpose": 0,
        "startURL": policy.start_url,
        # Send the Config Key and Browser Exam Key headers on every request.
        "sendBrowserExamKey": True,
        # SEB 3 for macOS/iOS sends the headers only from its classic web view: keep the exam
        # system's pages there.
        "browserWindowWebView": 2,
        "allowQuit": True,
        "hashedQuitPassword": policy.quit_password_hash,
        "allowPreferencesWindow": False,
        # A proctored exam needs the camera and the microphone.
        "allowVideoCapture": True,
        "allowAudioCapture": True,
        "allowDownUploads": False,
        "allowSpellCheck": False,
        "allowDictionaryLookup": False,
        "URLFilterEnable": False,
    }
    return settings


def config_file(policy: SebPolicy) -> bytes:
    """The unencrypted ``.seb`` file (an XML property list) of these settings."""
    return plistlib.dumps(seb_settings(policy), fmt=plistlib.FMT_XML, sort_keys=True)


def _sort_key(key: str) -> tuple[str, str]:
    # Case-insensitive; between keys that differ only in case, lower case first, as SEB's own
    # example has it ("allowWlan" before "allowWLAN").
    return key.casefold(), key.swapcase()


def _prepare(value: Any) -> Any:
    if isinstance(value, dict):
        prepared = {
            str(key): _prepare(item)
            for key, item in value.items()
            if not (isinstance(item, dict) and not item)
        }
        return dict(sorted(prepared.items(), key=lambda pair: _sort_key(pair[0])))
    if isinstance(value, list | tuple):
        return [_prepare(item) for item in value if not (isinstance(item, dict) and not item)]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="seconds")
    return value


_BACKSLASH = "\ue000seb-backslash\ue000"


def seb_json(settings: dict[str, Any]) -> str:
    """The settings as SEB-JSON, the text the Config Key is the hash of."""
    data = dict(settings)
    data.pop("originatorVersion", None)
    prepared = _prepare(data)
    # SEB-JSON escapes no backslash (a URL filter's regex keeps its "\"): a stand-in carries
    # each through the JSON encoder, which would double it.
    text = json.dumps(_replace_backslashes(prepared), ensure_ascii=False, separators=(",", ":"))
    return text.replace(_BACKSLASH, "\\")


def _replace_backslashes(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\\", _BACKSLASH)
    if isinstance(value, dict):
        return {_replace_backslashes(k): _replace_backslashes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_backslashes(item) for item in value]
    return value


def config_key(settings: dict[str, Any]) -> str:
    """The Config Key of these settings: SHA-256 (hex) of their SEB-JSON."""
    return hashlib.sha256(seb_json(settings).encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=128)
def policy_config_key(policy: SebPolicy) -> str:
    """The Config Key of the configuration Vakt gives out for this policy (kept: every exam
    request of the scheme needs it)."""
    return config_key(seb_settings(policy))


def request_hash(url: str, key: str) -> str:
    """What SEB sends for ``url`` and a key (Config Key or Browser Exam Key): SHA-256 (hex) of
    the absolute URL without its fragment, followed by the key."""
    return hashlib.sha256((url.split("#", 1)[0] + key).encode("utf-8")).hexdigest()


# ---- the check on every exam request -----------------------------------------------------------


@dataclass(frozen=True)
class SebProof:
    """What a request shows of SEB: the absolute URL it was sent to and the two headers."""

    url: str
    config_key_hash: str | None
    request_hash: str | None


def _matches(expected: str, supplied: str | None) -> bool:
    return supplied is not None and hmac.compare_digest(
        expected.encode(), supplied.strip().lower().encode()
    )


def verify(policy: SebPolicy, proof: SebProof) -> bool:
    """Whether a request satisfies the policy: always when SEB is not required; else the Config
    Key hash matches this URL and Vakt's configuration, and, when the staff entered Browser Exam
    Keys, the request hash matches this URL and one of them."""
    if not policy.required:
        return True
    if not _matches(request_hash(proof.url, policy_config_key(policy)), proof.config_key_hash):
        return False
    if policy.browser_exam_keys:
        # Compare with every key, so the time taken does not tell which one came close.
        results = [
            _matches(request_hash(proof.url, key), proof.request_hash)
            for key in policy.browser_exam_keys
        ]
        return any(results)
    return True


async def _owned_registration(
    session: AsyncSession,
    candidate: User,
    *,
    registration_id: int | None,
    attempt_id: int | None,
    part_id: int | None,
) -> tuple[int, SebPolicy] | None:
    """The candidate's own registration the ids lead to, with its scheme's SEB settings (one
    query: it runs on every exam request); None for anything not theirs (the route itself
    answers that with its 404)."""
    query = (
        select(Registration.id, SebSettings.settings)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .outerjoin(SebSettings, SebSettings.scheme_id == Sitting.scheme_id)
    )
    if part_id is not None:
        query = (
            query.join(Attempt, Attempt.registration_id == Registration.id)
            .join(AttemptPart, AttemptPart.attempt_id == Attempt.id)
            .where(AttemptPart.id == part_id)
        )
    elif attempt_id is not None:
        query = query.join(Attempt, Attempt.registration_id == Registration.id).where(
            Attempt.id == attempt_id
        )
    elif registration_id is not None:
        query = query.where(Registration.id == registration_id)
    else:
        return None
    row = (await session.execute(query.where(Registration.candidate_id == candidate.id))).first()
    return (row[0], SebPolicy.from_json(row[1])) if row else None


async def require_seb(
    session: AsyncSession,
    *,
    candidate: User,
    proof: SebProof,
    registration_id: int | None = None,
    attempt_id: int | None = None,
    part_id: int | None = None,
) -> None:
    """Refuse (403, ``SebRequired``) an exam request of a scheme that requires SEB unless its
    headers prove SEB with Vakt's configuration. The request names its registration, attempt or
    part (the most specific one wins)."""
    found = await _owned_registration(
        session, candidate, registration_id=registration_id, attempt_id=attempt_id, part_id=part_id
    )
    if found is not None and not verify(found[1], proof):
        raise SebRequired(found[0])


async def requiring_seb(session: AsyncSession, registration_ids: list[int]) -> set[int]:
    """Which of these registrations belong to a scheme that requires SEB."""
    if not registration_ids:
        return set()
    rows = await session.execute(
        select(Registration.id, SebSettings.settings)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .join(SebSettings, SebSettings.scheme_id == Sitting.scheme_id)
        .where(Registration.id.in_(registration_ids))
    )
    return {row[0] for row in rows if SebPolicy.from_json(row[1]).required}


@dataclass(frozen=True)
class ConfigDownload:
    """A ``.seb`` file for a candidate."""

    filename: str
    content: bytes


async def config_for_registration(
    session: AsyncSession, registration_id: int, candidate: User
) -> ConfigDownload:
    """The ``.seb`` file of the candidate's own registration; a 404 when the registration is not
    theirs or its scheme does not require SEB."""
    row = (
        await session.execute(
            select(Scheme.code, Sitting.scheme_id)
            .select_from(Registration)
            .join(Sitting, Sitting.id == Registration.sitting_id)
            .join(Scheme, Scheme.id == Sitting.scheme_id)
            .where(Registration.id == registration_id, Registration.candidate_id == candidate.id)
        )
    ).first()
    policy = await policy_for_scheme(session, row[1]) if row else SebPolicy()
    if row is None or not policy.required:
        raise NotFound(_l("This exam has no Safe Exam Browser configuration."))
    code = re.sub(r"[^A-Za-z0-9_-]", "-", row[0]) or "exam"
    return ConfigDownload(filename=f"vakt-{code}.seb", content=config_file(policy))
