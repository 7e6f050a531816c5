"""DAS analytics tasks that keep one query cached: ``QueryRunner`` and ``QueryMaintainer``.

Both work on the ``das`` service (`tasks.das.service.DasService`) that the server hands every
task in ``self.services["das"]`` when it is started with ``--das-db-uri``. They never count
their own traffic: every call passes ``record=False``, so the query log only holds what
clients asked for (DAS's ``add_to_analytics=False``).

Fixed against DAS (section 7 of the feature inventory, bugs 30 and 32):

* the option is called ``dasquery`` everywhere (DAS's ``task_options`` said ``query``);
* QueryMaintainer refreshes *atomically* (`DasService.refresh` writes the new records, then
  switches), so readers never see the query vanish, where DAS deleted and re-queried;
* a failed refresh (status ``"failed"``) or a refresh that leaves no expiry fails the run
  with a clear error; DAS compared status strings for truthiness and never noticed;
* the next run is ``min(expire) - preempt``, but never in the past: at least
  ``now + min_delay``.

This module also holds what every DAS task shares: `das_service` (the service, or a clear
error naming ``--das-db-uri``), `das_now` (the service's clock) and `ServiceError`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from actors.errors import ServiceError
from tasks.base import TaskBase

#: Smallest delay (seconds) between a maintainer's refresh and its next one.
MIN_DELAY_S = 1.0


def das_service(task: TaskBase) -> Any:
    """The ``das`` service of *task*, or `ServiceError` saying how to configure it."""
    services = getattr(task, "services", None) or {}
    das = services.get("das")
    if das is None:
        raise ServiceError(
            f"{type(task).__name__} needs the DAS data service, which is not configured: start the server "
            "with --das-db-uri (e.g. --das-db-uri sqlite:///./das-cache.db, or das_db_uri = ... in the "
            "config file) and --das-upstreams (a JSON file listing the upstream APIs)"
        )
    return das


def das_now(das: Any) -> float:
    """The current time by the service's clock (tests give the service a fake one)."""
    clock = getattr(das, "clock", None)
    return float(clock()) if callable(clock) else time.time()


def query_label(query: str | Mapping[str, Any]) -> str:
    """A short human-readable form of *query* for messages (DAS-QL text when possible)."""
    if isinstance(query, str):
        return query
    try:
        from tasks.das.query import to_text

        return to_text(dict(query))
    except Exception:  # noqa: BLE001 - only a label for an error message
        return repr(dict(query))


def next_refresh(expiry: float, preempt: float, now: float, min_delay: float = MIN_DELAY_S) -> float:
    """When to refresh data expiring at *expiry*: ``expiry - preempt``, never before ``now + min_delay``."""
    return max(expiry - preempt, now + max(min_delay, 0.0))


def result_summary(result: Any) -> dict[str, Any]:
    """The JSON-safe fields of a `CallResult` worth storing with a run."""
    return {
        "status": result.status,
        "qhash": result.qhash,
        "records": len(result.records),
        "expire": result.expire,
        "source": result.source,
        "latency_s": round(float(result.latency_s), 6),
    }


def _check_query(task: TaskBase, value: Any) -> str | dict[str, Any]:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, Mapping) and value.get("spec"):
        return dict(value)
    raise ServiceError(
        f"{type(task).__name__}: dasquery must be DAS-QL text (e.g. 'dataset dataset.name=/A/B/*') or a "
        f"storage-form query {{fields, spec, instance}}, got {value!r}"
    )


class QueryRunner(TaskBase):
    """Run one DAS query through the cache on every run ("replaces das_robot").

    The data is cached at call time; nothing keeps it fresh afterwards (that is
    QueryMaintainer's job). Internal traffic: the call is not recorded in the query log.
    A failed query fails the run.
    """

    task_title = "DAS query runner"
    task_options = [
        {"name": "dasquery", "type": "json",
         "help": "the query: DAS-QL text ('dataset dataset.name=/A/B/C') or storage form {fields, spec, instance}"},
    ]

    def __call__(self) -> dict[str, Any]:
        das = das_service(self)
        query = _check_query(self, self.options.get("dasquery"))
        result = das.call(query, record=False)
        if result.status == "failed":
            raise ServiceError(f"query-failed: {query_label(query)}: {result.error or 'no error text'}")
        self.logger.info("%s: %s, %d record(s)", query_label(query), result.status, len(result.records))
        return {"query": query_label(query), **result_summary(result)}


class QueryMaintainer(TaskBase):
    """Keep one DAS query permanently cached: refresh it just before its data expires.

    Each run refreshes the query atomically (readers keep seeing the old records until the
    new ones are in place), then asks to run again at ``min(expire) - preempt`` (never
    sooner than ``min_delay`` from now). A failed refresh, or one that leaves the query
    without an expiry, fails the run with the reason, so the scheduler retries it.
    """

    task_title = "DAS query maintainer"
    task_options = [
        {"name": "dasquery", "type": "json",
         "help": "the query to keep cached: DAS-QL text or storage form {fields, spec, instance}"},
        {"name": "preempt", "type": "float", "default": 60.0,
         "help": "refresh this many seconds before the cached data expires"},
        {"name": "min_delay", "type": "float", "default": MIN_DELAY_S,
         "help": "the next refresh is never sooner than this many seconds from now"},
    ]

    def __call__(self) -> dict[str, Any]:
        das = das_service(self)
        query = _check_query(self, self.options.get("dasquery"))
        preempt = float(self.options["preempt"])
        result = das.refresh(query)
        label = query_label(query)
        if result.status == "failed":
            raise ServiceError(f"query-failed: refreshing {label}: {result.error or 'no error text'}")
        expiry = result.expire if result.expire is not None else das.expiry(query)
        if expiry is None:
            raise ServiceError(f"find-expiry-failed: {label} was refreshed ({result.status}) but has no "
                               "API-call expiry in the cache, so the next refresh cannot be scheduled")
        now = das_now(das)
        schedule = next_refresh(float(expiry), preempt, now, float(self.options["min_delay"]))
        self.logger.info("%s refreshed (%s, %d records), expires in %.1f s, next refresh in %.1f s",
                         label, result.status, len(result.records), expiry - now, schedule - now)
        return {"query": label, **result_summary(result), "expire": float(expiry), "next_at": schedule}
