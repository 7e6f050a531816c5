"""Fixtures of the report tests: a temporary embedded store, documents with known figures, and
(for the pages and the API) the web tests' real System, facade and WebTest app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.store.sqlite import SQLiteStore
from tests.web.conftest import api, app, facade, system  # noqa: F401 - fixtures shared with the web tests


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "reports.db", size_bytes=200_000_000)
    opened.open()
    yield opened
    opened.close()
