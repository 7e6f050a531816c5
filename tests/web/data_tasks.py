"""Task classes of the data tests; importable by spawned workers as ``tests.web.data_tasks:Name``."""

from __future__ import annotations

from typing import Any

from tasks.base import TaskBase


class Summarize(TaskBase):
    """Reads a CSV object and a stream's messages since the last summary, writes ``summary.json``.

    The continuous-analytics loop of the README: readings uploaded as an object, events pushed
    on a stream, a summary written back as an object (with the run that produced it)."""

    task_options = [{"name": "readings", "type": "str", "default": "readings.csv", "help": "a CSV object"},
                    {"name": "stream", "type": "str", "default": "events", "help": "a stream"},
                    {"name": "out", "type": "str", "default": "summary.json", "help": "the object written"}]

    def __call__(self) -> dict[str, Any]:
        objects, streams = self.services["objects"], self.services["streams"]
        rows = objects.read(self.options["readings"])
        previous = objects.read(self.options["out"]) if objects.exists(self.options["out"]) else {"last_seq": 0}
        messages = streams.since(self.options["stream"], previous["last_seq"])
        total = sum(float(row["value"]) for row in rows) + sum(m["body"].get("value", 0) for m in messages
                                                              if m["kind"] == "json")
        last_seq = messages[-1]["seq"] if messages else previous["last_seq"]
        info = objects.write(self.options["out"], {"rows": len(rows), "messages": len(messages), "total": total,
                                                   "last_seq": last_seq}, tags=["summary"])
        return {"version": info["version"], "messages": len(messages)}
