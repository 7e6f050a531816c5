"""Config files declare streams (``Stream(name, uri, queue, tags=...)``) and job tags and stream triggers."""

from __future__ import annotations

import hashlib

import pytest

from actors.configfile import load_config
from actors.errors import ConfigError
from actors.jobs import JobSpec, canonical_json
from actors.streamspec import StreamOrigin


def write(tmp_path, text: str) -> str:
    path = tmp_path / "conf.py"
    path.write_text(text)
    return str(path)


def test_streams_and_tagged_jobs_come_out_of_a_config_file(tmp_path):
    path = write(tmp_path, """
workers = 1
sensors = Stream("sensors", "amqp://guest:guest@localhost:5672/%2F", "readings", tags=["iot", "raw"])
Task("summary", "Test", 60, tags=["report"], on_stream="sensors", stream_batch=10)
Task("plain", "Test", 60)
""")
    streams: list = []
    settings, jobs = load_config([path], {}, streams=streams)
    [stream] = streams
    assert (stream.name, stream.queue, stream.tags, stream.origin) == ("sensors", "readings", ("iot", "raw"),
                                                                       StreamOrigin.CONFIG)
    by_name = {job.name: job for job in jobs}
    assert by_name["summary"].tags == ("report",) and by_name["summary"].on_stream == "sensors"
    assert by_name["summary"].stream_batch == 10
    assert by_name["plain"].tags == () and settings.workers == 1


def test_a_bad_stream_names_the_file_line_and_field(tmp_path):
    path = write(tmp_path, 'Stream("ok", "amqp://h/", "q")\nStream("bad name", "amqp://h/", "q")\n')
    with pytest.raises(ConfigError, match=r"conf.py:2: Stream 'bad name': name"):
        load_config([path], {}, streams=[])
    path = write(tmp_path, 'Stream("s", "http://h/", "q")\n')
    with pytest.raises(ConfigError, match=r"conf.py:1: .*uri"):
        load_config([path], {}, streams=[])
    path = write(tmp_path, 'Stream("s", "amqp://h/", "q")\nStream("s", "amqp://h/", "q2")\n')
    with pytest.raises(ConfigError, match="declared twice"):
        load_config([path], {}, streams=[])


def test_job_ids_change_only_when_tags_or_triggers_are_set():
    plain = JobSpec(name="j", classname="Test", interval_s=60)
    assert plain.job_id == JobSpec(name="j", classname="Test", interval_s=60, tags=()).job_id
    assert "tags" not in plain.definition() and "on_stream" not in plain.definition()
    assert plain.job_id != JobSpec(name="j", classname="Test", interval_s=60, tags=("a",)).job_id
    # the id of a job without them is what it was before tags existed: a hash of the old definition
    old = {"name": "j", "classname": "Test", "interval": 60.0, "kwargs": {}, "only_once": False, "max_runs": None,
           "only_before": None, "timeout": None, "retries": None, "parent": []}
    assert plain.job_id == hashlib.sha256(canonical_json(old)).hexdigest()[:16]


def test_bad_tags_and_triggers_are_refused_naming_the_field(tmp_path):
    path = write(tmp_path, 'Task("j", "Test", 60, tags=["no spaces"])\n')
    with pytest.raises(ConfigError, match="tags"):
        load_config([path], {})
    path = write(tmp_path, 'Task("j", "Test", 60, stream_batch=5)\n')
    with pytest.raises(ConfigError, match="stream_batch needs on_stream"):
        load_config([path], {})
