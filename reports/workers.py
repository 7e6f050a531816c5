"""The Workers report: restarts, crashes by signal, recycles, degraded slots, memory per worker.

Everything comes from stored documents, bounded by the period:

* the system log lines of the worker and supervisor actors (``log`` documents of the
  loggers ``das_actors.worker`` and ``das_actors.supervisor``): ``worker.crashed`` (slot,
  pid, exit: "signal 9 (SIGKILL)" or "exit code 1", restart_in_s), ``worker.degraded``,
  ``run.timeout``, ``actor.failed``, ``actor.restarted`` and ``actor.degraded``; and
  ``server.started`` (``das_actors.system``), to tell a server restart from a recycle;
* the result documents: ``worker`` (slot), ``pid`` and ``rss_kb`` (the worker process's
  peak resident memory when the run ended, ``ru_maxrss``), in time order per slot. A new
  pid on a slot is a new process: after a crash, after a kill (timeout, cancel), after a
  server restart, else a *recycle* (``worker_max_runs``, or a MemoryError).

The slots' state right now (idle, busy, restarting, degraded) comes from the server itself.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from actors.store.base import Query
from reports import charts
from reports.base import Report
from reports.stats import duration_label, number, thin

#: Loggers whose events the report reads, and the events it keeps.
EVENT_LOGGERS = ("das_actors.worker", "das_actors.supervisor", "das_actors.system")
EVENTS = ("worker.crashed", "worker.degraded", "run.timeout", "actor.failed", "actor.restarted", "actor.degraded",
          "server.started")
#: Newest log lines read per logger (events are rare; a storm is summarised by its newest lines).
MAX_EVENTS = 1000
FIELDS = ("worker", "pid", "rss_kb", "outcome")
MAX_POINTS = 600
_SIGNAL = re.compile(r"signal (\d+)(?: \((\w+)\))?")


def exit_kind(text: Any) -> str:
    """``SIGKILL`` from "signal 9 (SIGKILL)", "signal 64" from "signal 64", else the text ("exit code 1")."""
    value = str(text or "unknown")
    match = _SIGNAL.search(value)
    if match:
        return match.group(2) or f"signal {match.group(1)}"
    return value


class WorkersReport(Report):
    """Worker processes: restarts, crashes by signal, recycles, degraded slots, memory (RSS) over time."""

    report_group = "General"
    report_title = "Workers"
    params = [{"name": "period", "type": "duration", "default": 86400, "minimum": 60, "maximum": 7 * 86400,
               "help": "how far back: seconds, or 30m, 6h, 2d (at most 7d)"}]

    def __call__(self, *, period: float = 86400) -> tuple[str, dict[str, Any]]:
        ctx = self.context
        now = ctx.now
        since = now - period
        events = self._events(since, now)
        runs = sorted(ctx.stream(Query(type="result", since=since, until=now), FIELDS),
                      key=lambda d: (d["time"], d["seq"]))
        starts = sorted(e["time"] for e in events if e["event"] == "server.started")
        crashes = [e for e in events if e["event"] == "worker.crashed"]
        crashed_pids = {(e["slot"], e["pid"]) for e in crashes}
        slots: dict[int, dict[str, Any]] = {}
        rss: dict[int, list[tuple[float, float]]] = {}
        for doc in runs:
            slot = doc["worker"]
            if not isinstance(slot, int) or isinstance(slot, bool):
                continue
            row = slots.setdefault(slot, {"slot": slot, "runs": 0, "pids": [], "recycles": 0, "kills": 0,
                                          "crash_replacements": 0, "server_restarts": 0, "last_rss_mb": None,
                                          "peak_rss_mb": None, "last": None})
            row["runs"] += 1
            pid = doc["pid"]
            last = row["last"]
            if last is not None and pid != last["pid"]:
                row[_replacement(last, doc, starts, crashed_pids, slot)] += 1
            if not row["pids"] or row["pids"][-1] != pid:
                row["pids"].append(pid)
            row["last"] = {"pid": pid, "outcome": doc["outcome"], "time": doc["time"]}
            kb = number(doc["rss_kb"])
            if kb is not None:
                mb = kb / 1024.0
                rss.setdefault(slot, []).append((doc["time"], mb))
                row["last_rss_mb"] = mb
                row["peak_rss_mb"] = mb if row["peak_rss_mb"] is None else max(row["peak_rss_mb"], mb)
        live = {w.get("slot"): w for w in ctx.workers() if isinstance(w, dict)}
        for slot in live:
            if isinstance(slot, int) and slot not in slots:
                slots[slot] = {"slot": slot, "runs": 0, "pids": [], "recycles": 0, "kills": 0,
                               "crash_replacements": 0, "server_restarts": 0, "last_rss_mb": None,
                               "peak_rss_mb": None, "last": None}
        by_signal = Counter(exit_kind(e["fields"].get("exit")) for e in crashes)
        table = []
        for slot in sorted(slots):
            row = slots[slot]
            row.pop("last")
            row["crashes"] = sum(1 for e in crashes if e["slot"] == slot)
            row["degraded_events"] = sum(1 for e in events if e["event"] in ("worker.degraded", "actor.degraded")
                                         and e["slot"] == slot)
            row["status"] = (live.get(slot) or {}).get("status")
            row["pid_now"] = (live.get(slot) or {}).get("pid")
            row["processes"] = len(row["pids"])
            row["pids"] = row["pids"][-10:]
            table.append(row)
        label = duration_label(period)
        rss_chart = charts.line_spec(
            f"Peak resident memory of each worker process at the end of each run, last {label}",
            [{"label": f"worker {slot}", "x": [p[0] for p in thin(points, MAX_POINTS)],
              "y": [p[1] for p in thin(points, MAX_POINTS)]} for slot, points in sorted(rss.items())],
            y_label="peak RSS (ru_maxrss)", y_unit="MiB", x_label="run finish time", x_min=since, x_max=now)
        signal_chart = charts.bars_spec(
            f"Worker crashes by signal or exit code, last {label}",
            [{"label": "crashes", "values": [n for _, n in by_signal.most_common()],
              "colour": charts.OUTCOME_COLOURS["crashed"]}],
            categories=[k for k, _ in by_signal.most_common()], y_label="crashes", x_label="signal or exit status")
        signal_chart["empty"] = "no worker process crashed in this period"
        restarts_chart = charts.bars_spec(
            f"Process replacements per worker slot, last {label}",
            [{"label": kind, "values": [row[key] for row in table], "colour": colour}
             for kind, key, colour in (("after a crash", "crash_replacements", charts.OUTCOME_COLOURS["crashed"]),
                                       ("after a kill (timeout, cancel)", "kills", charts.OUTCOME_COLOURS["timeout"]),
                                       ("recycled", "recycles", charts.PALETTE[0]),
                                       ("server restart", "server_restarts", charts.PALETTE[9]))],
            categories=[f"worker {row['slot']}" for row in table], y_label="new processes",
            x_label="worker slot")
        restarts_chart["empty"] = "no worker process was replaced in this period"
        restarts = Counter(f"{e['fields'].get('role', '?')} actor" for e in events if e["event"] == "actor.restarted")
        return "report_workers.mako", {
            "now": now, "period": period, "slots": table, "events": events[:200], "event_count": len(events),
            "crashes": len(crashes), "crashes_by_signal": dict(by_signal.most_common()),
            "process_restarts": sum(1 for e in crashes if e["fields"].get("restart_in_s") is not None),
            "actor_restarts": dict(restarts), "recycles": sum(r["recycles"] for r in table),
            "kills": sum(r["kills"] for r in table),
            "degraded_now": [r["slot"] for r in table if r["status"] == "degraded"],
            "degraded_events": sum(r["degraded_events"] for r in table),
            "rss_recorded": bool(rss), "runs": len(runs),
            "charts": {"rss": rss_chart, "signals": signal_chart, "restarts": restarts_chart},
        }

    def _events(self, since: float, now: float) -> list[dict[str, Any]]:
        """The newest worker/supervisor/server events of the period, newest first."""
        found: list[dict[str, Any]] = []
        for logger in EVENT_LOGGERS:
            page = self.context.find(Query(type="log", logger_prefix=logger, since=since, until=now,
                                           limit=MAX_EVENTS))
            for doc in page.items:
                if doc.get("msg") not in EVENTS:
                    continue
                raw = doc.get("fields")
                fields: dict[str, Any] = raw if isinstance(raw, dict) else {}
                slot = fields.get("slot")
                found.append({"time": doc.get("time"), "seq": doc.get("seq"), "event": doc.get("msg"),
                              "logger": doc.get("logger"), "level": doc.get("levelname"),
                              "slot": slot if isinstance(slot, int) and not isinstance(slot, bool) else None,
                              "pid": fields.get("pid"), "fields": fields})
        found.sort(key=lambda e: (e["time"] or 0.0, e["seq"] or 0), reverse=True)
        return found


def _replacement(last: dict[str, Any], doc: dict[str, Any], starts: list[float],
                 crashed: set[tuple[Any, Any]], slot: int) -> str:
    """Why slot *slot* has a new process between run *last* and run *doc* (a row counter's key)."""
    if last["outcome"] == "crashed" or (slot, last["pid"]) in crashed:
        return "crash_replacements"
    if last["outcome"] in ("timeout", "cancelled"):
        return "kills"
    if last["outcome"] == "interrupted" or any(last["time"] <= t <= doc["time"] for t in starts):
        return "server_restarts"
    return "recycles"
