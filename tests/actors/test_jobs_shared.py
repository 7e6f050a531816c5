"""`actors.jobfields`: what a million specs share (schedule, misfire fields, no resources) keeps every check."""

from __future__ import annotations

import pytest

from actors.errors import InvalidJobError
from actors.jobfields import NO_RESOURCES
from actors.jobs import JobSpec


def make(**kw) -> JobSpec:
    return JobSpec(name=kw.pop("name", "j"), classname="Test", **kw)


def test_specs_of_one_schedule_share_it_and_specs_without_resources_share_an_empty_mapping():
    a, b = make(name="a", interval_s=3600), make(name="b", interval_s=3600)
    assert a.schedule is b.schedule and a.resources is NO_RESOURCES and b.resources == {}
    c = make(name="c", interval_s=3600, resources={"GPU": 1})
    assert c.resources == {"GPU": 1} and c.resources is not NO_RESOURCES
    with pytest.raises(TypeError):
        NO_RESOURCES["GPU"] = 1  # type: ignore[index]


def test_a_remembered_value_does_not_let_an_equal_value_of_another_type_pass():
    make(interval_s=60, max_catchup=1, misfire_grace=1)
    with pytest.raises(InvalidJobError) as caught:
        make(interval_s=60, max_catchup=True)  # True == 1, but a bool is no count
    assert caught.value.field == "max_catchup"
    with pytest.raises(InvalidJobError) as caught:
        make(interval_s=60, misfire_grace=True)
    assert caught.value.field == "misfire_grace"
    with pytest.raises(InvalidJobError) as caught:
        make(interval_s=True)
    assert caught.value.field == "interval"


def test_the_canonical_fields_are_the_same_with_and_without_a_remembered_value():
    first = make(name="x", interval_s=60, misfire="all", max_catchup=5)
    second = make(name="y", interval_s=60.0, misfire="all", max_catchup=5)
    assert (first.misfire, first.max_catchup, first.interval_s) == (second.misfire, second.max_catchup, 60.0)
    assert make(name="x", interval_s=60, misfire="all", max_catchup=5).job_id == first.job_id


def test_arguments_are_a_read_only_mapping_equal_to_their_dict_that_pickles():
    import pickle

    a = make(name="a", interval_s=60, kwargs={"value": 1, "list": [1, 2], "nested": {"k": "v"}})
    b = make(name="b", interval_s=60, kwargs={"value": 2, "list": [], "nested": {}})
    assert a.kwargs == {"list": [1, 2], "nested": {"k": "v"}, "value": 1} and dict(b.kwargs)["value"] == 2
    assert list(a.kwargs) == ["list", "nested", "value"] and len(a.kwargs) == 3 and "value" in a.kwargs
    assert a.kwargs.names() is b.kwargs.names()  # type: ignore[attr-defined]  # names shared by jobs with the same names
    assert {**a.kwargs, "value": 5}["value"] == 5 and a.kwargs.get("missing") is None
    with pytest.raises(KeyError):
        a.kwargs["missing"]
    with pytest.raises(TypeError):
        a.kwargs["value"] = 3  # type: ignore[index]
    again = pickle.loads(pickle.dumps(a.kwargs))
    assert again == a.kwargs and type(again) is type(a.kwargs)
    assert make(name="c", interval_s=60).kwargs == {} and "Arguments(" in repr(a.kwargs)


@pytest.mark.parametrize("kwargs", [
    {"value": 1},
    {"b": 2, "a": "x", "é": 1.5, "z": None, "\U00010000": True, "\uffff": -0.0},
    {"value": "text", "flag": False, "count": 2**63 - 1},
    {"deep": {"b": 1, "a": [1, (2, 3)]}, "t": (1, 2)},  # not flat: the JSON round trip (tuples -> lists)
])
def test_arguments_are_what_the_json_round_trip_makes_of_them(kwargs):
    import orjson

    from actors.jobs import canonical_json

    spec = make(interval_s=60, kwargs=kwargs)
    expected = orjson.loads(canonical_json(kwargs))
    assert spec.kwargs == expected and list(spec.kwargs) == list(expected)
    assert [type(v) for v in spec.kwargs.values()] == [type(v) for v in expected.values()]
    assert make(interval_s=60, kwargs=dict(reversed(list(kwargs.items())))).job_id == spec.job_id
    assert make(interval_s=60, kwargs=spec.kwargs).kwargs == spec.kwargs  # a spec's own arguments, rebuilt


@pytest.mark.parametrize(("value", "shown"), [
    (float("nan"), "['value']"), (2**64, "['value']"), ("\ud800", "['value']"), ({1: 2}, "['value'][1]"),
])
def test_arguments_that_are_not_json_are_refused_naming_them(value, shown):
    with pytest.raises(InvalidJobError) as caught:
        make(interval_s=60, kwargs={"value": value})
    assert caught.value.field == "kwargs" and shown in str(caught.value)


def test_an_int_subclass_argument_is_stored_as_a_plain_int():
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    spec = make(interval_s=60, kwargs={"level": Level.HIGH})
    assert spec.kwargs == {"level": 3} and type(spec.kwargs["level"]) is int


def test_the_spec_constructor_takes_what_the_dataclass_declares():
    import dataclasses
    import inspect

    declared = [f.name for f in dataclasses.fields(JobSpec) if f.init]
    assert list(inspect.signature(JobSpec).parameters) == declared
    positional = JobSpec("j", "Test", 60, {"b": 1, "a": 2})
    assert positional == make(interval_s=60, kwargs={"a": 2, "b": 1}) and positional.job_id
    assert dataclasses.replace(positional, name="k").name == "k" and positional.schedule is not None
    assert make(interval_s=60).kwargs == {} and make(interval_s=60).resources == {}
    with pytest.raises(TypeError, match=r"JobSpec.__init__\(\) missing 1 required positional argument: 'classname'"):
        JobSpec("j")  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        positional.name = "x"  # type: ignore[misc]
