"""Shared fixtures: logging configured as the server does it (JSON lines, INFO)."""

from __future__ import annotations

import sys

import pytest

from actors import logs

#: Fixtures shared by the das service and DAS task tests (``clock``, ``demo``); the session's
#: real services: ``rabbitmq`` (a RabbitMQ broker) and ``dask_cluster`` (Dask scheduler + workers).
pytest_plugins = ["tests.das_support", "tests.rabbitmq", "tests.dask_cluster"]


@pytest.fixture(autouse=True)
def _json_logging():
    """Route logs as in production so sinks (the Journal's system-log feed) see INFO events."""
    logs.configure_logging(level="INFO", fmt="json", stream=sys.stderr)


def pytest_report_header(config):
    """Say once which MongoDB-compatible server the store tests run against."""
    from tests import services

    return f"store tests: MongoDB backend against {services.describe()}"


@pytest.fixture(scope="session")
def mongo_service(tmp_path_factory):
    """A real MongoDB-compatible server (see tests/services.py); fails in CI when there is none."""
    import os

    from tests import services

    try:
        service = services.start_service(tmp_path_factory.mktemp("mongo-server"))
    except (LookupError, RuntimeError) as exc:
        reason = f"no MongoDB-compatible server: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    print(f"\nstore tests: using {service.description}", file=sys.stderr)
    yield service
    service.stop()
