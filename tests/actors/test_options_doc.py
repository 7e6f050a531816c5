"""docs/operations.md lists every option as the registry declares it (the table is generated)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_options_table_in_the_docs_is_current() -> None:
    spec = importlib.util.spec_from_file_location("options_table", ROOT / "scripts" / "options-table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    doc = (ROOT / "docs" / "operations.md").read_text()
    assert module.table() in doc, "stale: run .venv/bin/python scripts/options-table.py --write docs/operations.md"
    assert "`das_db_uri`" in module.table()  # a service plugin's options are listed too
