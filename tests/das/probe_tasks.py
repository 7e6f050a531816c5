"""A task for the worker-subprocess test, importable as ``tests.das.probe_tasks:DasProbe``."""

from __future__ import annotations

import os
from typing import Any


class DasProbe:
    """Calls ``services["das"]`` (record=False) and reports what it got, its process and service identity."""

    def __init__(self, **kwargs: Any) -> None:
        self.query = kwargs.get("query", "dataset dataset.name=/A/B/C")
        self.services = kwargs.get("services") or {}

    def __call__(self) -> dict[str, Any]:
        das = self.services.get("das")
        if das is None:
            return {"has_das": False, "pid": os.getpid()}
        result = das.call(self.query, record=False)
        return {"has_das": True, "status": result.status, "records": len(result.records), "error": result.error,
                "pid": os.getpid(), "service": id(das)}
