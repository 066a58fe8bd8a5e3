"""Exam delivery load benchmark: N simulated candidates autosaving against `vakt serve`.

Each simulated candidate is an httpx.AsyncClient of its own (its own cookies and connections, as a
browser): it signs in through the real /login form (CSRF token from the page), starts its attempt
and its first part, reads the exam's state, and then, for the measured duration, saves an answer
every --interval seconds (with random jitter; a choice id for single choice, a list for multiple
response, a growing text for essay; the sequence number always increasing) and now and then
navigates (GET the state or /api/time). Beside the saves, as the exam page does, it asks for the
proctors' messages (GET /api/registrations/{id}/messages, which also says whether the clock is
paused or the attempt ended) every --messages-interval seconds (5; 0: never), each candidate at a
random phase. Sign-ins are ramped (argon2 is deliberately slow) and only the steady state is
measured: requests started inside the window that opens once every candidate is ready (plus
--warmup seconds).

The same harness (same N, same rhythm) then runs against bench/ceiling_app.py, a bare Starlette app
whose save does one INSERT into the same database, served by uvicorn with the same worker count:
the ceiling Vakt's save path is compared with. The ceiling has no messages: its candidates do not
poll.

Usage:

    python bench/bench_delivery.py --candidates 2000 --duration 120 --database sqlite
    python bench/bench_delivery.py --candidates 2000 --duration 120 --database postgresql --workers 2

Set-up: a fresh database (a SQLite file in a temporary folder, or the PostgreSQL database
`vakt_bench`, dropped and recreated), migrated, and seeded through the real services: a scheme,
approved items, two blueprints (one starts with a multiple-choice part, one with essays), a sitting
of each open now, N candidates with approved applications and registrations (alternating between
the sittings); the candidates accept the code of conduct through the check-in page as they sign
in. Prints saves/s, errors by status and p50/p95/p99/max save latency for Vakt and for the ceiling,
the same for Vakt's messages polls, and the CPU used by the server, the load generator and the rest
(the database). Targets: 2,000 candidates with p99 save latency <= 100 ms and >= 50 % of the
ceiling. Not a test: nothing is asserted, the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PASSWORD = "bench-candidate-password"  # noqa: S105 (a throwaway password in a throwaway database)
PG_DATABASE = "vakt_bench"
CLIENT_KEEP_ALIVE = 60.0
"""Seconds a simulated candidate keeps an idle connection (the server keeps it 75 s)."""
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')
TEXT_VERSION_PATTERN = re.compile(r'name="text_version" value="([^"]+)"')
WORDS = [
    "mangfold", "inkludering", "ledelse", "rekruttering", "kultur", "strategi", "tiltak",
    "medarbeidere", "likestilling", "diskriminering", "arbeidsmiljø", "kompetanse", "måling",
]  # fmt: skip


# ---- configuration and shared state ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One simulated candidate: who signs in and what to start (``registration_id`` 0: bare)."""

    index: int
    username: str
    registration_id: int


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """What every client process needs to drive its share of the candidates."""

    base_url: str
    bare: bool
    interval: float
    jitter: float
    nav_probability: float
    state_share: float
    sign_in_concurrency: int
    hard_stop: float
    phases: bool = False
    messages_interval: float = 0.0
    """Seconds between two asks for the proctors' messages (0: never)."""


@dataclasses.dataclass
class Shared:
    """Counters and the measurement window, shared between the orchestrator and the clients."""

    ready: Synchronized[int]
    failed: Synchronized[int]
    window_start: Synchronized[float]
    window_end: Synchronized[float]


@dataclasses.dataclass
class ClientResult:
    """What one client process measured (times are epoch seconds, latencies milliseconds)."""

    saves: list[tuple[float, float, str]]
    navigations: list[tuple[float, float, str]]
    sign_ins: list[float]
    setup_errors: Counter[str]
    polls: list[tuple[float, float, str]] = dataclasses.field(default_factory=list)
    """GET /api/registrations/{id}/messages, as the exam page asks every few seconds."""
    phases: list[SavePhases] = dataclasses.field(default_factory=list)
    """With --phases: where each save's time went, as the client saw it."""
    loop_lags: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    """With --phases: (when, ms) each time the client's own event loop woke up late."""


PHASES = ("pool", "connect", "send", "wait", "read", "after")


@dataclasses.dataclass(frozen=True)
class SavePhases:
    """One save's time in milliseconds, split by httpx's trace events: waiting for a pooled
    connection, opening a new one, sending, waiting for the response's head (the server, and
    either side's event loop), reading the body, and the client's own work afterwards."""

    started_at: float
    new_connection: bool
    pool: float
    connect: float
    send: float
    wait: float
    read: float
    after: float


# ---- the simulated candidate ----------------------------------------------------------------------


@dataclasses.dataclass
class Question:
    """A question the candidate answers, and what it has written so far (for essays)."""

    item_version_id: int
    question_id: str
    kind: str
    choices: list[str]
    text: str = ""

    def next_value(self, rng: random.Random) -> Any:
        """A valid answer: a choice id, a list of choice ids, or the essay grown a little."""
        if self.kind == "single_choice":
            return rng.choice(self.choices)
        if self.kind == "multiple_response":
            return rng.sample(self.choices, rng.randint(1, len(self.choices)))
        self.text += " ".join(rng.choice(WORDS) for _ in range(6)) + ". "
        return self.text


def bare_questions(candidate: Candidate) -> list[Question]:
    """For the ceiling: the same mix of answers as the Vakt run (half choices, half essays)."""
    if candidate.index % 2:
        return [Question(1, f"E{n}", "essay", []) for n in range(2)]
    return [Question(1, f"S{n}", "single_choice", list("ABCD")) for n in range(8)] + [
        Question(1, f"M{n}", "multiple_response", list("ABCD")) for n in range(2)
    ]


class SetupFailed(Exception):
    """A step before the steady state did not give what a browser would have got."""


def _csrf(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    if match is None:
        raise SetupFailed("no csrf token in page")
    return match.group(1)


def _expect(response: Any, status: int, step: str) -> None:
    if response.status_code != status:
        raise SetupFailed(f"{step} {response.status_code}")


async def _sign_in_and_start(
    http: Any, candidate: Candidate, sign_ins: list[float]
) -> tuple[str, int, int, list[Question]]:
    """Sign in through the form, accept the code of conduct and the self-declaration (the
    check-in; proctoring is off, so there is no identity check), start the attempt and its first
    part, read the state."""
    page = await http.get("/login")
    _expect(page, 200, "GET /login")
    started = time.perf_counter()
    response = await http.post(
        "/login",
        data={
            "csrf_token": _csrf(page.text),
            "username": candidate.username,
            "password": PASSWORD,
            "next": "/",
        },
    )
    sign_ins.append((time.perf_counter() - started) * 1000)
    _expect(response, 303, "POST /login")
    home = await http.get(response.headers["location"], follow_redirects=True)
    _expect(home, 200, "GET /")
    token = _csrf(home.text)
    headers = {"X-CSRF-Token": token}
    rules = await http.get(f"/exam/{candidate.registration_id}/rules")
    _expect(rules, 200, "GET rules")
    version = TEXT_VERSION_PATTERN.search(rules.text)
    if version is None:
        raise SetupFailed("no text version on the rules page")
    response = await http.post(
        f"/exam/{candidate.registration_id}/rules",
        data={
            "csrf_token": _csrf(rules.text),
            "conduct": "yes",
            "declaration": "yes",
            "text_version": version.group(1),
        },
    )
    _expect(response, 303, "accept rules")
    response = await http.post(
        f"/api/registrations/{candidate.registration_id}/attempt", headers=headers
    )
    _expect(response, 201, "start attempt")
    attempt_id = response.json()["attempt_id"]
    response = await http.post(f"/api/attempts/{attempt_id}/parts/next", headers=headers)
    _expect(response, 201, "start part")
    part_id = response.json()["id"]
    response = await http.get(f"/api/attempts/{attempt_id}")
    _expect(response, 200, "GET state")
    questions = [
        Question(
            item["item_version_id"],
            question["id"],
            question["type"],
            [choice["id"] for choice in question.get("choices") or []],
        )
        for item in response.json()["items"]
        for question in item["questions"]
        if question["type"] in {"single_choice", "multiple_response", "essay"}
    ]
    if not questions:
        raise SetupFailed("no answerable question")
    return token, attempt_id, part_id, questions


async def _timed(
    http: Any, method: str, url: str, phases: list[SavePhases] | None = None, **kwargs: Any
) -> tuple[float, float, str]:
    started_at = time.time()
    events: dict[str, float] = {}
    if phases is not None:

        async def trace(name: str, _info: Any) -> None:
            events[name] = time.perf_counter()

        kwargs["extensions"] = {"trace": trace}
    started = time.perf_counter()
    try:
        response = await http.request(method, url, **kwargs)
        status = str(response.status_code)
    except Exception as exc:  # a timeout or refused connection is a result, not a crash
        status = type(exc).__name__
    ended = time.perf_counter()
    if phases is not None and status == "200":
        phases.append(_phases(started_at, started, ended, events))
    return started_at, (ended - started) * 1000, status


def _phases(started_at: float, started: float, ended: float, at: dict[str, float]) -> SavePhases:
    def between(first: str, last: str) -> float:
        return (at[last] - at[first]) * 1000 if first in at and last in at else 0.0

    new = "connection.connect_tcp.started" in at
    first = at.get("connection.connect_tcp.started", at["http11.send_request_headers.started"])
    return SavePhases(
        started_at=started_at,
        new_connection=new,
        pool=(first - started) * 1000,
        connect=between("connection.connect_tcp.started", "connection.connect_tcp.complete"),
        send=between("http11.send_request_headers.started", "http11.send_request_body.complete"),
        wait=between(
            "http11.receive_response_headers.started", "http11.receive_response_headers.complete"
        ),
        read=between(
            "http11.receive_response_body.started", "http11.receive_response_body.complete"
        ),
        after=(ended - at.get("http11.receive_response_body.complete", ended)) * 1000,
    )


async def _watch_loop_lag(lags: list[tuple[float, float]], hard_stop: float) -> None:
    """Note when this process's own event loop wakes up late: that time is in every latency the
    process measures, but the server never saw it."""
    while time.time() < hard_stop:
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        late = (time.perf_counter() - before - 0.01) * 1000
        if late > 5:
            lags.append((time.time(), late))


def _over(config: ClientConfig, shared: Shared) -> bool:
    """Whether the measurement window (or the hard stop) has passed."""
    end = shared.window_end.value
    return bool(end and time.time() >= end) or time.time() >= config.hard_stop


async def poll_messages(
    http: Any, candidate: Candidate, config: ClientConfig, shared: Shared, result: ClientResult
) -> None:
    """The exam page's messages poll (web/static/js/messages.js): every interval, from a random
    phase, until the window ends. One at a time: a slow answer delays the next ask, and the
    ones due meanwhile go out back to back once it came."""
    rng = random.Random(f"messages-{candidate.index}")  # the saves' own sequence stays the same
    loop = asyncio.get_running_loop()
    url = f"/api/registrations/{candidate.registration_id}/messages"
    headers = {"Accept": "application/json"}
    next_at = loop.time() + rng.uniform(0, config.messages_interval)
    while not _over(config, shared):
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        if _over(config, shared):
            return
        result.polls.append(await _timed(http, "GET", url, headers=headers))
        next_at += config.messages_interval


async def run_candidate(
    candidate: Candidate,
    config: ClientConfig,
    shared: Shared,
    result: ClientResult,
    sign_in_gate: asyncio.Semaphore,
    tls: ssl.SSLContext,
) -> None:
    """One candidate from sign-in to the end of the measurement window."""
    import httpx

    transport = httpx.AsyncHTTPTransport(
        verify=tls,  # one shared context: building 2,000 of them would cost seconds of CPU
        # A browser keeps an idle connection for minutes; httpx's own default (5 s) would make
        # nearly every save, 10 s apart, open a new one. Kept a little shorter than the server's
        # keep-alive, so the client is the side that closes.
        limits=httpx.Limits(
            max_connections=6, max_keepalive_connections=6, keepalive_expiry=CLIENT_KEEP_ALIVE
        ),
    )
    async with httpx.AsyncClient(
        base_url=config.base_url, transport=transport, timeout=60.0, trust_env=False
    ) as http:
        headers: dict[str, str] = {}
        try:
            if config.bare:
                part_id, questions = candidate.index + 1, bare_questions(candidate)
                nav_urls: tuple[str, ...] = ("/api/time",)
            else:
                async with sign_in_gate:
                    if shared.window_end.value:  # the ramp was given up: measure without it
                        raise SetupFailed("not signed in when the ramp ended")
                    token, attempt_id, part_id, questions = await _sign_in_and_start(
                        http, candidate, result.sign_ins
                    )
                headers = {"X-CSRF-Token": token}
                nav_urls = ("/api/time", f"/api/attempts/{attempt_id}")
        except Exception as exc:
            reason = str(exc) if isinstance(exc, SetupFailed) else type(exc).__name__
            result.setup_errors[reason] += 1
            with shared.failed.get_lock():
                shared.failed.value += 1
            return
        with shared.ready.get_lock():
            shared.ready.value += 1
        poller = (
            asyncio.create_task(poll_messages(http, candidate, config, shared, result))
            if config.messages_interval > 0 and not config.bare
            else None
        )
        try:
            await _save_loop(
                http, candidate, config, shared, result, part_id, questions, headers, nav_urls
            )
        finally:
            if poller is not None:  # it stops by itself when the window ends, as the saves do
                await poller


async def _save_loop(
    http: Any,
    candidate: Candidate,
    config: ClientConfig,
    shared: Shared,
    result: ClientResult,
    part_id: int,
    questions: list[Question],
    headers: dict[str, str],
    nav_urls: tuple[str, ...],
) -> None:
    """Save every interval (with jitter), and now and then navigate, until the window ends."""
    rng = random.Random(candidate.index)
    sequence = 0
    position = 0
    loop = asyncio.get_running_loop()
    next_at = loop.time() + rng.uniform(0, config.interval)  # spread the candidates' phases
    while not _over(config, shared):
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        if _over(config, shared):
            return
        question = questions[position % len(questions)]
        position += rng.choice((0, 1, 1))  # sometimes the same question again
        sequence += 1
        result.saves.append(
            await _timed(
                http,
                "PUT",
                f"/api/parts/{part_id}/answers/{question.item_version_id}/{question.question_id}",
                result.phases if config.phases else None,
                json={"sequence": sequence, "value": question.next_value(rng)},
                headers=headers,
            )
        )
        if rng.random() < config.nav_probability:
            # The exam page syncs its clock with GET /api/time once a minute and moves between
            # items without asking the server; now and then it is reloaded (GET the state).
            await asyncio.sleep(rng.uniform(0, config.interval / 3))
            url = nav_urls[-1] if rng.random() < config.state_share else nav_urls[0]
            result.navigations.append(await _timed(http, "GET", url))
        next_at += config.interval + rng.uniform(-config.jitter, config.jitter)


async def _client(config: ClientConfig, candidates: Sequence[Candidate], shared: Shared) -> Any:
    result = ClientResult([], [], [], Counter())
    gate = asyncio.Semaphore(config.sign_in_concurrency)
    tls = ssl.create_default_context()
    watcher = (
        asyncio.create_task(_watch_loop_lag(result.loop_lags, config.hard_stop))
        if config.phases
        else None
    )
    await asyncio.gather(*(run_candidate(c, config, shared, result, gate, tls) for c in candidates))
    if watcher is not None:
        watcher.cancel()
    return result


def client_main(
    config: ClientConfig,
    candidates: Sequence[Candidate],
    shared: Shared,
    results: Any,
) -> None:
    """Entry point of one load-generating process: runs its candidates, sends back the figures."""
    try:
        import uvloop

        result = uvloop.run(_client(config, candidates, shared))
    except ImportError:
        result = asyncio.run(_client(config, candidates, shared))
    results.put(result)


# ---- set-up: database, seed, servers --------------------------------------------------------------


def prepare_database(kind: str, folder: Path, pg_server: str) -> str:
    """A fresh, migrated database; returns its URL."""
    from sqlalchemy.engine import make_url

    from vakt.dbadmin import upgrade

    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'vakt.sqlite3'}"
    else:
        import asyncpg

        server = make_url(pg_server)

        async def recreate() -> None:
            connection = await asyncpg.connect(
                host=server.host, port=server.port or 5432, user=server.username,
                password=server.password, database="postgres",
            )  # fmt: skip
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
                await connection.execute(f'CREATE DATABASE "{PG_DATABASE}"')
            finally:
                await connection.close()

        asyncio.run(recreate())
        url = server.set(database=PG_DATABASE).render_as_string(hide_password=False)
    upgrade(url)
    return url


def _choice_item(external_id: str, kind: str) -> Any:
    from itembank.schemas import ItemDocument

    choices = [{"id": c, "html": f"<p>Alternativ {c}</p>"} for c in "ABCD"]
    question: dict[str, Any] = {
        "type": kind,
        "prompt_html": f"<p>Spørsmål {external_id}?</p>",
        "choices": choices,
        "correct": "B" if kind == "single_choice" else ["A", "C"],
    }
    return ItemDocument.model_validate(
        {"external_id": external_id, "title": external_id, "type": kind, "questions": [question]}
    )


def _essay_item(external_id: str) -> Any:
    from itembank.schemas import ItemDocument

    question = {
        "type": "essay",
        "prompt_html": "<p>Drøft mangfoldsledelse i en virksomhet du kjenner.</p>",
        "points": 10,
        "word_limit": 2000,
        "guide": {"criteria": [{"name": "Innhold", "max_points": 10}]},
    }
    return ItemDocument.model_validate(
        {"external_id": external_id, "title": external_id, "type": "essay", "questions": [question]}
    )


async def seed(database_url: str, count: int) -> list[Candidate]:
    """Seed through the real services (as tests/exam/factories.py does); returns the candidates."""
    from exam import registrations
    from itembank import blueprints, schemes, versions, workflow
    from itembank.schemas import ItemStatus
    from proctoring.models import ProctoringPolicy
    from proctoring.schemas import Policy
    from vakt import audit
    from vakt.accounts import Role, User, UserRole, create_user, password_hasher
    from vakt.db import create_engine, create_sessionmaker, utcnow

    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as session:
        staff = {
            role: await create_user(
                session,
                username=f"bench-{role.value}",
                full_name=f"Bench {role.value}",
                password=PASSWORD,
                roles={role},
            )
            for role in (Role.ADMINISTRATOR, Role.ITEM_WRITER, Role.ITEM_REVIEWER)
        }
        writer, reviewer = staff[Role.ITEM_WRITER], staff[Role.ITEM_REVIEWER]
        admin = staff[Role.ADMINISTRATOR]
        scheme = await schemes.create_scheme(session, code="BENCH", name="Bench", actor_id=None)
        # Saves are measured on their own; the live camera channel has its own benchmark.
        session.add(
            ProctoringPolicy(
                scheme_id=scheme.id, settings=Policy(enabled=False).model_dump(mode="json")
            )
        )
        documents = [_choice_item(f"SC-{n}", "single_choice") for n in range(24)]
        documents += [_choice_item(f"MR-{n}", "multiple_response") for n in range(6)]
        documents += [_essay_item(f"ES-{n}") for n in range(6)]
        for document in documents:
            version = await versions.create_item(
                session, scheme_id=scheme.id, document=document, actor_id=writer.id
            )
            await workflow.transition(
                session, version_id=version.id, to_status=ItemStatus.IN_REVIEW, actor=writer
            )
            await workflow.transition(
                session, version_id=version.id, to_status=ItemStatus.APPROVED, actor=reviewer
            )
        # Parts last four hours, so no run reaches a deadline.
        choice_part = {
            "key": "mc", "title": "Flervalg", "kind": "multiple_choice", "duration_minutes": 240,
            "rules": [{"item_type": "single_choice", "count": 8},
                      {"item_type": "multiple_response", "count": 2}],
        }  # fmt: skip
        essay_part = {
            "key": "kunnskap", "title": "Kunnskap", "kind": "knowledge", "duration_minutes": 240,
            "rules": [{"item_type": "essay", "count": 2}],
        }  # fmt: skip
        now = utcnow()
        sittings = []
        for code, parts in (("MC", [choice_part, essay_part]), ("ES", [essay_part, choice_part])):
            blueprint = await blueprints.create_blueprint(
                session, scheme_id=scheme.id, code=code, name=f"Bench {code}", language="nb",
                definition=blueprints.parse_blueprint({"parts": parts}), actor_id=None,
            )  # fmt: skip
            sittings.append(
                await registrations.create_sitting(
                    session,
                    blueprint_id=blueprint.id,
                    name=f"Bench {code}",
                    opens_at=now - timedelta(minutes=5),
                    closes_at=now + timedelta(hours=12),
                    actor=admin,
                )
            )
        await session.commit()

        # argon2 takes ~0.1 s per hash on purpose; hashing the one password 2,000 times would
        # take minutes, so it is hashed once and the users are inserted with that hash (as
        # create_user would store them, audit entries included). Sign-in verifies it for real.
        password_hash = password_hasher().hash(PASSWORD)
        candidates: list[Candidate] = []
        for start in range(0, count, 250):
            users = [
                User(
                    username=f"bench{n:05d}",
                    full_name=f"Kandidat {n}",
                    password_hash=password_hash,
                    role_rows=[UserRole(role=Role.CANDIDATE.value)],
                )
                for n in range(start, min(count, start + 250))
            ]
            session.add_all(users)
            await session.flush()
            await audit.record_many(
                session,
                [
                    audit.AuditEvent(
                        None,
                        "user.create",
                        "user",
                        user.id,
                        after={"username": user.username, "roles": [Role.CANDIDATE.value]},
                    )
                    for user in users
                ],
            )
            for user in users:
                n = len(candidates)
                sitting = sittings[n % 2]
                await registrations.decide_application(
                    session, candidate_id=user.id, scheme_id=scheme.id, approve=True,
                    actor=admin, now=now,
                )  # fmt: skip
                registration = await registrations.register(
                    session, sitting_id=sitting.id, candidate=user, actor=admin
                )
                candidates.append(Candidate(n, user.username, registration.id))
            await session.commit()
    await engine.dispose()
    return candidates


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped; its log:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/api/time", timeout=2, trust_env=False).status_code == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"the server did not answer within 60 s; its log:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def serving(command: list[str], env: dict[str, str], folder: Path, name: str) -> Iterator[Any]:
    """Run a server subprocess (in ``folder``, so no stray .env is read) and stop it afterwards."""
    port = _free_port()
    log = folder / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=folder,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base_url, process, log)
        yield base_url, process
    finally:
        process.terminate()  # uvicorn shuts down gracefully on SIGTERM
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def vakt_command(workers: int) -> list[str]:
    """`vakt serve` from this interpreter's environment."""
    script = Path(sys.executable).with_name("vakt")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "vakt.cli"]
    return [*base, "serve", "--host", "127.0.0.1", "--workers", str(workers)]


def ceiling_command(workers: int) -> list[str]:
    """uvicorn serving bench/ceiling_app.py with the same worker count and keep-alive."""
    from vakt.settings import Settings

    return [
        sys.executable, "-m", "uvicorn", "ceiling_app:create_app", "--factory",
        "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1", "--workers", str(workers),
        "--timeout-keep-alive", str(Settings.model_fields["keep_alive_seconds"].default),
    ]  # fmt: skip


# ---- CPU accounting -------------------------------------------------------------------------------


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_table() -> dict[int, tuple[int, str, float]]:
    """pid: (parent pid, command name, CPU seconds so far) for every process we can read."""
    table: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            name, rest = (entry / "stat").read_text().split("(", 1)[1].rsplit(")", 1)
            fields = rest.split()
            ticks = sum(int(v) for v in fields[11:15])  # its own and its reaped children's
            table[int(entry.name)] = (int(fields[1]), name, ticks / CLOCK_TICKS)
    return table


def cpu_by_owner(server_pid: int, client_pids: Sequence[int]) -> tuple[float, float, float]:
    """CPU seconds so far of (the server's process tree, the clients', PostgreSQL's processes)."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _name, _cpu) in table.items():
        children.setdefault(parent, []).append(pid)

    def tree(roots: Sequence[int]) -> float:
        total, stack, seen = 0.0, list(roots), set()
        while stack:
            pid = stack.pop()
            if pid in seen or pid not in table:
                continue
            seen.add(pid)
            total += table[pid][2]
            stack.extend(children.get(pid, []))
        return total

    database = sum(cpu for _parent, name, cpu in table.values() if name.startswith("postgres"))
    return tree([server_pid]), tree(client_pids), database


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


# ---- running the harness and reporting ------------------------------------------------------------


@dataclasses.dataclass
class RunReport:
    """The figures of one run against one server."""

    target: str
    database: str
    workers: int
    candidates: int
    ready: int
    duration: float
    saves: int
    saves_per_second: float
    errors: Counter[str]
    p50: float
    p95: float
    p99: float
    max: float
    navigations: int
    nav_p99: float
    setup_seconds: float
    sign_in_p50: float
    sign_in_p95: float
    setup_errors: Counter[str]
    server_cpu: float
    client_cpu: float
    database_cpu: float
    machine_cpu: float
    nav_errors: Counter[str] = dataclasses.field(default_factory=Counter)
    messages_interval: float = 0.0
    polls: int = 0
    """Messages polls answered 200 in the window."""
    polls_per_second: float = 0.0
    poll_errors: Counter[str] = dataclasses.field(default_factory=Counter)
    poll_p50: float = 0.0
    poll_p95: float = 0.0
    poll_p99: float = 0.0
    poll_max: float = 0.0
    phases: list[SavePhases] = dataclasses.field(default_factory=list)
    client_loop_lags: list[float] = dataclasses.field(default_factory=list)

    @property
    def other_cpu(self) -> float:
        """CPU used by anything else on the machine meanwhile (it disturbs the figures)."""
        return max(0.0, self.machine_cpu - self.server_cpu - self.client_cpu - self.database_cpu)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def run_harness(
    args: argparse.Namespace,
    candidates: Sequence[Candidate],
    base_url: str,
    server: subprocess.Popen[bytes],
    *,
    target: str,
) -> RunReport:
    """Drive the candidates against a running server and measure the steady state."""
    context = multiprocessing.get_context("spawn")
    shared = Shared(
        context.Value("i", 0), context.Value("i", 0), context.Value("d", 0.0),
        context.Value("d", 0.0),
    )  # fmt: skip
    bare = target == "ceiling"
    config = ClientConfig(
        base_url=base_url,
        bare=bare,
        interval=args.interval,
        jitter=args.jitter,
        nav_probability=args.nav_probability,
        state_share=args.state_share,
        sign_in_concurrency=max(1, args.sign_in_concurrency // args.clients),
        hard_stop=time.time() + args.setup_timeout + args.warmup + args.duration + 60,
        phases=args.phases,
        messages_interval=0.0 if bare else args.messages_interval,
    )
    results = context.Queue()
    processes = [
        context.Process(
            target=client_main, args=(config, candidates[n :: args.clients], shared, results)
        )
        for n in range(args.clients)
    ]
    try:
        return _measure(args, processes, shared, results, server, target, total=len(candidates))
    finally:
        for process in processes:  # only after an interruption are any left
            if process.is_alive():
                process.terminate()
            process.join(timeout=5)


def _measure(
    args: argparse.Namespace,
    processes: Sequence[Any],
    shared: Shared,
    results: Any,
    server: subprocess.Popen[bytes],
    target: str,
    *,
    total: int,
) -> RunReport:
    """Start the clients, wait for the ramp, measure the window, and gather the figures."""
    started = time.time()
    for process in processes:
        process.start()
    last_print = 0.0
    while (
        shared.ready.value + shared.failed.value < total
        and time.time() - started < args.setup_timeout
    ):
        time.sleep(0.5)
        if time.time() - last_print >= 10:
            last_print = time.time()
            print(
                f"  [{target}] {time.time() - started:5.0f} s: {shared.ready.value} ready, "
                f"{shared.failed.value} failed of {total}",
                flush=True,
            )
    setup_seconds = time.time() - started
    window_start = time.time() + args.warmup
    shared.window_end.value = window_start + args.duration
    shared.window_start.value = window_start
    print(
        f"  [{target}] set-up took {setup_seconds:.0f} s ({shared.ready.value} ready, "
        f"{shared.failed.value} failed); warm-up {args.warmup:.0f} s, then {args.duration:.0f} s "
        "measured",
        flush=True,
    )
    time.sleep(max(0.0, window_start - time.time()))
    client_pids = [p.pid for p in processes if p.pid is not None]
    cpu_before = (*cpu_by_owner(server.pid, client_pids), machine_busy()[0])
    time.sleep(max(0.0, shared.window_end.value - time.time()))
    cpu_after = (*cpu_by_owner(server.pid, client_pids), machine_busy()[0])
    collected: list[ClientResult] = [results.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    window = args.duration
    server_cpu, client_cpu, database_cpu, machine_cpu = (
        (after - before) / window for before, after in zip(cpu_before, cpu_after, strict=True)
    )

    def in_window(rows: Sequence[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
        return [r for r in rows if window_start <= r[0] < window_start + window]

    saves = in_window([row for result in collected for row in result.saves])
    navigations = in_window([row for result in collected for row in result.navigations])
    ok = sorted(latency for _t, latency, status in saves if status == "200")
    every = sorted(latency for _t, latency, _status in saves)
    errors = Counter(status for _t, _latency, status in saves if status != "200")
    sign_ins = sorted(value for result in collected for value in result.sign_ins)
    setup_errors: Counter[str] = Counter()
    for result in collected:
        setup_errors.update(result.setup_errors)
    nav_latencies = sorted(latency for _t, latency, _status in navigations)
    polls = in_window([row for result in collected for row in result.polls])
    poll_latencies = sorted(latency for _t, latency, _status in polls)
    polls_ok = sum(status == "200" for _t, _latency, status in polls)
    return RunReport(
        target=target,
        database=args.database,
        workers=args.workers,
        candidates=total,
        ready=shared.ready.value,
        duration=window,
        saves=len(ok),
        saves_per_second=len(ok) / window,
        errors=errors,
        p50=percentile(every, 0.50),
        p95=percentile(every, 0.95),
        p99=percentile(every, 0.99),
        max=every[-1] if every else 0.0,
        navigations=len(navigations),
        nav_p99=percentile(nav_latencies, 0.99),
        setup_seconds=setup_seconds,
        sign_in_p50=percentile(sign_ins, 0.50),
        sign_in_p95=percentile(sign_ins, 0.95),
        setup_errors=setup_errors,
        server_cpu=server_cpu,
        client_cpu=client_cpu,
        database_cpu=database_cpu,
        machine_cpu=machine_cpu,
        nav_errors=Counter(status for _t, _latency, status in navigations if status != "200"),
        messages_interval=0.0 if target == "ceiling" else args.messages_interval,
        polls=polls_ok,
        polls_per_second=polls_ok / window,
        poll_errors=Counter(status for _t, _latency, status in polls if status != "200"),
        poll_p50=percentile(poll_latencies, 0.50),
        poll_p95=percentile(poll_latencies, 0.95),
        poll_p99=percentile(poll_latencies, 0.99),
        poll_max=poll_latencies[-1] if poll_latencies else 0.0,
        phases=[
            row
            for result in collected
            for row in result.phases
            if window_start <= row.started_at < window_start + window
        ],
        client_loop_lags=[
            late
            for result in collected
            for when, late in result.loop_lags
            if window_start <= when < window_start + window
        ],
    )


def print_report(report: RunReport) -> None:
    """The figures of one run, one per line."""
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(report.errors.items())) or "none"
    print(f"\n== {report.target} on {report.database}, {report.workers} worker(s) ==")
    print(f"candidates            {report.candidates} ({report.ready} ready)")
    if report.target == "vakt":
        setup_errors = ", ".join(f"{k}: {v}" for k, v in report.setup_errors.items()) or "none"
        print(
            f"set-up                {report.setup_seconds:.0f} s; sign-in p50 "
            f"{report.sign_in_p50:.0f} ms, p95 {report.sign_in_p95:.0f} ms; "
            f"failures: {setup_errors}"
        )
    print(f"duration              {report.duration:.0f} s (steady state)")
    print(f"saves                 {report.saves} ({report.saves_per_second:.1f} saves/s)")
    print(f"errors by status      {errors}")
    print(
        f"save latency          p50 {report.p50:.1f} ms, p95 {report.p95:.1f} ms, "
        f"p99 {report.p99:.1f} ms, max {report.max:.1f} ms"
    )
    nav_errors = ", ".join(f"{k}: {v}" for k, v in sorted(report.nav_errors.items())) or "none"
    print(
        f"navigations           {report.navigations} (p99 {report.nav_p99:.1f} ms; errors: "
        f"{nav_errors})"
    )
    if report.messages_interval > 0:
        poll_errors = (
            ", ".join(f"{k}: {v}" for k, v in sorted(report.poll_errors.items())) or "none"
        )
        print(
            f"messages polls        {report.polls} ({report.polls_per_second:.1f} polls/s, one "
            f"per candidate every {report.messages_interval:g} s)"
        )
        print(f"poll errors by status {poll_errors}")
        print(
            f"poll latency          p50 {report.poll_p50:.1f} ms, p95 {report.poll_p95:.1f} ms, "
            f"p99 {report.poll_p99:.1f} ms, max {report.poll_max:.1f} ms"
        )
    else:
        print("messages polls        off")
    print(
        f"CPU (100 % = 1 core)  server {report.server_cpu:.0%}, load generator "
        f"{report.client_cpu:.0%}, PostgreSQL {report.database_cpu:.0%}, anything else "
        f"{report.other_cpu:.0%}; whole machine {report.machine_cpu:.0%} of "
        f"{os.cpu_count() or 1}00 %"
    )
    if report.phases:
        print_phases(report)


def print_phases(report: RunReport) -> None:
    """Where the saves' time went (--phases), and how late the clients' own loops woke up."""
    new = sum(row.new_connection for row in report.phases)
    print(
        f"save phases (ms)      {len(report.phases)} saves, {new / len(report.phases):.0%} on a "
        "new connection"
    )
    for phase in ("total", *PHASES):
        values = sorted(
            sum(getattr(row, name) for name in PHASES) if phase == "total" else getattr(row, phase)
            for row in report.phases
        )
        print(
            f"  {phase:8}            p50 {percentile(values, 0.5):8.1f}  p95 "
            f"{percentile(values, 0.95):8.1f}  p99 {percentile(values, 0.99):8.1f}  max "
            f"{values[-1]:8.1f}"
        )
    slowest = sorted(report.phases, key=lambda row: -sum(getattr(row, n) for n in PHASES))
    share = slowest[: max(1, len(slowest) // 100)]
    print(
        "  slowest 1 %: mean "
        + ", ".join(
            f"{name} {sum(getattr(r, name) for r in share) / len(share):.1f}" for name in PHASES
        )
        + f"; {sum(r.new_connection for r in share) / len(share):.0%} on a new connection"
    )
    lags = sorted(report.client_loop_lags)
    if lags:
        print(
            f"client loops          woke > 5 ms late {len(lags)} times: p50 "
            f"{percentile(lags, 0.5):.1f}, p99 {percentile(lags, 0.99):.1f}, max {lags[-1]:.1f} ms"
            f", {sum(lags) / 1000:.1f} s in all"
        )


def print_summary(reports: Sequence[RunReport]) -> None:
    """One table over every run, and Vakt against the ceiling."""
    print(
        "\n| target | database | workers | N | saves/s | errors | p50 ms | p95 ms | p99 ms "
        "| max ms | polls/s | poll errors | poll p50 ms | poll p99 ms | server CPU | client CPU "
        "| PostgreSQL CPU | other CPU |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in reports:
        polls = (
            f"{r.polls_per_second:.1f} | {sum(r.poll_errors.values())} | {r.poll_p50:.1f} | "
            f"{r.poll_p99:.1f}"
            if r.messages_interval > 0
            else "– | – | – | –"
        )
        print(
            f"| {r.target} | {r.database} | {r.workers} | {r.candidates} | "
            f"{r.saves_per_second:.1f} | {sum(r.errors.values())} | {r.p50:.1f} | {r.p95:.1f} | "
            f"{r.p99:.1f} | {r.max:.0f} | {polls} | {r.server_cpu:.0%} | {r.client_cpu:.0%} | "
            f"{r.database_cpu:.0%} | {r.other_cpu:.0%} |"
        )
    by_target = {r.target: r for r in reports}
    if "vakt" in by_target and "ceiling" in by_target:
        vakt, ceiling = by_target["vakt"], by_target["ceiling"]
        share = vakt.saves_per_second / ceiling.saves_per_second if ceiling.saves else 0.0
        print(
            f"\nVakt's throughput is {share:.0%} of the ceiling's (target >= 50 %); "
            f"p99 {vakt.p99:.1f} ms (target <= 100 ms). At one save per "
            "candidate per interval the offered load is the same for both, so throughput "
            "only parts when a server falls behind; compare the latencies and the server CPU."
        )


def main() -> None:
    """Parse the options, set everything up, run Vakt and the ceiling, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidates", type=int, default=2000, help="simulated candidates")
    parser.add_argument("--duration", type=float, default=120, help="measured seconds")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--pg-server",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help=f"PostgreSQL server; the database {PG_DATABASE} on it is dropped and recreated",
    )
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--clients", type=int, default=2, help="load-generating processes")
    parser.add_argument("--interval", type=float, default=10, help="seconds between saves")
    parser.add_argument("--jitter", type=float, default=2, help="+/- seconds on each interval")
    parser.add_argument(
        "--nav-probability", type=float, default=0.2, help="chance of a navigation after a save"
    )
    parser.add_argument(
        "--state-share",
        type=float,
        default=0.1,
        help="share of navigations that read the whole state (a reload); the rest GET /api/time",
    )
    parser.add_argument(
        "--sign-in-concurrency",
        type=int,
        default=4,
        help="sign-ins in flight at once (all clients)",
    )
    parser.add_argument(
        "--messages-interval",
        type=float,
        default=5,
        help="seconds between two asks for the proctors' messages, as the exam page polls "
        "(each candidate at a random phase; 0: no poll; the ceiling never polls)",
    )
    parser.add_argument("--warmup", type=float, default=15, help="seconds before measuring")
    parser.add_argument("--setup-timeout", type=float, default=900, help="give up the ramp after")
    parser.add_argument("--target", choices=("both", "vakt", "ceiling"), default="both")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="trace where each save's time goes on the client (connect, send, wait, read) and "
        "how late the clients' own event loops wake up; costs the clients some CPU",
    )
    args = parser.parse_args()
    # A background job ignores SIGINT; SIGTERM then also stops the server and the clients.
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit("terminated"))

    folder = Path(tempfile.mkdtemp(prefix="vakt-bench-"))
    reports: list[RunReport] = []
    try:
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"folder {folder}; load average {load}; preparing the {args.database} database")
        url = prepare_database(args.database, folder, args.pg_server)
        started = time.perf_counter()
        candidates = asyncio.run(seed(url, args.candidates))
        print(f"seeded {len(candidates)} candidates in {time.perf_counter() - started:.0f} s")
        if args.target in ("both", "vakt"):
            env = {
                "VAKT_SECRET_KEY": secrets.token_urlsafe(48),
                "VAKT_DATABASE_URL": url,
                "VAKT_DATA_DIR": str(folder / "data"),
                # Every simulated candidate signs in from 127.0.0.1.
                "VAKT_LOGIN_ADDRESS_FREE_FAILURES": str(max(1000, 10 * args.candidates)),
                "VAKT_AUTO_SUBMIT_INTERVAL_SECONDS": "5",
            }
            with serving(vakt_command(args.workers), env, folder, "vakt") as (base_url, server):
                print(f"vakt serve --workers {args.workers} on {base_url}", flush=True)
                reports.append(run_harness(args, candidates, base_url, server, target="vakt"))
            print_report(reports[-1])
        if args.target in ("both", "ceiling"):
            from ceiling_app import DATABASE_URL_VARIABLE, create_table

            asyncio.run(create_table(url))
            env = {DATABASE_URL_VARIABLE: url}
            with serving(ceiling_command(args.workers), env, folder, "ceiling") as (
                base_url,
                server,
            ):
                print(f"ceiling app, {args.workers} worker(s), on {base_url}", flush=True)
                reports.append(run_harness(args, candidates, base_url, server, target="ceiling"))
            print_report(reports[-1])
        print_summary(reports)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
