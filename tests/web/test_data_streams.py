"""Streams through the API and the panel on a real server and a real RabbitMQ broker; tags on jobs and
results; and the continuous-analytics loop end to end: an ``on_stream`` job that reads an uploaded CSV
and the stream's new messages, and writes a summary object naming the run that produced it."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.actors.ingest_support import Publisher, queue_name
from tests.web.conftest import API, BASE, T, unique, wait_for
from tests.web.test_data import csrf

pytestmark = pytest.mark.system


def stream_state(app, name: str) -> dict:
    return app.get(f"{API}/streams/{name}").json["stream"]


def test_a_stream_registered_through_the_api_is_consumed_and_shown(app, rabbitmq):
    name, queue, tag = unique("s"), queue_name(), f"t{uuid.uuid4().hex[:8]}"
    created = app.post_json(f"{API}/streams", {"name": name, "uri": rabbitmq.url, "queue": queue, "tags": [tag]},
                            status=201).json["stream"]
    assert created["uri"].startswith("amqp://guest:***@") and created["tags"] == [tag]
    app.post_json(f"{API}/streams", {"name": name, "uri": rabbitmq.url, "queue": "other"}, status=409)
    publisher = Publisher(rabbitmq.url, queue)
    for i in range(5):
        publisher.publish(f"{name}-{i}", json.dumps({"i": i, "html": "<b>bold</b>"}).encode())
    publisher.publish(f"{name}-raw", b"\xff\xfe not utf-8")
    wait_for(lambda: stream_state(app, name)["stored"] == 6, 30)
    found = stream_state(app, name)
    assert found["status"]["state"] == "consuming" and found["status"]["error"] is None
    assert found["messages"][0]["kind"] == "bytes" and found["messages"][0]["body_text"] is None
    assert [m["body"]["i"] for m in app.get(f"{API}/streams/{name}/messages", {"after": 0}).json["messages"]
            if m["kind"] == "json"] == [0, 1, 2, 3, 4]
    assert [s["name"] for s in app.get(f"{API}/streams", {"tag": tag}).json["streams"]] == [name]
    page = app.get(f"{BASE}/data", {"tag": tag})
    [row] = page.html.find_all(attrs={"data-testid": "stream-row"})
    assert row["data-name"] == name and "consuming" in row.get_text()
    stream_page = app.get(f"{BASE}/data/streams/{name}")
    assert "<b>bold</b>" not in stream_page.text and "&lt;b&gt;bold" in stream_page.text
    assert stream_page.html.find(id="live-tail")["data-kind"] == "stream"
    # The live tail: new messages as Server-Sent Events, ids are their seq.
    after = found["last_seq"]
    publisher.publish(f"{name}-late", b'{"late": true}')
    events = app.get(f"{API}/streams/{name}/tail", {"after": after, "limit": 1, "timeout": 20})
    assert events.content_type == "text/event-stream"
    data = [json.loads(line[5:]) for line in events.text.splitlines() if line.startswith("data:")]
    assert data[0]["body"] == {"late": True} and f"id: {data[0]['seq']}" in events.text
    # Pause, resume, remove, from the panel.
    token = csrf(app)
    app.post(f"{BASE}/data/streams/{name}/pause", {"csrf_token": token, "next": "data"}, status=303)
    assert stream_state(app, name)["paused"] is True
    app.post(f"{BASE}/data/streams/{name}/resume", {"csrf_token": token, "next": "data"}, status=303)
    assert stream_state(app, name)["paused"] is False
    app.post(f"{BASE}/data/streams/{name}/remove", {"csrf_token": token}, status=303)
    app.get(f"{API}/streams/{name}", status=404)
    app.get(f"{API}/streams/{name}/tail", status=404)
    publisher.close()


def test_a_stream_added_from_the_panel_with_a_broker_that_is_down_shows_why(app):
    name = unique("dead")
    token = csrf(app)
    app.post(f"{BASE}/data/streams", {"csrf_token": token, "name": name, "uri": "amqp://guest:pw@127.0.0.1:1/%2F",
                                      "queue": "q", "tags": "a, b"}, status=303)
    down = wait_for(lambda: (s := stream_state(app, name))["status"]["state"] == "down" and s, 30)
    assert "retry in" in down["status"]["error"] and down["tags"] == ["a", "b"]
    assert "pw" not in app.get(f"{BASE}/data").text
    bad = app.post(f"{BASE}/data/streams", {"csrf_token": token, "name": "x y", "uri": "http://no", "queue": "q"},
                   expect_errors=True)
    assert bad.status_int == 400
    app.delete(f"{API}/streams/{name}")


def test_tags_filter_the_schedule_and_the_results(app, api):
    tag = f"t{uuid.uuid4().hex[:8]}"
    tagged = api.add(T + "Say", 3600.0, tags=[tag, "common"])
    plain = api.add(T + "Say", 3600.0)
    assert tagged["tags"] == sorted([tag, "common"]) and plain["tags"] == []
    assert [j["job_id"] for j in app.get(f"{API}/jobs", {"tag": tag}).json["jobs"]] == [tagged["job_id"]]
    api.wait_runs(1, job_id=tagged["job_id"])
    api.wait_runs(1, job_id=plain["job_id"])
    runs = api.runs(tag=tag)["runs"]
    assert {r["job_id"] for r in runs} == {tagged["job_id"]} and runs[0]["tags"] == sorted([tag, "common"])
    page = app.get(f"{BASE}/schedule", {"tag": tag})
    assert [r["data-job-id"] for r in page.html.find_all(attrs={"data-testid": "job-row"})] == [tagged["job_id"]]
    results = app.get(f"{BASE}/results", {"tag": tag})
    assert {r["data-job-id"] for r in results.html.find(id="results").find("tbody").find_all("tr")} == \
        {tagged["job_id"]}
    app.get(f"{API}/jobs", {"tag": "bad tag"}, status=400)


def test_an_on_stream_job_reads_an_object_and_new_messages_and_writes_an_object(app, api, rabbitmq):
    stream, queue = unique("events"), queue_name()
    readings, out = unique("readings") + ".csv", unique("summary") + ".json"
    app.put(f"{API}/objects/{readings}", b"sensor,value\na,1.5\nb,2.5\n", content_type="text/csv", status=201)
    app.post_json(f"{API}/streams", {"name": stream, "uri": rabbitmq.url, "queue": queue}, status=201)
    wait_for(lambda: stream_state(app, stream)["status"]["state"] == "consuming", 30)
    job = api.add("tests.web.data_tasks:Summarize", 3600.0, when="+1h", on_stream=stream, stream_batch=3,
                  kwargs={"readings": readings, "stream": stream, "out": out})
    publisher = Publisher(rabbitmq.url, queue)
    for i in range(3):
        publisher.publish(f"{stream}-{i}", json.dumps({"value": 10}).encode())
    [run] = api.wait_runs(1, job_id=job["job_id"], timeout=60)
    assert run["outcome"] == "success", run
    summary = json.loads(app.get(f"{API}/objects/{out}/content").body)
    assert summary["rows"] == 2 and summary["messages"] == 3 and summary["total"] == pytest.approx(34.0)
    info = app.get(f"{API}/objects/{out}").json["object"]
    assert info["producer"]["job_id"] == job["job_id"] and info["producer"]["index"] == run["index"]
    assert info["tags"] == ["summary"]
    assert api.job(job["job_id"])["due_at"] > time.time() + 1800  # the schedule after the run: its interval
    page = app.get(f"{BASE}/data/objects/{out}")
    assert f"/runs/{job['job_id']}/{run['index']}" in page.html.find(attrs={"data-testid": "producer"})["href"]
    publisher.close()
    app.delete(f"{API}/streams/{stream}")
