"""The ``vakt`` command as a person runs it: a real process, real files, a real database."""

from __future__ import annotations

import asyncio
import http.client
import os
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vakt.accounts import User
from vakt.audit import AuditEntry
from vakt.db import utcnow
from vakt.sessions import SessionPolicy, active_session_counts, start_session
from vakt.settings import Settings

COMMANDS = [
    [], ["demo"], ["serve"], ["db"], ["db", "upgrade"], ["user"], ["user", "add"],
    ["user", "end-sessions"], ["scheme"],
    ["scheme", "add"], ["items"], ["items", "import"], ["items", "export"], ["audit"],
    ["audit", "verify"], ["certificates"], ["certificates", "signing-key"],
]  # fmt: skip


def vakt(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed command in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "vakt.cli", *args],
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "vakt")
def test_every_command_has_help(command: list[str]) -> None:
    result = vakt(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_user_add_and_bad_input(settings: Settings) -> None:
    env = {"VAKT_DATABASE_URL": settings.database_url, "VAKT_DEFAULT_LANGUAGE": "en"}
    created = vakt("user", "add", "nora", "--name", "Nora Nordmann", "--role", "grader", "--role", "proctor",
                   "--password-stdin", env=env, stdin="et passord som holder\n")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "grader, proctor" in created.stdout
    again = vakt("user", "add", "nora", "--name", "Nora", "--role", "grader", "--password-stdin", env=env,
                 stdin="et passord som holder\n")  # fmt: skip
    assert again.returncode == 1
    assert "taken" in again.stderr and "Traceback" not in again.stderr
    short = vakt(
        "user",
        "add",
        "per",
        "--name",
        "Per",
        "--role",
        "grader",
        "--password-stdin",
        env=env,
        stdin="kort\n",
    )
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    bad_role = vakt(
        "user",
        "add",
        "per",
        "--name",
        "Per",
        "--role",
        "king",
        "--password-stdin",
        env=env,
        stdin="x\n",
    )
    assert bad_role.returncode == 2 and "king" in bad_role.stderr


@pytest.mark.asyncio
async def test_user_end_sessions(
    settings: Settings, session: AsyncSession, users: dict[str, User]
) -> None:
    policy = SessionPolicy(idle=timedelta(minutes=30), lifetime=timedelta(hours=8))
    for user in (users["candidate"], users["candidate"], users["grader"]):
        await start_session(
            session, user, now=utcnow(), policy=policy, address="10.0.0.1", user_agent="x"
        )
    await session.commit()
    env = {"VAKT_DATABASE_URL": settings.database_url, "VAKT_DEFAULT_LANGUAGE": "en"}
    ended = await asyncio.to_thread(vakt, "user", "end-sessions", " Candidate ", env=env)
    assert ended.returncode == 0, ended.stderr
    assert "Ended 2 session(s) of candidate." in ended.stdout
    counts = await active_session_counts(session, now=utcnow(), policy=policy)
    assert counts == {users["grader"].id: 1}
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "auth.sessions_ended")
    )
    assert entry is not None and entry.actor_id is None
    unknown = await asyncio.to_thread(vakt, "user", "end-sessions", "nobody", env=env)
    assert unknown.returncode == 1
    assert "There is no user with the username nobody." in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_demo_seeds_once_and_exports(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    first = vakt("demo", "--data-dir", str(data_dir), "--no-serve")
    assert first.returncode == 0, first.stderr
    for username in [
        "kandidat",
        "forfatter",
        "kontrollor",
        "sensor",
        "sensor2",
        "sensorleder",
        "vakt",
        "beslutter",
        "admin",
    ]:
        assert username in first.stdout
    assert "Password for every demo user" in first.stdout
    assert "grader (lead)  (Line Sensorleder)" in first.stdout
    # The demo body signs its certificates with a self-signed key made on the first run.
    key_file = data_dir / "signing-key.p12"
    assert key_file.stat().st_mode & 0o777 == 0o600
    demo_key = key_file.read_bytes()
    second = vakt("demo", "--data-dir", str(data_dir), "--no-serve")
    assert second.returncode == 0, second.stderr
    assert key_file.read_bytes() == demo_key  # kept across runs
    passphrase = (data_dir / "signing-key-passphrase").read_text().strip()
    signing_key = Settings(signing_key_file=key_file, signing_key_passphrase=passphrase).signing_key
    assert signing_key is not None and signing_key.subject_name == "Vakt demo certification body"
    # The demo's graders can grade at once: qualified for the demo scheme, once each.
    with sqlite3.connect(data_dir / "vakt.sqlite3") as database:
        qualified = database.execute(
            "SELECT u.username, q.is_lead FROM grader_qualification q"
            " JOIN user_account u ON u.id = q.grader_id JOIN scheme s ON s.id = q.scheme_id"
            " WHERE s.code = 'MANGFOLD' ORDER BY u.username"
        ).fetchall()
    assert qualified == [("sensor", 0), ("sensor2", 0), ("sensorleder", 1)]
    env = {"VAKT_DATA_DIR": str(data_dir)}
    output = tmp_path / "bank.yaml"
    exported = vakt(
        "items", "export", "--scheme", "MANGFOLD", "--format", "yaml", "-o", str(output), env=env
    )
    assert exported.returncode == 0, exported.stderr
    assert output.stat().st_size > 10_000
    unknown = vakt("items", "export", "--scheme", "NOPE", "-o", str(output), env=env)
    assert unknown.returncode == 1 and "NOPE" in unknown.stderr
    verified = vakt("audit", "verify", env=env)
    assert verified.returncode == 0 and "intact" in verified.stdout


def test_items_import_refuses_html_that_cleans_to_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    env = {"VAKT_DATABASE_URL": settings.database_url, "VAKT_DEFAULT_LANGUAGE": "en"}
    assert vakt("scheme", "add", "DM", "Mangfold", env=env).returncode == 0
    items = tmp_path / "items.yaml"
    items.write_text(
        "- external_id: V-1\n  title: Video\n  type: single_choice\n  questions:\n"
        "    - type: single_choice\n      correct: A\n      choices:\n"
        """        - {id: A, html: '<video src="a.mp4"></video>'}\n        - {id: B, html: Nei}\n"""
        "- external_id: V-2\n  title: Tekst\n  type: single_choice\n  questions:\n"
        "    - type: single_choice\n      correct: A\n      choices:\n"
        "        - {id: A, html: Ja}\n        - {id: B, html: Nei}\n",
        encoding="utf-8",
    )
    refused = vakt("items", "import", str(items), "--scheme", "DM", env=env)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "Nothing was imported" in refused.stderr
    assert "Question 1, Option 1, Text: shows nothing once unsafe" in refused.stderr
    trial = vakt("items", "import", str(items), "--scheme", "DM", "--dry-run", env=env)
    assert trial.returncode == 0 and "Would import 1 items" in trial.stdout
    assert "shows nothing" in trial.stdout
    partial = vakt("items", "import", str(items), "--scheme", "DM", "--skip-unsupported", env=env)
    assert partial.returncode == 0 and "Imported 1 items" in partial.stdout
    assert "V-2" in partial.stdout and "shows nothing" in partial.stdout


def test_serve_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = {"VAKT_DATA_DIR": str(tmp_path), "VAKT_SECRET_KEY": ""}
    result = vakt("serve", "--port", "1", env=env)
    assert result.returncode == 1
    assert "VAKT_SECRET_KEY" in result.stderr


def test_serve_keeps_idle_connections_as_long_as_configured(tmp_path: Path) -> None:
    """The keep-alive setting reaches the server: an idle connection is closed after it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "VAKT_DATA_DIR": str(tmp_path),
        "VAKT_SECRET_KEY": "test-secret-key-that-is-long-enough-for-a-server",
        "VAKT_KEEP_ALIVE_SECONDS": "1",
        "VAKT_AUTO_SUBMIT_INTERVAL_SECONDS": "0",
        "VAKT_PROCTORING_WATCH_INTERVAL_SECONDS": "0",
        "VAKT_RETENTION_INTERVAL_SECONDS": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "vakt.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/api/time")
        response = connection.getresponse()
        assert response.status == 200
        response.read()  # the whole answer: the connection is now idle
        assert connection.sock is not None
        # Closed by the server after 1 s: uvicorn's own default (5 s) would time out here.
        connection.sock.settimeout(4)
        assert connection.sock.recv(1) == b""
        connection.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_listening(port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("command", [["audit", "verify"], ["recordings", "purge", "--dry-run"]])
def test_without_a_database_a_command_says_so_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    empty = tmp_path / "nowhere"
    env = {"VAKT_DATA_DIR": str(empty), "VAKT_DATABASE_URL": "", "VAKT_DEFAULT_LANGUAGE": "en"}
    result = vakt(*command, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "There is no Vakt database at" in lines[0] and "vakt db upgrade" in lines[0]
    assert not (empty / "vakt.sqlite3").exists()  # nothing made by looking


def test_a_database_without_tables_is_named_too(tmp_path: Path) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "vakt.sqlite3").close()  # an empty file
    env = {"VAKT_DATA_DIR": str(tmp_path), "VAKT_DATABASE_URL": "", "VAKT_DEFAULT_LANGUAGE": "en"}
    result = vakt("audit", "verify", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "has no Vakt tables yet" in result.stderr and "vakt db upgrade" in result.stderr


def test_a_database_that_cannot_be_reached_is_named_in_one_line() -> None:
    env = {
        "VAKT_DATABASE_URL": "postgresql+asyncpg://vakt:secret@127.0.0.1:1/vakt",
        "VAKT_DEFAULT_LANGUAGE": "en",
    }
    for command in (["db", "upgrade"], ["audit", "verify"]):
        result = vakt(*command, env=env)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "cannot be reached" in result.stderr and "secret" not in result.stderr
