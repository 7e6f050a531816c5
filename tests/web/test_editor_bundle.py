"""The code editor bundle is built at set-up: present, current, and the browser script the page
expects (an IIFE that attaches to python textareas and exposes ``window.dasEditor``)."""

from __future__ import annotations

import json

from tests.web.editor_bundle import BUNDLE, EDITOR, ROOT, require_bundle


def test_bundle_is_built_from_the_committed_sources():
    text = require_bundle().read_text(encoding="utf-8")
    assert text.lstrip().startswith(("(()=>{", '"use strict";(()=>{')), text[:80]  # IIFE: no module syntax
    assert 'textarea[data-editor="python"]' in text and "window.dasEditor" in text
    assert "cm-editor" in text and "cm-lineNumbers" in text  # CodeMirror's view with line numbers


def test_bundle_is_ignored_and_pinned():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert str(BUNDLE.relative_to(ROOT)) in ignored and "web/editor/node_modules/" in ignored
    manifest = json.loads((EDITOR / "package.json").read_text(encoding="utf-8"))
    locked = json.loads((EDITOR / "package-lock.json").read_text(encoding="utf-8"))["packages"][""]
    for section in ("dependencies", "devDependencies"):
        assert manifest[section] == locked[section]
        assert all(version[0].isdigit() for version in manifest[section].values()), manifest[section]  # exact pins
