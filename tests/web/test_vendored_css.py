"""The vendored copy of Designsystemet (web/static/vendor/designsystemet) is the version
package-lock.json pins: its manifest names the locked version and integrity, every file has the
sha256 the manifest records, and, with node_modules installed (npm ci), every file is
byte-identical to the npm package's. scripts/vendor_designsystemet.py refreshes the copy."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "web" / "static" / "vendor" / "designsystemet"


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VENDOR / "VERSIONS.json").read_text("utf-8"))
    return data


def lock_entry(package: str) -> dict[str, Any]:
    lock = json.loads((ROOT / "package-lock.json").read_text("utf-8"))
    entry: dict[str, Any] = lock["packages"][f"node_modules/{package}"]
    return entry


def test_the_manifest_names_the_locked_version() -> None:
    vendored = manifest()
    entry = lock_entry(vendored["package"])
    assert vendored["version"] == entry["version"]
    assert vendored["integrity"] == entry["integrity"]
    # package.json pins it exactly, so `npm install` cannot move it past the vendored copy.
    package_json = json.loads((ROOT / "package.json").read_text("utf-8"))
    assert package_json["devDependencies"][vendored["package"]] == vendored["version"]


def test_the_vendored_files_are_the_manifest_s() -> None:
    files = manifest()["files"]
    on_disk = {path.name for path in VENDOR.iterdir() if path.is_file()} - {"VERSIONS.json"}
    assert on_disk == set(files)
    assert "LICENSE" in files
    for name, facts in files.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == facts["sha256"], name


def test_the_vendored_files_match_node_modules() -> None:
    vendored = manifest()
    package = ROOT / "node_modules" / vendored["package"]
    if not package.exists():
        if os.environ.get("CI"):
            pytest.fail("node_modules is missing: .ci/run installs it with npm ci")
        pytest.skip("node_modules is not installed (npm ci): cannot compare the vendored copy")
    installed = json.loads((package / "package.json").read_text("utf-8"))
    assert installed["version"] == vendored["version"], "node_modules is stale: run npm ci"
    for name, facts in vendored["files"].items():
        assert (VENDOR / name).read_bytes() == (package / facts["source"]).read_bytes(), (
            f"{name} differs from {vendored['package']} {vendored['version']}: "
            "run python scripts/vendor_designsystemet.py"
        )


@pytest.mark.asyncio
async def test_the_pages_load_the_design_system_before_vakt_css(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/login")
    order = [
        page.text.index('href="/static/vendor/designsystemet/theme.css"'),
        page.text.index('href="/static/vendor/designsystemet/designsystemet.css"'),
        page.text.index('href="/static/css/vakt.css"'),
        page.text.index('href="/theme.css"'),
    ]
    assert order == sorted(order)
    for name in ("theme.css", "designsystemet.css"):
        served = await client.get(f"/static/vendor/designsystemet/{name}")
        assert served.status_code == 200
        assert served.headers["content-type"].startswith("text/css")
        assert served.content == (VENDOR / name).read_bytes()
