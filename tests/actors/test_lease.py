"""The pure lease rules (issue 15): when a leader stops claiming, when a follower looks again, who
counts as alive, what the Instances table shows, the relay's encoding, and the lease_ttl option."""

from __future__ import annotations

import pytest

from actors.config import Settings
from actors.errors import ConfigError, ConflictError, InvalidValueError, NotFoundError
from actors.jobs import JobSpec, Origin
from actors.lease import Lease, describe_instances, follower_wait, is_alive, live_others, local_deadline, renew_every
from actors.messages import AddJob, BackfillJob, CancelRun, PauseJob, RemoveJob, RescheduleJob, ResumeJob, RunJobNow
from actors.relay import RELAYED, decode, encode, error_fields, rebuild_error
from actors.streammessages import AddStream, PauseStream, RemoveStream, ResumeStream, StreamArrived
from actors.streamspec import StreamSpec


def test_the_leader_stops_claiming_before_its_lease_can_lapse_on_the_server():
    assert renew_every(3.0) == 1.0
    assert local_deadline(100.0, 2.0) == pytest.approx(101.8)  # 10 % margin
    assert local_deadline(100.0, 30.0) == pytest.approx(129.0)  # at most 1 s


def test_a_follower_looks_again_when_the_lease_it_read_ends_or_every_third():
    lease = Lease("a", 3, until=105.0)
    assert follower_wait(3.0, lease, now=104.5) == pytest.approx(0.52)  # right after the end (+20 ms)
    assert follower_wait(3.0, lease, now=100.0) == pytest.approx(1.0)
    assert follower_wait(3.0, None, now=100.0) == pytest.approx(1.0)
    assert follower_wait(3.0, lease, now=200.0) == pytest.approx(0.02)  # lapsed long ago: at once (floor)


def test_an_instance_is_alive_for_two_thirds_of_its_own_ttl():
    doc = {"id": "a", "heartbeat": 100.0, "ttl": 3.0}
    assert is_alive(doc, 101.9) and not is_alive(doc, 102.0)
    assert not is_alive({"id": "b"}, 100.0)  # no heartbeat: not alive
    docs = [doc, {"id": "me", "heartbeat": 100.0, "ttl": 3.0}, {"id": "old", "heartbeat": 1.0, "ttl": 3.0}]
    assert live_others(docs, "me", 101.0) == frozenset({"a"})


def test_the_instances_table_marks_the_holder_of_a_live_lease_leader():
    docs = [{"id": "a", "heartbeat": 100.0, "ttl": 3.0}, {"id": "b", "heartbeat": 100.5, "ttl": 3.0},
            {"id": "c", "heartbeat": 10.0, "ttl": 3.0}]
    shown = {d["id"]: d for d in describe_instances(docs, Lease("a", 4, until=102.0), now=101.0)}
    assert [shown[i]["role"] for i in "abc"] == ["leader", "follower", "lost"]
    assert shown["a"]["term"] == 4 and shown["a"]["lease_until"] == 102.0 and shown["b"]["lease_until"] is None
    assert shown["b"]["heartbeat_age_s"] == 0.5
    lapsed = {d["id"]: d for d in describe_instances(docs, Lease("a", 4, until=100.0), now=101.0)}
    assert lapsed["a"]["role"] == "follower"  # its lease has lapsed: nobody leads right now


def test_every_relayed_command_survives_the_store():
    spec = JobSpec(name="n", classname="tests.fixtures:Ok", interval_s=60.0, origin=Origin.API, tags=("t",))
    stream = StreamSpec.from_record({"name": "s", "uri": "amqp://u:p@h/", "queue": "q", "tags": ["x"]})
    commands = [AddJob(spec, 123.0), RemoveJob("j"), PauseJob("j"), ResumeJob("j"), RunJobNow("j"),
                RescheduleJob("j", 5.0), BackfillJob("j", 1.0, 2.0), CancelRun("j:1:0"), StreamArrived("s", 3),
                AddStream(stream, True), PauseStream("s"), ResumeStream("s"), RemoveStream("s")]
    assert {type(c) for c in commands} == set(RELAYED)
    for command in commands:
        assert decode(encode(command)) == command
    with pytest.raises(InvalidValueError, match="not a command"):
        encode(object())


def test_the_leaders_error_is_raised_again_with_its_class_and_status():
    for error in (NotFoundError("no job with id 'x'"), ConflictError("running"),
                  InvalidValueError("bad", field="to", value=3)):
        again = rebuild_error(error_fields(error))
        assert type(again) is type(error)
        assert again.status == error.status and str(again) == str(error)
    assert rebuild_error(error_fields(RuntimeError("boom"))).status == 500


def test_lease_ttl_is_zero_or_long_enough_to_renew():
    assert Settings({"lease_ttl": 0.0}).lease_ttl == 0.0
    assert Settings({"lease_ttl": 2.0}).lease_ttl == 2.0
    with pytest.raises(ConfigError, match="lease_ttl"):
        Settings({"lease_ttl": 0.1})
