"""The das-actors side of the scale scenario: many 1 h jobs loaded from a config file, then a restart.

Why a module of its own: loading, restarting and paging a million jobs is a concept apart from the
runs the other scenarios time (`benchmarks.das_side`, which lists every scenario and holds the
shared set-up); what a figure means and its 1M target are in `benchmarks.figures`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks import das_side
from benchmarks.common import median, rss_mb, timed

# ----------------------------------------------------------------------------- 4. scale
SCALE_CONFIG = """\
# {jobs} jobs with a 1 h interval (written by benchmarks/das_scale.py)
workers = 2
minimum_interval = 0
for _i in range({jobs}):
    Task(f"scale-{{_i}}", "Echo", 3600, value=_i)
"""


def _scale_flags(workdir: Path) -> dict[str, Any]:
    return {"db_uri": f"sqlite:///{workdir}/scale.db", "db_size": das_side.STORE_CAP_BYTES, "shutdown_grace": 5.0,
            "web": False}


def scale_config(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Load N 1 h jobs from a config file and start (as ``das-actors start`` does); RSS; first page."""
    jobs = int(params["jobs"])
    config = workdir / "scale.py"
    config.write_text(SCALE_CONFIG.format(jobs=jobs), encoding="utf-8")
    return _scale_start(workdir, config, jobs, "config")


def scale_restart(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Start again on the store `scale_config` left, with the same config: jobs restored from the store."""
    config = workdir / "scale.py"
    if not (workdir / "scale.db").exists():
        raise RuntimeError("no store from the config run to restart from")
    return _scale_start(workdir, config, int(params["jobs"]), "restart")


def _scale_start(workdir: Path, config: Path, jobs: int, phase: str) -> dict[str, Any]:
    das_side.configure_logging(workdir)
    from actors.configfile import load_config
    from actors.gcpause import paused_gc
    from actors.messages import GetStatus
    from actors.system import System

    rss_before = rss_mb()
    t0 = time.perf_counter()
    from tasks.registry import default_registry

    registry = default_registry()
    t_registry = time.perf_counter()
    with paused_gc(settle=True):  # as `das-actors start` does (actors/cli.py): one collection for load + restore
        settings_, specs = load_config([config], _scale_flags(workdir), make_job=registry.validate_spec)
        t_loaded = time.perf_counter()
        system = System(settings_, specs).start()
    t_started = time.perf_counter()
    try:
        count = int(system.ask(GetStatus())["jobs"])
        if count < jobs:
            raise RuntimeError(f"{count} jobs after start, expected {jobs}")
        rss_started = rss_mb()
        pages = first_page(system, workdir)
        time.sleep(1.0)  # let the first saves and the first runs settle before reading the RSS again
        rss_settled = rss_mb()
        t_stop = time.perf_counter()
    finally:
        system.shutdown(grace_s=2.0)
    shutdown_s = time.perf_counter() - t_stop
    return {
        "jobs": jobs, "phase": phase,
        "registry_s": round(t_registry - t0, 4),
        "load_config_s": round(t_loaded - t_registry, 4),
        "start_s": round(t_started - t_loaded, 4),
        "total_s": round(t_started - t0, 4),
        "shutdown_s": round(shutdown_s, 4),
        "rss_before_mb": round(rss_before, 1),
        "rss_started_mb": round(rss_started, 1),
        "rss_settled_mb": round(rss_settled, 1),
        "rss_mb": round(max(rss_started, rss_settled), 1),
        **pages,
        "note": "first runs are spread over the hour (start offset on, the default): ~jobs/3600 runs/s meanwhile",
    }


def first_page(system: Any, workdir: Path) -> dict[str, Any]:
    """Time the schedule's first page: the facade (paged method if any), and the JSON API if it exists."""
    from actors.facade import Facade

    facade = Facade(system)
    out: dict[str, Any] = {}
    paged = getattr(facade, "jobs_page", None)
    if callable(paged):
        out["page_method"] = "Facade.jobs_page(limit=50)"
        page, ms = timed(lambda: paged(limit=50))
    else:
        out["page_method"] = "Facade.jobs()[:50] (no paged facade method)"
        page, ms = timed(lambda: facade.jobs()[:50])
    items = page.get("items", page) if isinstance(page, dict) else getattr(page, "items", page)
    out["page_items"] = len(items) if hasattr(items, "__len__") else None
    out["first_page_ms"] = median(ms)
    out["first_page_first_call_ms"] = round(ms[0], 3)
    out["first_page_calls_ms"] = [round(x, 3) for x in ms]
    out.update(api_page(facade, system))
    return out


def api_page(facade: Any, system: Any) -> dict[str, Any]:
    """``GET {web_base}/api/v1/jobs?limit=50`` through the web app (WebTest), if ``web.app.make_app`` exists."""
    import importlib
    import inspect

    try:
        make_app = importlib.import_module("web.app").make_app
    except (ImportError, AttributeError) as exc:
        return {"api_first_page_ms": None, "api_note": f"no web API to time ({exc})"}
    try:
        TestApp = importlib.import_module("webtest").TestApp
    except ImportError as exc:
        return {"api_first_page_ms": None, "api_note": f"WebTest is not installed ({exc})"}

    try:
        parameters = list(inspect.signature(make_app).parameters.values())
        first = parameters[0].name if parameters else ""
        app = make_app(system if first == "system" else facade)
        base = str(system.settings.web_base).rstrip("/")
        headers = {"Accept": "application/json"}
        token = system.settings.web_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        client = TestApp(app, extra_environ={"SCRIPT_NAME": base})  # as web.server mounts it at web_base
        path = "/api/v1/jobs?limit=50"
        url = f"{base}{path}"
        response, ms = timed(lambda: client.get(path, headers=headers))
        return {"api_first_page_ms": median(ms), "api_first_page_first_call_ms": round(ms[0], 3),
                "api_first_page_calls_ms": [round(x, 3) for x in ms], "api_status": response.status_int,
                "api_url": url, "api_bytes": len(response.body), "api_items": _count_items(response)}
    except Exception as exc:
        return {"api_first_page_ms": None, "api_note": f"web API present but not timed: {type(exc).__name__}: {exc}"}


def _count_items(response: Any) -> int | None:
    """How many jobs the API page returned (whatever the envelope: a list, or a dict with one list)."""
    try:
        body = response.json
    except (ValueError, AttributeError):
        return None
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        for key in ("items", "jobs", "data"):
            if isinstance(body.get(key), list):
                return len(body[key])
    return None
