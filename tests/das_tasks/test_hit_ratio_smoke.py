"""Smoke test of the DAS hit-ratio benchmark: its quick mode end to end (~30-40 s), in a subprocess.

No figure is asserted beyond being measured: the three runs happen, every request is answered,
and the pipeline run really ran hotspot and maintainer jobs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_quick_hit_ratio_benchmark_measures_every_run(tmp_path):
    out = tmp_path / "hit.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.das_hit_ratio", "--quick", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=280, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(out.read_text())
    assert data["quick"] is True
    for mode in ("none", "pipeline", "oracle"):
        run = data["runs"][mode]
        assert 0.0 <= run["hit_ratio"] <= 1.0 and run["errors"] == 0 and run["requests"] > 0, run
        assert run["mean_ms"] > 0
    pipeline = data["runs"]["pipeline"]["pipeline"]
    assert pipeline["hotspot_runs"] >= 2 and pipeline["hotspot_failures"] == 0
    assert pipeline["maintainer_runs"] > 0 and pipeline["maintainer_failures"] == 0
    assert data["runs"]["oracle"]["oracle"]["refreshes"] > 0
    assert isinstance(data["pipeline_vs_oracle_pct"], float)
    assert "pipeline / oracle hit ratio" in done.stdout and "| none" in done.stdout
