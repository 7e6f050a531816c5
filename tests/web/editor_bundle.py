"""Where the code editor bundle is and whether this checkout has built it.

``web/static/editor.js`` is built by ``make`` (``npm ci`` + esbuild from ``web/editor``) and never
committed. Tests that need it call `require_bundle`: without it they fail when ``CI`` is set and
skip with the reason otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EDITOR = ROOT / "web" / "editor"
BUNDLE = ROOT / "web" / "static" / "editor.js"
#: What the bundle is built from: a bundle older than any of these is stale.
SOURCES = (EDITOR / "package.json", EDITOR / "package-lock.json", *sorted((EDITOR / "src").glob("*.js")))


def missing() -> str | None:
    """Why the bundle cannot be used here (absent or older than its sources), or None."""
    if not BUNDLE.is_file():
        return f"{BUNDLE.relative_to(ROOT)} is missing: run `make editor` (npm ci + esbuild in web/editor)"
    stale = [p.relative_to(ROOT) for p in SOURCES if p.stat().st_mtime > BUNDLE.stat().st_mtime]
    if stale:
        return f"{BUNDLE.relative_to(ROOT)} is older than {', '.join(map(str, stale))}: run `make editor`"
    return None


def require_bundle() -> Path:
    """The bundle's path; fails the test when ``CI`` is set and it is missing, else skips."""
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return BUNDLE
