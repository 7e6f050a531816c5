"""Shared fixtures: logging configured as the server does it (JSON lines, INFO)."""

from __future__ import annotations

import sys

import pytest

from actors import logs


@pytest.fixture(autouse=True)
def _json_logging():
    """Route logs as in production so sinks (the Journal's system-log feed) see INFO events."""
    logs.configure_logging(level="INFO", fmt="json", stream=sys.stderr)
