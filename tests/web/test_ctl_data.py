"""``das-actors ctl objects ...`` and ``ctl streams ...`` as an operator runs them: subprocesses against a
real server serving its panel (and a real RabbitMQ broker for the streams)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.actors.ingest_support import Publisher, queue_name
from tests.web.conftest import T, unique, wait_for
from tests.web.test_ctl import ROOT, as_json, ctl, ok

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def url(served):
    return served.web_url.rstrip("/")


def test_put_get_info_tag_untag_rm(url, tmp_path):
    data = os.urandom(2_500_000)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    name, tag = unique("cli") + ".bin", f"t{uuid.uuid4().hex[:8]}"
    out = ok(url, "objects", "put", name, str(source), "--tag", tag, "--tag", "cli")
    assert f"stored '{name}' version 1" in out and hashlib.sha256(data).hexdigest() in out
    target = tmp_path / "back.bin"
    ok(url, "objects", "get", name, "-o", str(target))
    assert target.read_bytes() == data
    piped = subprocess.run([sys.executable, "-m", "actors.cli", "ctl", "--url", url, "objects", "get", name],
                           capture_output=True, timeout=60, cwd=ROOT, check=True)
    assert piped.stdout == data
    listed = ok(url, "objects", "list", "--tag", tag)
    assert name in listed and "1 of 1 object(s)" in listed
    ok(url, "objects", "untag", name, tag)
    assert as_json(url, "objects", "list", "--tag", tag)["total"] == 0
    ok(url, "objects", "tag", name, tag)
    info = as_json(url, "objects", "info", name)
    assert info["object"]["tags"] == sorted([tag, "cli"])
    assert "deleted 1 version(s)" in ok(url, "objects", "rm", name)
    missing = ctl(url, "objects", "info", name)
    assert missing.returncode == 1 and "404" in missing.stderr


def test_put_from_stdin_checks_csv(url):
    name = unique("stdin") + ".csv"
    done = subprocess.run([sys.executable, "-m", "actors.cli", "ctl", "--url", url, "objects", "put", name, "-"],
                          input=b"a,b\n1,2\n", capture_output=True, timeout=60, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert as_json(url, "objects", "info", name)["object"]["facts"] == {"columns": ["a", "b"], "rows": 1}
    bad = subprocess.run([sys.executable, "-m", "actors.cli", "ctl", "--url", url, "objects", "put", name, "-"],
                         input=b"a,b\n1\n", capture_output=True, timeout=60, cwd=ROOT, check=False)
    assert bad.returncode == 1 and b"line 2" in bad.stderr


def test_streams_add_show_pause_resume_rm(url, rabbitmq):
    name, queue, tag = unique("cli-stream"), queue_name(), f"t{uuid.uuid4().hex[:8]}"
    assert "added stream" in ok(url, "streams", "add", name, rabbitmq.url, queue, "--tag", tag)
    publisher = Publisher(rabbitmq.url, queue)
    publisher.publish(f"{name}-1", json.dumps({"hello": "cli"}).encode())
    wait_for(lambda: as_json(url, "streams", "show", name)["stream"]["stored"] == 1, 30)
    shown = ok(url, "streams", "show", name)
    assert '{"hello": "cli"}' in shown and "consuming" in shown
    assert name in ok(url, "streams", "list", "--tag", tag)
    assert "paused" in ok(url, "streams", "pause", name)
    assert as_json(url, "streams", "list", "--tag", tag)["streams"][0]["paused"] is True
    assert "resumed" in ok(url, "streams", "resume", name)
    assert "removed" in ok(url, "streams", "rm", name)
    assert as_json(url, "streams", "list", "--tag", tag)["streams"] == []
    publisher.close()


def test_job_tags_and_stream_triggers_from_the_shell(url):
    name, tag = unique("tagged"), f"t{uuid.uuid4().hex[:8]}"
    out = ok(url, "add", name, T + "Say", "3600", "--tag", tag, "--on-stream", "nowhere", "--stream-batch", "5",
             "--when", "+1h")
    job_id = out.split("(")[1].split(")")[0]
    [job] = as_json(url, "jobs", "--tag", tag)["jobs"]
    assert (job["job_id"], job["tags"], job["on_stream"], job["stream_batch"]) == (job_id, [tag], "nowhere", 5)
    assert name in ok(url, "schedule", "--tag", tag)
    assert as_json(url, "runs", "--tag", tag)["total"] == 0
