"""The Script task: a script's top-level code or its task class, its arguments, what it shows.

Each case runs in a fresh interpreter (``tests/tasks/script_probe.py``), as a worker process would:
matplotlib's backend is a per-process choice. The limits (timeout, memory cap, kill) are the
worker's and are tested with the whole server in tests/web/test_interact_api.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run(source: str, args: dict[str, Any] | None = None, budget: int | None = None) -> dict[str, Any]:
    argv = [sys.executable, "-m", "tests.tasks.script_probe", json.dumps(args or {})]
    if budget is not None:
        argv.append(str(budget))
    done = subprocess.run(argv, input=source, capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    return dict(json.loads(done.stdout))


def test_figures_shown_and_left_open_are_kept_as_svg_and_frames_as_tables():
    result = run("""
import matplotlib.pyplot as plt
import pandas as pd
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [3, 1, 2])
ax.set_title("shown")
plt.show()
display(pd.DataFrame({"city": ["<b>Zurich</b>", "Geneva"], "t": [21.5, float("nan")]}))
plt.figure()
plt.plot([0, 1])
plt.title("left open")
result = {"n": args["n"] * 2}
""", {"n": 21})
    assert result["n"] == 42
    kinds = [(o["kind"], o.get("format"), o.get("title")) for o in result["outputs"]]
    assert kinds == [("image", "svg", "shown"), ("table", None, None), ("image", "svg", "left open")]
    svg = result["outputs"][0]["data"]
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    table = result["outputs"][1]
    assert table["columns"] == ["city", "t"] and table["rows"] == [["<b>Zurich</b>", 21.5], ["Geneva", None]]
    assert table["index"] == ["0", "1"] and table["shape"] == [2, 2] and table["truncated"] is False


def test_a_figure_over_the_budget_becomes_a_png_and_what_does_not_fit_a_note():
    many = """
import matplotlib.pyplot as plt
plt.scatter(range(20000), [i % 97 for i in range(20000)])
plt.show()
display("x" * 30000)
"""
    result = run(many, budget=30_000)
    image, note = result["outputs"]
    assert image["format"] == "png" and "did not fit" in image["note"]
    assert note["kind"] == "note" and "over the budget" in note["text"]


def test_a_task_class_in_the_script_is_the_task_and_its_options_are_checked():
    source = """
from tasks.base import TaskBase
task_options = [{"name": "limit", "type": "int", "default": 5}]
class Count(TaskBase):
    task_options = [{"name": "limit", "type": "int", "default": 5}]
    def __call__(self):
        self.logger.info("counting to %d", self.options["limit"])
        return {"counted": list(range(self.options["limit"])), "resubmit": False}
"""
    assert run(source, {"limit": 3}) == {"counted": [0, 1, 2], "resubmit": False}
    assert run(source)["counted"] == [0, 1, 2, 3, 4]
    refused = subprocess.run([sys.executable, "-m", "tests.tasks.script_probe", json.dumps({"limit": "x"})],
                             input=source, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert refused.returncode != 0 and "limit" in refused.stderr


def test_a_failing_script_fails_its_run_and_keeps_what_it_drew():
    result = run("""
import matplotlib.pyplot as plt
plt.plot([1, 2])
plt.show()
def helper():
    raise ValueError("bad data in row 7")
helper()
""")
    assert result["success"] is False and result["error"] == "ValueError: bad data in row 7"
    assert [o["kind"] for o in result["outputs"]] == ["image"]


def test_exit_ends_a_script_early_without_failing_it():
    assert run("result = {'a': 1}\nexit()\nresult = {'a': 2}\n") == {"a": 1}
    assert run("import sys\nsys.exit(3)\n")["success"] is False
