"""The cached data service the DAS analytics tasks work on (``services["das"]``).

A subpackage: task discovery does not scan it, so it holds no task classes.

* `tasks.das.query`: DAS-QL subset, storage form, ``qhash``, value types;
* `tasks.das.service`: `DasService` (``call``, ``refresh``, ``expiry``, query log, summaries);
* `tasks.das.store`: the SQLite and MongoDB backends;
* `tasks.das.upstream`: upstream APIs (timeouts, retries, max-age); `tasks.das.demo_upstream`: a demo one;
* `tasks.das.http`: the HTTP endpoint (``das-actors das-serve``);
* `tasks.das.spam`: the load generator (``das-actors spam``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from tasks.das.service import CallResult, DasService

__all__ = ["CallResult", "DasService", "make_service"]


def make_service(options: Mapping[str, Any], *, clock: Callable[[], float] = time.time) -> DasService | None:
    """The das service from the server options, or None when it is off.

    Reads ``das_db_uri`` ("" = off; ``sqlite:///path`` or ``mongodb://...``),
    ``das_db_name`` (MongoDB database, default ``das``) and ``das_upstreams`` (path of a
    JSON file listing the upstream APIs; "" = none, every call then fails). ``db_uri``,
    when given, is checked: the das service never shares the results store's SQLite file.
    Nothing is connected here: the store opens on first use.

    Raises:
        ValueError: a bad URI or upstreams file (the message names it).
    """
    from tasks.das.service import service_from

    return service_from(options, clock=clock)
