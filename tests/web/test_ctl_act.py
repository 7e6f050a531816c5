"""``das-actors ctl trigger`` (and ``scripts``, ``actions``, ``targets``) as an operator runs it: a
subprocess against a real server."""

from __future__ import annotations

import json

import pytest

from tests.web.conftest import T, unique
from tests.web.test_ctl import ctl, ok

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def url(served):
    return served.web_url.rstrip("/")


def test_trigger_waits_for_the_run_and_a_key_makes_a_repeat_the_same_run(url, served):
    name = unique("ctl-trigger")
    added = json.loads(ok(url, "--json", "add", name, T + "Say", "3600", "--when", "+1h"))["job"]
    first = ok(url, "trigger", name, "--param", "message=from ctl", "--key", "k-1", "--wait")
    assert "started" in first and "success" in first and '"said": "from ctl"' in first
    again = json.loads(ok(url, "--json", "trigger", added["job_id"], "-p", "message=from ctl", "--key", "k-1"))
    assert again["replayed"] is True and again["run_id"] == f"{added['job_id']}:1:0"
    refused = ctl(url, "trigger", added["job_id"], "--param", "lines=many")
    assert refused.returncode == 1 and "params.lines" in refused.stderr
    failing = unique("ctl-fails")
    put = ctl(url, "trigger", failing, "--script")
    assert put.returncode == 1 and "no script named" in put.stderr


def test_scripts_actions_and_targets_are_listed(url, served):
    name = unique("ctl-script")
    served.facade.interact.save_script(name, "result = {'ok': True}\n", tags="ctl")
    out = ok(url, "trigger", name, "--script", "--wait")
    assert "success" in out and '"ok": true' in out
    assert name in ok(url, "scripts", "--tag", "ctl")
    assert "0 of 0 action(s)" in ok(url, "actions", "--state", "failed", "--target", "nothing-" + name)
    assert ok(url, "targets").startswith("NAME  KIND  URL")
