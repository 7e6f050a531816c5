"""Demonstration tasks: the DAS ``Test`` chaos task, plus ``Sleep`` and ``Echo``.

``Test`` exercises every path of the scheduler the way the original did: most runs
succeed, a few stop the job, spawn a child job, or raise. Its probabilities are options,
so tests can force a branch, and a ``seed`` makes each run reproducible. ``Sleep`` and
``Echo`` are the smallest useful tasks, for demos, timeouts and benchmarks.
"""

from __future__ import annotations

import random
import time
from typing import Any

from tasks.base import TaskBase


class Test(TaskBase):
    """Log a message, then maybe stop, spawn a child ``Test`` job, or raise (chaos testing).

    Each run draws r in [0, 1): below ``stop_p`` the job finishes (``resubmit: False``);
    below ``stop_p + spawn_p`` it spawns a child job limited by exactly one of
    ``only_once``, ``max_runs`` or ``only_before``; below ``stop_p + spawn_p + raise_p``
    it raises; otherwise it returns ``{"message", "index"}``. With the defaults that is
    1% stop, 4% spawn, 5% raise, as in DAS.
    """

    task_title = "Test"
    task_options = [
        {"name": "message", "type": "str", "default": "hello world", "help": "text logged by every run"},
        {
            "name": "seed",
            "type": "json",
            "default": None,
            "help": "makes each run reproducible: the draw depends on (seed, index, attempt) only",
        },
        {"name": "stop_p", "type": "float", "default": 0.01, "help": "probability that a run stops the job"},
        {"name": "spawn_p", "type": "float", "default": 0.04, "help": "probability that a run spawns a child"},
        {"name": "raise_p", "type": "float", "default": 0.05, "help": "probability that a run raises"},
    ]

    def __call__(self) -> dict[str, Any]:
        message = str(self.options["message"])
        seed = self.options["seed"]
        self.logger.info("%s from index=%s", message, self.index)
        rng = random.Random() if seed is None else random.Random(f"{seed}:{self.index}:{self.attempt}")
        stop_p = float(self.options["stop_p"])
        spawn_p = stop_p + float(self.options["spawn_p"])
        raise_p = spawn_p + float(self.options["raise_p"])
        r = rng.random()
        result: dict[str, Any] = {"message": message, "index": self.index}
        if r < stop_p:
            return {**result, "resubmit": False}
        if r < spawn_p:
            return {**result, "new_tasks": [self._child(rng, message, seed)]}
        if r < raise_p:
            raise RuntimeError(f"Test task chaos: raising on purpose (index={self.index})")
        return result

    def _child(self, rng: random.Random, message: str, seed: Any) -> dict[str, Any]:
        """A child job definition; with a seed, "now" is the run's due time (reproducible)."""
        child: dict[str, Any] = {
            "name": f"spawn-of-{self.index}",
            "classname": "Test",
            "interval": rng.randint(1, 30),
            "kwargs": {"message": f"spawn-of-{message}", "seed": None if seed is None else f"{seed}/{self.index}"},
        }
        limit = rng.choice(("only_once", "max_runs", "only_before"))
        if limit == "only_once":
            child["only_once"] = True
        elif limit == "max_runs":
            child["max_runs"] = rng.randint(1, 5)
        else:
            now = self.due_at if seed is not None else time.time()
            child["only_before"] = now + rng.randint(1, 120)
        return child


class Sleep(TaskBase):
    """Sleep for ``seconds``, then return ``{"slept": seconds}`` (for timeouts and benchmarks)."""

    task_title = "Sleep"
    task_options = [{"name": "seconds", "type": "float", "default": 1.0, "help": "how long to sleep"}]

    def __call__(self) -> dict[str, Any]:
        seconds = float(self.options["seconds"])
        self.logger.info("sleeping %.3f s (index=%s)", seconds, self.index)
        time.sleep(seconds)
        return {"slept": seconds}


class Echo(TaskBase):
    """Return the ``value`` option unchanged (for demos and round-trip benchmarks)."""

    task_title = "Echo"
    task_options = [{"name": "value", "type": "json", "default": None, "help": "returned as the result"}]

    def __call__(self) -> Any:
        return self.options["value"]
