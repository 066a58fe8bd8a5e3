"""Live grid benchmark: a sitting of N candidates whose live state changes all the time, watched by
a few proctors' streams (server-sent events).

1. A fresh database (SQLite in a temporary folder, or ``vakt_bench_grid`` on the PostgreSQL server
   given by ``--pg-server``, dropped and recreated), migrated, with a proctored sitting of N
   running attempts (one started through the services, the others copied from it row by row).
2. ``web.app.create_app`` served by uvicorn in a subprocess (``--workers``).
3. A simulator in this process: every ``--interval`` seconds (5) it writes, for every candidate,
   the live channel's state (connection, camera and microphone flipping now and then), a new
   still frame (the snapshot row and its file, the previous one deleted, as the live flagger
   does) and, for ``--flag-share`` of them (10 %), a new flag; each round is one transaction.
4. ``--clients`` proctors (3) sign in and read ``/proctor/sittings/{id}/live/events``.

Measured over ``--duration`` seconds after ``--warmup``: the server process's CPU (all its
threads and workers, from /proc), and for every flag the time from its row's commit to the first
client's event naming it (the card's ``newest_flag_id``), p50 and p99. Target: <= 2 s (the grid
polls every second by default); not asserted.

    python bench/bench_live_grid.py [--candidates 200] [--duration 60] [--pg-server URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exam.models import Attempt, AttemptPart, Registration  # noqa: E402
from proctoring.flags import raise_flag  # noqa: E402
from proctoring.models import (  # noqa: E402
    ConnectionState,
    FlagSource,
    FlagType,
    LiveChannel,
    Snapshot,
)
from proctoring.schemas import Policy  # noqa: E402
from proctoring.storage import MediaStore  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402
from vakt.accounts import User  # noqa: E402
from vakt.db import create_engine, create_sessionmaker, utcnow  # noqa: E402
from vakt.dbadmin import upgrade  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
JPEG = b"\xff\xd8\xff\xe0" + bytes(6000) + b"\xff\xd9"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(root_pid: int) -> float:
    """User and system CPU of a process and its children (uvicorn's workers)."""
    total = 0.0
    pids = [root_pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == root_pid:
                pids.append(int(entry.name))
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


async def seed(url: str, data_dir: Path, candidates: int) -> tuple[int, list[tuple[int, int, int]]]:
    """The sitting and its running attempts: (sitting id, [(registration, attempt, part)])."""
    from tests.conftest import _seed_users
    from tests.exam.factories import build_exam
    from tests.proctoring.reviewing import flagged_attempt

    await _seed_users(url)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        users = {user.username: user for user in await session.scalars(select(User))}
        exam = await build_exam(session, users, proctoring=Policy())
        first = await flagged_attempt(session, exam.registration_id, exam.candidate, [])
        registration = await session.get(Registration, exam.registration_id)
        attempt = await session.get(Attempt, first.attempt_id)
        part = await session.get(AttemptPart, first.part_id)
        assert registration and attempt and part
        now = utcnow()
        part.deadline = now + timedelta(hours=3)
        rows = [(registration.id, attempt.id, part.id)]
        for n in range(1, candidates):
            person = User(username=f"bench{n:04}", full_name=f"Kandidat {n:04}")
            session.add(person)
            await session.flush()
            copy = Registration(
                sitting_id=exam.sitting_id, candidate_id=person.id, part_keys=registration.part_keys
            )
            session.add(copy)
            await session.flush()
            started = Attempt(registration_id=copy.id, form_id=attempt.form_id, started_at=now)
            session.add(started)
            await session.flush()
            running = AttemptPart(
                attempt_id=started.id, part_index=0, part_key=part.part_key, started_at=now,
                deadline=now + timedelta(hours=3),
            )  # fmt: skip
            session.add(running)
            await session.flush()
            rows.append((copy.id, started.id, running.id))
        await session.commit()
    await engine.dispose()
    return exam.sitting_id, rows


async def simulate(
    url: str,
    store: MediaStore,
    rows: list[tuple[int, int, int]],
    interval: float,
    flag_share: float,
    committed: dict[int, float],
    stop: asyncio.Event,
) -> int:
    """Rounds of writes until ``stop``; returns how many rounds ran."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    frames: dict[int, tuple[int, str]] = {}
    rng = random.Random(7)
    rounds = 0
    policy = Policy()
    while not stop.is_set():
        started = time.monotonic()
        new_flags: list[int] = []
        stale: list[str] = []
        async with sessionmaker() as session:
            now = utcnow()
            for registration_id, attempt_id, part_id in rows:
                channel = await session.get(LiveChannel, registration_id)
                if channel is None:
                    channel = LiveChannel(
                        registration_id=registration_id,
                        connection_state=ConnectionState.CONNECTED,
                        updated_at=now,
                    )
                    session.add(channel)
                channel.video_live = rng.random() > 0.05
                channel.audio_live = rng.random() > 0.05
                channel.updated_at = now
                snapshot = Snapshot(
                    attempt_id=attempt_id, attempt_part_id=part_id,
                    stored_name=store.write_image(JPEG), taken_at=now, face_count=1,
                )  # fmt: skip
                session.add(snapshot)
                await session.flush()
                previous = frames.get(registration_id)
                frames[registration_id] = (snapshot.id, snapshot.stored_name)
                if previous:
                    await session.execute(delete(Snapshot).where(Snapshot.id == previous[0]))
                    stale.append(previous[1])
                if rng.random() < flag_share:
                    flag = await raise_flag(
                        session, policy=policy,
                        flag_type=rng.choice([FlagType.NO_FACE, FlagType.TAB_HIDDEN, FlagType.PASTE]),
                        source=FlagSource.LIVE, registration_id=registration_id,
                        attempt_id=attempt_id, attempt_part_id=part_id, started_at=now,
                    )  # fmt: skip
                    new_flags.append(flag.id)
            await session.commit()
        done = time.monotonic()
        for flag_id in new_flags:
            committed[flag_id] = done
        for name in stale:
            store.delete_image(name)
        rounds += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, interval - (done - started)))
    await engine.dispose()
    return rounds


async def watch(
    base: str, sitting_id: int, arrived: dict[int, float], ready: asyncio.Event, count: list[int]
) -> None:
    """One proctor's stream; notes when each flag first shows."""
    # No read timeout: a stream is quiet between changes (pings every 15 s).
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=None)) as client:
        page = await client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed = await client.post(
            "/login",
            data={"username": "proctor", "password": PASSWORD, "csrf_token": token, "next": "/"},
        )
        assert signed.status_code == 303, signed.text[:300]
        while True:
            async with client.stream("GET", f"/proctor/sittings/{sitting_id}/live/events") as reply:
                event = ""
                async for line in reply.aiter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        body: dict[str, Any] = json.loads(line.split(":", 1)[1])
                        at = time.monotonic()
                        count[0] += 1
                        if event == "grid":
                            ready.set()
                        for card in body["cards"]:
                            flag_id = card.get("newest_flag_id")
                            if flag_id is not None:
                                arrived.setdefault(flag_id, at)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--flag-share", type=float, default=0.1)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pg-server", help="postgresql+asyncpg://user@host:port/db")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="vakt-bench-grid-"))
    if args.pg_server:
        from tests.conftest import _pg_execute

        drop = 'DROP DATABASE IF EXISTS "vakt_bench_grid" WITH (FORCE)'
        await asyncio.to_thread(_pg_execute, args.pg_server, drop)
        await asyncio.to_thread(_pg_execute, args.pg_server, 'CREATE DATABASE "vakt_bench_grid"')
        url = (
            make_url(args.pg_server)
            .set(database="vakt_bench_grid")
            .render_as_string(hide_password=False)
        )
    else:
        url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    sitting_id, rows = await seed(url, folder, args.candidates)
    store = MediaStore(folder / "media")

    port = free_port()
    env = {
        **os.environ,
        "VAKT_DATABASE_URL": url,
        "VAKT_DATA_DIR": str(folder),
        "VAKT_SECRET_KEY": "bench-" + "x" * 40,
        "VAKT_PROCTORING_WATCH_INTERVAL_SECONDS": "0",
        "VAKT_AUTO_SUBMIT_INTERVAL_SECONDS": "0",
    }
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "web.app:app_from_environment",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                await asyncio.to_thread(httpx.get, f"{base}/login", timeout=1)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
        committed: dict[int, float] = {}
        arrived: dict[int, float] = {}
        stop = asyncio.Event()
        events = [0]
        readies = [asyncio.Event() for _ in range(args.clients)]
        clients = [
            asyncio.create_task(watch(base, sitting_id, arrived, ready, events))
            for ready in readies
        ]
        await asyncio.gather(*(ready.wait() for ready in readies))
        simulator = asyncio.create_task(
            simulate(url, store, rows, args.interval, args.flag_share, committed, stop)
        )
        await asyncio.sleep(args.warmup)
        window_start = time.monotonic()
        cpu_start = cpu_seconds(server.pid)
        flags_before = set(committed)
        events_before = events[0]
        await asyncio.sleep(args.duration)
        cpu = (cpu_seconds(server.pid) - cpu_start) / (time.monotonic() - window_start)
        events_in_window = events[0] - events_before
        await asyncio.sleep(args.interval)  # the last round's flags reach the clients
        stop.set()
        rounds = await simulator
        for client in clients:
            client.cancel()
        measured = [flag for flag in committed if flag not in flags_before and flag in arrived]
        waits = sorted(max(arrived[flag] - committed[flag], 0.0) for flag in measured)
        missed = [flag for flag in committed if flag not in flags_before and flag not in arrived]
        print(f"candidates {args.candidates}, clients {args.clients}, workers {args.workers}, "
              f"database {make_url(url).get_backend_name()}, simulator rounds {rounds}")  # fmt: skip
        print(f"server CPU {cpu * 100:.1f} % of one core; events received {events_in_window}")
        if waits:
            p99 = waits[min(len(waits) - 1, round(0.99 * (len(waits) - 1)))]
            print(
                f"flag -> event: n={len(waits)} p50 {statistics.median(waits):.2f} s "
                f"p99 {p99:.2f} s max {waits[-1]:.2f} s; not shown (superseded in the same "
                f"poll by a newer flag of the candidate) {len(missed)}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
