"""The act service as a service plugin: built in each worker from the store options.

Why a module of its own: the runtime never names a service; this declaration is what the
``das_actors.services`` entry point publishes (see `actors.services`), so tasks receive
``services["act"]`` (and scripts ``act``) without the scheduler or the workers knowing it.
Its options are the server's ``act_*`` options (they drive the delivery actor too) and the
store's, listed in ``uses``. Cheap to import: the service is built lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors.services import ServicePlugin


def _build(values: Mapping[str, Any]) -> Any:
    if not values.get("db_uri"):  # built without the store options (a bare test harness): no outbox, no service
        return None
    from actors.store.beside import open_outbox, open_records
    from tasks.act.sdk import Act

    where = {"db_name": str(values.get("db_name") or "analytics_results"),
             "db_coll": str(values.get("db_coll") or "db"), "timeout_s": float(values.get("db_timeout") or 2.0)}
    outbox = open_outbox(str(values["db_uri"]), **where)  # type: ignore[arg-type]
    records = open_records(str(values["db_uri"]), **where)  # type: ignore[arg-type]
    outbox.open()
    records.open()
    return Act(outbox, records, allow_any_url=bool(values.get("act_allow_any_url")),
               max_payload_bytes=int(values.get("act_max_payload_bytes") or 256 * 1024))


PLUGIN = ServicePlugin(
    name="act",
    title="Actions: webhooks and AMQP publishes from tasks",
    uses=("db_name", "db_coll", "db_timeout", "act_allow_any_url", "act_max_payload_bytes"),
    build=_build,
)
