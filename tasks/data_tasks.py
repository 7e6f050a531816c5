"""Data tasks: ``MakeReadings`` writes a CSV object of sensor readings, ``Summarize`` reads a CSV object
and a stream's recent messages and writes a JSON summary object.

They are the smallest complete examples of the task SDK for data (`tasks.data`): read what was
brought in (an uploaded object, a stream), compute, write the result back as an object that
names the run that produced it. The demo config (``examples/demo.py``) runs both.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from typing import Any

from tasks.base import TaskBase


class MakeReadings(TaskBase):
    """Write ``rows`` pseudo-random sensor readings (time, sensor, value) as a CSV object."""

    task_title = "Make readings"
    task_options = [
        {"name": "out", "type": "str", "default": "readings.csv", "help": "name of the CSV object written"},
        {"name": "rows", "type": "int", "default": 200, "help": "how many readings"},
        {"name": "sensors", "type": "int", "default": 4, "help": "how many sensors"},
        {"name": "tags", "type": "list", "default": ["demo"], "help": "tags of the object"},
    ]

    def __call__(self) -> dict[str, Any]:
        draw = random.Random(f"{self.job_id}:{self.index}")
        now = time.time()
        rows = [{"time": round(now - 60 * (self.options["rows"] - i), 3), "sensor": f"s{i % self.options['sensors']}",
                 "value": round(20 + 5 * math.sin(i / 10) + draw.gauss(0, 1), 3)} for i in range(self.options["rows"])]
        info = self.services["objects"].write(self.options["out"], rows, tags=self.options["tags"])
        self.logger.info("wrote %s version %d: %d readings", info["name"], info["version"], len(rows))
        return {"object": info["name"], "version": info["version"], "rows": len(rows)}


class Summarize(TaskBase):
    """Per-sensor count, mean, min and max of a CSV object's readings and a stream's recent messages
    (JSON messages with ``sensor`` and ``value``), written as a JSON object."""

    task_title = "Summarize readings"
    task_options = [
        {"name": "readings", "type": "str", "default": "readings.csv", "help": "a CSV object with sensor, value"},
        {"name": "stream", "type": "str", "default": "", "help": "a stream of {sensor, value} messages (optional)"},
        {"name": "window", "type": "float", "default": 300.0, "help": "seconds of stream messages read"},
        {"name": "out", "type": "str", "default": "summary.json", "help": "name of the JSON object written"},
    ]

    def __call__(self) -> dict[str, Any]:
        objects = self.services["objects"]
        values: dict[str, list[float]] = defaultdict(list)
        if objects.exists(self.options["readings"]):
            for row in objects.read(self.options["readings"]):
                values[str(row.get("sensor"))].append(float(row["value"]))
        messages = []
        if self.options["stream"]:
            messages = self.services["streams"].window(self.options["stream"], self.options["window"])
            for message in messages:
                body = message["body"]
                if message["kind"] == "json" and isinstance(body, dict) and isinstance(body.get("value"), int | float):
                    values[str(body.get("sensor", "stream"))].append(float(body["value"]))
        summary = {sensor: {"count": len(vs), "mean": round(sum(vs) / len(vs), 4), "min": min(vs), "max": max(vs)}
                   for sensor, vs in sorted(values.items()) if vs}
        info = objects.write(self.options["out"], {"sensors": summary, "messages": len(messages),
                                                   "readings": self.options["readings"]}, tags=["summary"])
        return {"object": info["name"], "version": info["version"], "sensors": len(summary),
                "messages": len(messages)}
