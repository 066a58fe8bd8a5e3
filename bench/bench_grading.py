"""Grading queue benchmark: concurrent graders claiming, marking and submitting scripts.

Seeds a queue of --scripts scripts (two essays in each candidate's handed-in part, so half as
many candidates), then --graders graders, each an asyncio task, loop for --duration seconds (or
until --claims claims): claim the next script (``grading.claims.claim_next``), save marks on
every criterion (``grading.marking.save_marks``) and submit them (``submit_marks``), each step a
transaction of its own on a session of its own, as a request would be, from one engine whose
pool is sized as in production (``VAKT_DATABASE_POOL_SIZE``, ``VAKT_DATABASE_MAX_OVERFLOW``).

Usage:

    python bench/bench_grading.py [--scripts 20000] [--graders 50] [--duration 60]
    python bench/bench_grading.py --claims 10000 --duration 0
    python bench/bench_grading.py --audit off     # profiling only: no audit log at all

By default a fresh database (``vakt_bench_grading_<random>``) is created on the PostgreSQL server
of --pg-server, migrated, and dropped at the end (--keep-database keeps it); --database-url uses an
existing empty database instead, and leaves it. The seed: a scheme, two approved essay items with
a two-criterion guide, a blueprint of one knowledge part, one assembled form and a sitting, made
through the services; the graders through the services too (qualified for the scheme, as every
grader in production, with the proctoring domain's ``Examiners`` as ``web.app`` wires it); the
candidates, registrations, attempts, handed-in parts and scripts inserted in bulk (Core), as the
hand-in would have made them (without their audit entries: nothing here reads them).

Claim latency is ``time.perf_counter`` around one claim's transaction: taking a pooled
connection, loading the grader (as a request does), ``claim_next`` and the commit. Afterwards the
database is checked: no script with more markings than it needs (or than its ``taken_marks``
says), no grader with two markings of one script, and the audit chain intact. Prints claims/s,
marks/s, p50/p90/p99/max claim latency, the time spent appending to the audit log inside the
claims (the chain's head row lock is where concurrent writers queue), errors, the machine and the
settings. Target (printed, not asserted): claim p99 <= 50 ms on a 2-core machine, no double
assignment. Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import dataclasses
import os
import platform
import random
import secrets
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

DEFAULT_PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CHUNK = 2_000
"""Rows per bulk INSERT."""
CRITERIA = [("Innhold", 6.0), ("Struktur", 4.0)]
"""The essays' grading guide: two criteria, so a marking is two marks."""
AUTOSAVE_SECONDS = 3.0
"""With a think time: about how often a grader's screen autosaves while they mark."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# ---- measuring ------------------------------------------------------------------------------------

_in_claim: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "in_claim", default=None
)
"""While a claim is timed: where the time spent appending to the audit log is added up."""


def time_audit_appends() -> None:
    """Wrap ``vakt.audit.record_many`` (which ``record`` calls) to add up, per timed claim, the
    time spent in it: waiting for the chain's head row, appending the entry, moving the head."""
    from vakt import audit

    original = audit.record_many

    async def timed(session: AsyncSession, events: Sequence[Any]) -> Any:
        spent = _in_claim.get()
        if spent is None:
            return await original(session, events)
        started = time.perf_counter()
        try:
            return await original(session, events)
        finally:
            spent.append(time.perf_counter() - started)

    audit.record_many = timed


def switch_audit_off() -> None:
    """Profiling only: appending to the audit log does nothing (what the claims would cost if no
    writer waited for the chain's head). Never a valid way to run Vakt."""
    from vakt import audit

    async def nothing(session: AsyncSession, events: Sequence[Any]) -> list[Any]:
        # Unsaved entries: the callers may read what they recorded.
        return [audit.AuditEntry(seq=0, action=event.action) for event in events]

    audit.record_many = nothing


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def process_cpu() -> tuple[float, float]:
    """(this process's CPU seconds, PostgreSQL's processes' CPU seconds) so far."""
    own = time.process_time()
    database = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            name, rest = (entry / "stat").read_text().split("(", 1)[1].rsplit(")", 1)
            if name.startswith("postgres"):
                fields = rest.split()
                database += sum(int(v) for v in fields[11:15]) / CLOCK_TICKS
    return own, database


def cpu_model() -> str:
    """The CPU's model name, as the kernel reports it."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine so far."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


@dataclasses.dataclass
class Tally:
    """What the graders did, shared by their tasks (one event loop: no locks needed)."""

    claims: list[float] = dataclasses.field(default_factory=list)
    """Seconds per successful claim transaction."""
    claim_audit: list[float] = dataclasses.field(default_factory=list)
    """Seconds of each successful claim spent in the audit log's append."""
    saves: list[float] = dataclasses.field(default_factory=list)
    submits: list[float] = dataclasses.field(default_factory=list)
    empty: int = 0
    """Claims that found nothing left to claim."""
    errors: Counter[str] = dataclasses.field(default_factory=Counter)


# ---- set-up ---------------------------------------------------------------------------------------


async def create_database(server_url: str) -> str:
    """A fresh database on the server; returns its URL."""
    import asyncpg

    server = make_url(server_url)
    name = f"vakt_bench_grading_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(
        host=server.host, port=server.port or 5432, user=server.username,
        password=server.password, database=server.database or "postgres",
    )  # fmt: skip
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return server.set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, database_url: str) -> None:
    """Drop the database ``create_database`` made."""
    import asyncpg

    server = make_url(server_url)
    name = make_url(database_url).database
    connection = await asyncpg.connect(
        host=server.host, port=server.port or 5432, user=server.username,
        password=server.password, database=server.database or "postgres",
    )  # fmt: skip
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@dataclasses.dataclass(frozen=True)
class Seeded:
    """What the graders work on."""

    grader_ids: list[int]
    scripts: int
    seconds: float


def _essay(external_id: str) -> Any:
    from itembank.schemas import ItemDocument

    question = {
        "type": "essay",
        "prompt_html": "<p>Drøft mangfoldsledelse i en virksomhet du kjenner.</p>",
        "points": 10,
        "word_limit": 2000,
        "guide": {"criteria": [{"name": n, "max_points": m} for n, m in CRITERIA]},
    }
    return ItemDocument.model_validate(
        {"external_id": external_id, "title": external_id, "type": "essay", "questions": [question]}
    )


async def _bulk(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows in chunks; their ids, in the rows' order."""
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        result = await session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            rows[start : start + CHUNK],
        )
        ids.extend(result.scalars())
    return ids


async def seed(
    sessionmaker: async_sessionmaker[AsyncSession],
    script_count: int,
    grader_count: int,
    graded: int = 0,
) -> Seeded:
    """The exam through the services, the graders through the services, the queue in bulk; the
    oldest ``graded`` scripts already final (graded before: their markings are not seeded)."""
    from exam import registrations
    from exam.models import Attempt, AttemptPart, AttemptStatus, Registration, SubmittedBy
    from grading import graders
    from grading.models import Script, ScriptKind, ScriptStatus
    from grading.scripts import new_code
    from itembank import blueprints, schemes, versions, workflow
    from itembank.schemas import ItemStatus
    from vakt.accounts import Role, User, UserRole, create_user
    from vakt.db import utcnow

    started = time.perf_counter()
    now = utcnow()
    async with sessionmaker() as session:
        staff = {
            role: await create_user(
                session,
                username=f"bench-{role.value}",
                full_name=f"Bench {role.value}",
                password=None,
                roles={role},
            )
            for role in (Role.ADMINISTRATOR, Role.ITEM_WRITER, Role.ITEM_REVIEWER)
        }
        admin = staff[Role.ADMINISTRATOR]
        scheme = await schemes.create_scheme(session, code="BENCH", name="Bench", actor_id=None)
        for number in range(2):
            version = await versions.create_item(
                session, scheme_id=scheme.id, document=_essay(f"ES-{number}"),
                actor_id=staff[Role.ITEM_WRITER].id,
            )  # fmt: skip
            await workflow.transition(
                session, version_id=version.id, to_status=ItemStatus.IN_REVIEW,
                actor=staff[Role.ITEM_WRITER],
            )  # fmt: skip
            await workflow.transition(
                session, version_id=version.id, to_status=ItemStatus.APPROVED,
                actor=staff[Role.ITEM_REVIEWER],
            )  # fmt: skip
        part = {
            "key": "kunnskap", "title": "Kunnskap", "kind": "knowledge", "duration_minutes": 90,
            "rules": [{"item_type": "essay", "count": 2}],
        }  # fmt: skip
        blueprint = await blueprints.create_blueprint(
            session, scheme_id=scheme.id, code="GR", name="Bench grading", language="nb",
            definition=blueprints.parse_blueprint({"parts": [part]}), actor_id=None,
        )  # fmt: skip
        form = await blueprints.assemble_form(session, blueprint_id=blueprint.id, actor_id=None)
        sitting = await registrations.create_sitting(
            session, blueprint_id=blueprint.id, name="Bench grading",
            opens_at=now - timedelta(days=1), closes_at=now - timedelta(hours=1), actor=admin,
        )  # fmt: skip
        grader_ids = []
        for number in range(grader_count):
            grader = await create_user(
                session, username=f"sensor{number:03d}", full_name=f"Sensor {number}",
                password=None, roles={Role.GRADER},
            )  # fmt: skip
            await graders.qualify(
                session, grader_id=grader.id, scheme_id=scheme.id, actor=admin, now=now
            )
            grader_ids.append(grader.id)
        await session.commit()

        versions_in_form = [row.item_version_id for row in form.items]
        candidates = -(-script_count // len(versions_in_form))
        started_at = now - timedelta(hours=20)
        user_ids = await _bulk(
            session,
            User.__table__,
            [
                {
                    "username": f"kandidat{n:06d}",
                    "full_name": f"Kandidat {n}",
                    "employer": f"Arbeidsgiver {n % 97}",
                    "created_at": now,
                }
                for n in range(candidates)
            ],
        )
        await session.execute(
            insert(UserRole),
            [{"user_id": user_id, "role": Role.CANDIDATE.value} for user_id in user_ids],
        )
        registration_ids = await _bulk(
            session,
            Registration.__table__,
            [
                {
                    "sitting_id": sitting.id,
                    "candidate_id": user_id,
                    "part_keys": ["kunnskap"],
                    "created_at": now,
                }
                for user_id in user_ids
            ],
        )
        attempt_ids = await _bulk(
            session,
            Attempt.__table__,
            [
                {
                    "registration_id": registration_id,
                    "form_id": form.id,
                    "started_at": started_at,
                    "status": AttemptStatus.FINISHED.value,
                    "ended_at": started_at + timedelta(minutes=90),
                }
                for registration_id in registration_ids
            ],
        )
        part_ids = await _bulk(
            session,
            AttemptPart.__table__,
            [
                {
                    "attempt_id": attempt_id,
                    "part_index": 0,
                    "part_key": "kunnskap",
                    "started_at": started_at,
                    "deadline": started_at + timedelta(minutes=90),
                    "submitted_at": started_at + timedelta(minutes=80),
                    "submitted_by": SubmittedBy.CANDIDATE.value,
                    "auto_score": 0.0,
                    "auto_max_score": 0.0,
                }
                for attempt_id in attempt_ids
            ],
        )
        codes: set[str] = set()
        while len(codes) < script_count:
            codes.add(new_code())
        rows = []
        for code, number in zip(
            sorted(codes, key=lambda _: random.random()), range(script_count), strict=True
        ):
            candidate = number // len(versions_in_form)
            rows.append(
                {
                    "code": code,
                    "scheme_id": scheme.id,
                    "sitting_id": sitting.id,
                    "registration_id": registration_ids[candidate],
                    "attempt_part_id": part_ids[candidate],
                    "item_version_id": versions_in_form[number % len(versions_in_form)],
                    "question_id": "RESPONSE",
                    "kind": ScriptKind.ESSAY.value,
                    "max_points": 10.0,
                    "required_marks": 2,
                    "taken_marks": 0,
                    "status": (
                        ScriptStatus.FINAL if number < graded else ScriptStatus.WAITING
                    ).value,
                    "final_points": 7.0 if number < graded else None,
                    "created_at": started_at + timedelta(minutes=80),
                }
            )
        await _bulk(session, Script.__table__, rows)
        await session.commit()
    async with sessionmaker() as session:
        # Fresh planner statistics, as autovacuum would soon give a queue this size.
        await session.execute(text("ANALYZE"))
        await session.commit()
    return Seeded(grader_ids, script_count, time.perf_counter() - started)


# ---- the graders ----------------------------------------------------------------------------------


async def _timed(
    into: list[float], errors: Counter[str], step: str, work: Callable[[], Awaitable[Any]]
) -> Any:
    started = time.perf_counter()
    try:
        result = await work()
    except Exception as error:
        errors[f"{step}: {type(error).__name__}: {str(error)[:120]}"] += 1
        return None
    into.append(time.perf_counter() - started)
    return result


async def grader_loop(
    sessionmaker: async_sessionmaker[AsyncSession],
    grader_id: int,
    tally: Tally,
    *,
    deadline: float,
    claim_budget: list[int],
    examiners: Any,
    think: float = 0.0,
) -> None:
    """Claim, mark, submit; until the deadline, the claims run out or the queue is empty. With
    ``think`` seconds (mean), the grader reads and marks between the claim and the submit,
    autosaving as they go; with none, the next claim follows the submit at once."""
    from grading import claims, marking
    from grading.models import Script
    from vakt.accounts import User
    from vakt.db import utcnow

    rng = random.Random(grader_id)

    async def load_grader(session: AsyncSession) -> User:
        grader = await session.get(User, grader_id)
        assert grader is not None
        return grader

    if think > 0:
        # Graders do not all press "Next script" in the same instant: each starts somewhere in
        # a first think time, so the claims arrive spread out as they would in a working day.
        await asyncio.sleep(rng.uniform(0, think))
    while time.perf_counter() < deadline and claim_budget[0] > 0:
        claim_budget[0] -= 1
        audit_spent: list[float] = []

        started = time.perf_counter()
        token = _in_claim.set(audit_spent)
        try:
            async with sessionmaker() as session:
                claimed = await claims.claim_next(
                    session, grader=await load_grader(session), now=utcnow(), examiners=examiners
                )
                await session.commit()
        except Exception as error:
            tally.errors[f"claim: {type(error).__name__}: {str(error)[:120]}"] += 1
            continue
        finally:
            _in_claim.reset(token)
        if claimed is None:
            tally.empty += 1
            return
        tally.claims.append(time.perf_counter() - started)
        script_id = claimed.script_id
        tally.claim_audit.append(sum(audit_spent))
        # The marking page: the grader reads the answer and types marks (not timed).
        async with sessionmaker() as session:
            code = await session.scalar(select(Script.code).where(Script.id == script_id))
        assert code is not None
        marks = [rng.randint(int(most * 0.4), int(most)) for _name, most in CRITERIA]

        async def save(marks: list[int | None], sequence: int, code: str = code) -> None:
            async with sessionmaker() as session:
                await marking.save_marks(
                    session, code=code, grader=await load_grader(session), marks=marks,
                    comment="Godt strukturert, noe tynn drøfting.", sequence=sequence,
                    now=utcnow(),
                )  # fmt: skip
                await session.commit()

        async def submit(code: str = code) -> None:
            async with sessionmaker() as session:
                await marking.submit_marks(
                    session, code=code, grader=await load_grader(session), now=utcnow()
                )
                await session.commit()

        if think > 0:
            # Reading and marking, jittered +-50 %: the autosave stores the marks as they are
            # typed, one criterion after the other, every AUTOSAVE_SECONDS or so.
            reading = think * rng.uniform(0.5, 1.5)
            saves = max(1, round(reading / AUTOSAVE_SECONDS))
            for number in range(1, saves + 1):
                await asyncio.sleep(reading / saves)
                filled = -(-len(marks) * number // saves)
                typed: list[int | None] = [*marks[:filled], *[None] * (len(marks) - filled)]
                await _timed(
                    tally.saves, tally.errors, "save", lambda t=typed, n=number: save(t, n)
                )
        else:
            await _timed(tally.saves, tally.errors, "save", lambda m=list(marks): save(m, 1))
        await _timed(tally.submits, tally.errors, "submit", submit)


# ---- checking and reporting -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Checked:
    """What the database says after the run."""

    over_assigned: int
    """Scripts with more markings than they need."""
    miscounted: int
    """Scripts whose ``taken_marks`` differs from their markings."""
    same_grader_twice: int
    """(script, grader) pairs with more than one marking."""
    stuck: int
    """Scripts with every marking they need submitted, still waiting (a lost comparison)."""
    markings: int
    submitted: int
    statuses: dict[str, int]
    audit_entries: int
    audit_problems: list[str]


async def check(sessionmaker: async_sessionmaker[AsyncSession], *, verify: bool) -> Checked:
    """Count double assignments and verify the audit chain."""
    from grading.models import Marking, Script, ScriptStatus
    from vakt import audit

    async with sessionmaker() as session:
        per_script = (
            select(Marking.script_id, func.count().label("n"))
            .group_by(Marking.script_id)
            .subquery()
        )
        over = await session.scalar(
            select(func.count())
            .select_from(Script)
            .join(per_script, per_script.c.script_id == Script.id)
            .where(per_script.c.n > Script.required_marks)
        )
        miscounted = await session.scalar(
            select(func.count())
            .select_from(Script)
            .outerjoin(per_script, per_script.c.script_id == Script.id)
            .where(func.coalesce(per_script.c.n, 0) != Script.taken_marks)
        )
        twice = await session.scalar(
            select(func.count()).select_from(
                select(Marking.script_id, Marking.grader_id)
                .group_by(Marking.script_id, Marking.grader_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        submitted_per_script = (
            select(Marking.script_id, func.count().label("n"))
            .where(Marking.submitted_at.is_not(None))
            .group_by(Marking.script_id)
            .subquery()
        )
        stuck = await session.scalar(
            select(func.count())
            .select_from(Script)
            .join(submitted_per_script, submitted_per_script.c.script_id == Script.id)
            .where(
                submitted_per_script.c.n >= Script.required_marks,
                Script.status == ScriptStatus.WAITING,
            )
        )
        markings = await session.scalar(select(func.count()).select_from(Marking))
        submitted = await session.scalar(
            select(func.count()).select_from(Marking).where(Marking.submitted_at.is_not(None))
        )
        statuses = {
            str(status): int(count)
            for status, count in await session.execute(
                select(Script.status, func.count()).group_by(Script.status)
            )
        }
        report = await audit.verify_chain(session) if verify else audit.ChainReport()
    return Checked(
        int(over or 0), int(miscounted or 0), int(twice or 0), int(stuck or 0), int(markings or 0),
        int(submitted or 0), statuses, report.checked, report.problems,
    )  # fmt: skip


def _ms(values: Sequence[float], fraction: float) -> str:
    return f"{percentile(values, fraction) * 1000:.1f}"


def print_report(
    args: argparse.Namespace,
    tally: Tally,
    checked: Checked,
    *,
    elapsed: float,
    cpu: tuple[float, float, float],
) -> None:
    """The figures, then one Markdown table row for bench/README.md."""
    claims = sorted(tally.claims)
    audit_share = sorted(tally.claim_audit)
    own_cpu, database_cpu, machine_cpu = cpu
    print(f"\n== {len(claims)} claims by {args.graders} graders in {elapsed:.1f} s ==")
    achieved = len(claims) / elapsed
    if args.think_seconds > 0:
        # Each grader asks for a script once per think time (plus the time answering takes).
        offered = f"{args.graders / args.think_seconds:.1f} claims/s"
    else:
        offered = "unbounded (closed loop: the next claim as soon as the last submit returns)"
    print(f"claims                {len(claims)} ({achieved:.1f} claims/s)")
    print(f"rate                  offered {offered}, achieved {achieved:.1f} claims/s")
    print(
        f"marks                 {len(tally.submits)} submitted "
        f"({len(tally.submits) / elapsed:.1f} marks/s), {len(tally.saves)} saves"
    )
    print(
        f"claim latency         p50 {_ms(claims, 0.5)} / p90 {_ms(claims, 0.9)} / "
        f"p99 {_ms(claims, 0.99)} / max {_ms(claims, 1.0)} ms "
        f"(mean {statistics.fmean(claims) * 1000 if claims else 0:.1f} ms)"
    )
    if args.audit == "on" and claims:
        print(
            f"  in the audit append p50 {_ms(audit_share, 0.5)} / p99 {_ms(audit_share, 0.99)} ms;"
            f" {sum(audit_share) / sum(claims) * 100:.0f} % of all claim time"
        )
    saves, submits = sorted(tally.saves), sorted(tally.submits)
    print(f"save latency          p50 {_ms(saves, 0.5)} / p99 {_ms(saves, 0.99)} ms")
    print(f"submit latency        p50 {_ms(submits, 0.5)} / p99 {_ms(submits, 0.99)} ms")
    print(f"queue empty           {tally.empty} grader(s) found nothing left")
    errors = sum(tally.errors.values())
    print(f"errors                {errors}")
    for message, count in tally.errors.most_common(10):
        print(f"  {count:6d}  {message}")
    doubles = checked.over_assigned + checked.same_grader_twice
    print(
        f"double assignments    {doubles} (scripts over their markings "
        f"{checked.over_assigned}, a grader twice on a script {checked.same_grader_twice}; "
        f"taken_marks off {checked.miscounted})"
    )
    print(f"scripts left waiting  {checked.stuck} with every marking submitted (should be 0)")
    print(
        f"database              {checked.markings} markings, {checked.submitted} submitted; "
        f"scripts {dict(sorted(checked.statuses.items()))}"
    )
    if args.audit == "on" and not args.no_verify:
        state = "intact" if not checked.audit_problems else "; ".join(checked.audit_problems[:3])
        print(f"audit chain           {checked.audit_entries} entries, {state}")
    print(
        f"CPU (100 % = a core)  benchmark {own_cpu / elapsed * 100:.0f} %, PostgreSQL "
        f"{database_cpu / elapsed * 100:.0f} %, anything else "
        f"{max(0.0, machine_cpu - own_cpu - database_cpu) / elapsed * 100:.0f} %; the machine "
        f"has {(os.cpu_count() or 1) * 100} %"
    )
    print(
        f"target                claim p99 <= 50 ms: "
        f"{'met' if percentile(claims, 0.99) <= 0.05 else 'NOT met'}; "
        f"double assignments 0: {'met' if doubles == 0 else 'NOT met'}"
    )
    mode = "paced" if args.think_seconds > 0 else "closed loop"
    load = " / ".join(f"{value:.1f}" for value in (args.load_before, os.getloadavg()[0]))
    print(
        "\n| run | mode | think s | claims/s | marks/s | p50 ms | p90 ms | p99 ms | max ms "
        "| doubles | errors | load before / after |"
    )
    print(
        f"| {args.label} | {mode} | {args.think_seconds:g} | {achieved:.1f} | "
        f"{len(tally.submits) / elapsed:.1f} | {_ms(claims, 0.5)} | {_ms(claims, 0.9)} | "
        f"{_ms(claims, 0.99)} | {_ms(claims, 1.0)} | {doubles} | {errors} | {load} |"
    )


# ---- running --------------------------------------------------------------------------------------


async def warm_pool(engine: AsyncEngine, size: int) -> None:
    """Open the pool's ``size`` connections at once and give them back."""
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(size):
            connection = await stack.enter_async_context(engine.connect())
            await connection.execute(text("SELECT 1"))


async def run(args: argparse.Namespace, database_url: str) -> None:
    """Seed, run the graders, check, report."""
    from proctoring.involvement import ProctoringInvolvement
    from vakt.db import POOL_RECYCLE_SECONDS, create_engine, create_sessionmaker

    engine: AsyncEngine = create_engine(
        database_url,
        pool_size=args.pool_size,
        max_overflow=args.max_overflow,
        pool_recycle=POOL_RECYCLE_SECONDS,
    )
    sessionmaker = create_sessionmaker(engine)
    try:
        seeded = await seed(sessionmaker, args.scripts, args.graders, args.graded)
        print(
            f"seeded {seeded.scripts} scripts and {args.graders} graders in {seeded.seconds:.1f} s"
        )
        if args.audit == "off":
            switch_audit_off()
        else:
            time_audit_appends()
        # A running server's pool is warm: the first claims should not time its connects.
        await warm_pool(engine, args.pool_size)
        tally = Tally()
        args.load_before = os.getloadavg()[0]
        examiners = ProctoringInvolvement()
        budget = [args.claims if args.claims > 0 else 2**62]
        started = time.perf_counter()
        deadline = started + args.duration if args.duration > 0 else float("inf")
        cpu_before, machine_before = process_cpu(), machine_busy()
        await asyncio.gather(
            *(
                grader_loop(
                    sessionmaker,
                    grader_id,
                    tally,
                    deadline=deadline,
                    claim_budget=budget,
                    examiners=examiners,
                    think=args.think_seconds,
                )
                for grader_id in seeded.grader_ids
            )
        )
        elapsed = time.perf_counter() - started
        cpu_after, machine_after = process_cpu(), machine_busy()
        checked = await check(sessionmaker, verify=args.audit == "on" and not args.no_verify)
        cpu = (
            cpu_after[0] - cpu_before[0],
            cpu_after[1] - cpu_before[1],
            machine_after - machine_before,
        )
        print_report(args, tally, checked, elapsed=elapsed, cpu=cpu)
    finally:
        await engine.dispose()


def main() -> None:
    """Parse the options, make the database, run, drop it."""
    from vakt.dbadmin import upgrade
    from vakt.settings import Settings

    production = Settings()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scripts", type=int, default=20_000, help="scripts in the queue")
    parser.add_argument(
        "--graded", type=int, default=0, help="of the scripts, the oldest already final"
    )
    parser.add_argument("--graders", type=int, default=50, help="concurrent graders")
    parser.add_argument(
        "--duration", type=float, default=60, help="seconds the graders work (0: no limit)"
    )
    parser.add_argument("--claims", type=int, default=0, help="stop after this many (0: no limit)")
    parser.add_argument(
        "--pg-server", default=DEFAULT_PG_SERVER, help="server to make the fresh database on"
    )
    parser.add_argument(
        "--database-url", default="", help="an existing empty database instead (not dropped)"
    )
    parser.add_argument("--keep-database", action="store_true", help="do not drop it afterwards")
    parser.add_argument("--pool-size", type=int, default=production.database_pool_size)
    parser.add_argument("--max-overflow", type=int, default=production.database_max_overflow)
    parser.add_argument(
        "--audit", choices=("on", "off"), default="on",
        help="off: profiling only, the audit log does nothing",
    )  # fmt: skip
    parser.add_argument("--no-verify", action="store_true", help="skip verifying the audit chain")
    parser.add_argument(
        "--think-seconds", type=float, default=0.0,
        help="mean seconds each grader reads and marks a script (jittered +-50 %%; 0: closed "
        "loop without pause, the saturation figure)",
    )  # fmt: skip
    parser.add_argument("--label", default="run", help="the run's name in the table row")
    args = parser.parse_args()
    if args.duration <= 0 and args.claims <= 0:
        parser.error("give --duration or --claims")

    database_url = args.database_url or asyncio.run(create_database(args.pg_server))
    url = make_url(database_url)
    print(
        f"machine: {os.cpu_count()} CPUs ({cpu_model()}), "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print(
        f"database: {url.render_as_string(hide_password=True)}; pool {args.pool_size} "
        f"+ {args.max_overflow} overflow"
    )
    print(
        f"settings: {args.scripts} scripts (2 markings each; {args.graded} of them already "
        f"final), {args.graders} graders, "
        f"duration {args.duration:g} s, claims {args.claims or 'unlimited'}, audit {args.audit}, "
        f"think time {args.think_seconds:g} s"
    )
    try:
        upgrade(database_url)
        asyncio.run(run(args, database_url))
    finally:
        if not args.database_url and not args.keep_database:
            asyncio.run(drop_database(args.pg_server, database_url))


if __name__ == "__main__":
    main()
