"""Copy Designsystemet's built CSS from node_modules into web/static/vendor/designsystemet.

Vakt serves Norway's public design system (Designsystemet, by Digdir, MIT) from its own static
folder, so `pip install vakt` and `vakt demo` need no npm. This script refreshes that copy from
the version package-lock.json pins:

    npm install --save-exact --save-dev @digdir/designsystemet-css@X.Y.Z   # to move to X.Y.Z
    npm ci
    python scripts/vendor_designsystemet.py

It writes the files and VERSIONS.json (the package, its version and integrity from
package-lock.json, and the sha256 of every vendored file). tests/web/test_vendored_css.py checks
that the copy matches the locked version. Only the standard library; no part of the vakt package.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "package-lock.json"
TARGET = ROOT / "web" / "static" / "vendor" / "designsystemet"
MANIFEST = "VERSIONS.json"
PACKAGE = "@digdir/designsystemet-css"
FILES = {
    # vendored name: path inside the npm package
    "designsystemet.css": "dist/src/index.css",
    "theme.css": "dist/theme/designsystemet.css",
    "LICENSE": "LICENSE",
}
"""The components' CSS, the package's default theme (the separate theme package is deprecated
in favour of this one) and the licence."""


def locked(package: str) -> dict[str, str]:
    """The version and integrity package-lock.json pins for ``package``."""
    entry = json.loads(LOCK.read_text("utf-8"))["packages"][f"node_modules/{package}"]
    return {"version": entry["version"], "integrity": entry["integrity"]}


def main() -> int:
    source = ROOT / "node_modules" / PACKAGE
    pin = locked(PACKAGE)
    installed = json.loads((source / "package.json").read_text("utf-8"))["version"]
    if installed != pin["version"]:
        print(f"node_modules has {PACKAGE} {installed}, the lock {pin['version']}: run npm ci")
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for old in TARGET.iterdir():
        if old.is_file():
            old.unlink()
    files = {}
    for name, inside in FILES.items():
        shutil.copyfile(source / inside, TARGET / name)
        digest = hashlib.sha256((TARGET / name).read_bytes()).hexdigest()
        files[name] = {"source": inside, "sha256": digest}
    manifest = {"package": PACKAGE, **pin, "license": "MIT", "files": files}
    (TARGET / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    print(f"Vendored {PACKAGE} {pin['version']} into {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
