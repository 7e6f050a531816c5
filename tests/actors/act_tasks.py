"""Task classes of the act tests (importable by worker subprocesses: task_packages = "tests")."""

from __future__ import annotations

from typing import Any

from tasks.base import TaskBase


class Alert(TaskBase):
    """Queues one webhook to the target named by ``target`` and one publish when ``bus`` is given."""

    task_options = [{"name": "target", "type": "str", "default": "hook"},
                    {"name": "level", "type": "str", "default": "warning"}]

    def __call__(self) -> dict[str, Any]:
        act = self.services["act"]
        action_id = act.webhook(self.options["target"], {"job": self.name, "run": self.index,
                                                          "level": self.options["level"]})
        self.logger.info("queued %s", action_id)
        return {"action_id": action_id, "level": self.options["level"]}
