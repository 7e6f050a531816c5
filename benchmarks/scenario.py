"""Run ONE side of one scenario in this (fresh) process and write its figures as JSON.

``python -m benchmarks.scenario SYSTEM NAME PARAMS_JSON OUT_JSON WORKDIR`` where SYSTEM is
``das`` or ``aps``. `benchmarks.run` starts one of these per measurement, with a hard timeout.
The result file holds ``{"ok": true, "data": {...}}`` or ``{"ok": false, "error", "traceback"}``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run(system: str, name: str, params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Dispatch to the side's scenario function."""
    if system == "das":
        from benchmarks.das_side import SCENARIOS
    elif system == "aps":
        from benchmarks.aps_side import SCENARIOS
    else:
        raise ValueError(f"unknown system {system!r} (das or aps)")
    if name not in SCENARIOS:
        raise ValueError(f"{system} has no scenario {name!r} (known: {', '.join(SCENARIOS)})")
    return SCENARIOS[name](params, workdir)


def write_unit(out: str, call: Callable[[], dict[str, Any]]) -> bool:
    """Run *call* and write the unit's result file *out* (``{"ok", "data" | "error", "traceback",
    "unit_s"}``, replaced atomically); a failure's traceback also goes to stderr. True when it ran."""
    t0 = time.perf_counter()
    try:
        payload: dict[str, Any] = {"ok": True, "data": call()}
    except BaseException as exc:
        payload = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    payload["unit_s"] = round(time.perf_counter() - t0, 3)
    tmp = f"{out}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, default=str)
    os.replace(tmp, out)
    if not payload["ok"]:
        sys.stderr.write(payload["traceback"])
    return bool(payload["ok"])


def exit_now(ok: bool) -> None:
    """Leave without interpreter teardown: a backlogged process pool or a stray thread must not
    hold the exit."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if ok else 1)


def main(argv: list[str]) -> int:
    system, name, params_json, out, workdir = argv
    exit_now(write_unit(out, lambda: run(system, name, json.loads(params_json), Path(workdir))))
    return 0  # not reached


if __name__ == "__main__":
    main(sys.argv[1:])
