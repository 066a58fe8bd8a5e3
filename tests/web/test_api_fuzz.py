"""Schemathesis against the candidate's API, from its own OpenAPI description, as a signed-in
candidate with a part running: whatever it sends, the answer is never a 5xx.

It runs the ``st`` command against a real server (uvicorn on a free port), with a fixed seed so a
run is repeatable, and a bounded number of examples per operation so it takes a minute or two.
Two passes: one with the ids of the candidate's own attempt, part and item (so bodies reach the
services), one with generated ids (so every path is tried with numbers and text of all sorts).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exam import attempts, lookups
from itembank.models import ExamFormItem
from proctoring.schemas import Policy
from tests.conftest import PASSWORD
from tests.exam.factories import CHECKED_IN, build_exam
from tests.web.helpers import csrf, csrf_from
from vakt.accounts import User
from vakt.db import utcnow
from web.device import DEVICE_COOKIE

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261210
EXAMPLES = 100


def _schemathesis(base: str, headers: dict[str, str], config: Path, *extra: str) -> str:
    # Run in the test's own folder: schemathesis keeps a cache where it runs.
    """Run ``st run`` and return its report; fail the test with it when a check failed."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
        f"{base}/api/openapi.json", "--checks", "not_a_server_error", "--seed", str(SEED),
        "--max-examples", str(EXAMPLES), "--phases", "examples,coverage,fuzzing",
        "--request-timeout", "20", "--no-color", *extra,
    ]  # fmt: skip
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    environment = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.web.api_fuzz_hooks",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=environment, cwd=config.parent
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    print(report[report.find("SUMMARY") :])  # in the log of a passing run too: what was tried
    return report


@pytest.mark.asyncio
async def test_no_request_to_the_api_makes_a_server_error(
    live_server: str, session: AsyncSession, users: dict[str, User], tmp_path: Path
) -> None:
    now = utcnow()
    exam = await build_exam(session, users, proctoring=Policy())
    sitting = await lookups.get_sitting(session, exam.sitting_id)
    sitting.opens_at, sitting.closes_at = now, now.replace(year=now.year + 1)
    attempt = await attempts.start_attempt(
        session, checkin=CHECKED_IN, registration_id=exam.registration_id,
        candidate=exam.candidate, now=now,
    )  # fmt: skip
    part = await attempts.start_part(
        session, checkin=CHECKED_IN, attempt_id=attempt.id, candidate=exam.candidate, now=now
    )
    item_version_id = await session.scalar(
        select(ExamFormItem.item_version_id).where(
            ExamFormItem.form_id == attempt.form_id, ExamFormItem.part_index == 0
        )
    )
    await session.commit()

    async with httpx.AsyncClient(base_url=live_server) as browser:
        login = await browser.get("/login")
        token = csrf_from(login.text)
        signed_in = await browser.post(
            "/login",
            data={"username": "candidate", "password": PASSWORD, "csrf_token": token, "next": "/"},
        )
        assert signed_in.status_code == 303
        # The attempt is tied to this browser by its first request, as in the exam page.
        assert (await browser.get(f"/api/attempts/{attempt.id}")).status_code == 200
        headers = {
            "Cookie": "; ".join(f"{name}={value}" for name, value in browser.cookies.items()),
            "X-CSRF-Token": await csrf(browser, "/my"),
        }
    assert DEVICE_COOKIE in headers["Cookie"]

    own_ids = tmp_path / "own-ids.toml"
    own_ids.write_text(
        "[parameters]\n"
        f"registration_id = {exam.registration_id}\n"
        f"attempt_id = {attempt.id}\n"
        f"part_id = {part.id}\n"
        f"item_version_id = {item_version_id}\n"
        'question_id = "RESPONSE"\n'
    )
    # The hand-in would close the part after its first example; it gets the second pass.
    _schemathesis(live_server, headers, own_ids, "--exclude-path", "/api/parts/{part_id}/submit")
    any_ids = tmp_path / "any-ids.toml"
    any_ids.write_text("")
    _schemathesis(live_server, headers, any_ids)
