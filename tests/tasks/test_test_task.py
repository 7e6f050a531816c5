"""The demonstration tasks (tasks.test) and the optional base class (tasks.base)."""

from __future__ import annotations

import functools
import logging
from typing import Any

import pytest

from actors.jobs import JobSpec
from tasks import test as demo
from tasks.base import TaskBase
from tasks.registry import TaskRegistry

DUE = 1_700_000_000.0
NEVER: dict[str, Any] = {"stop_p": 0.0, "spawn_p": 0.0, "raise_p": 0.0}


@functools.cache
def registry() -> TaskRegistry:
    reg = TaskRegistry(importable=("tests",))
    reg.discover()
    return reg


def make(cls: type = demo.Test, *, index: int = 1, attempt: int = 0, **kwargs: Any) -> Any:
    """Construct a task the way the runtime does: defaults applied, framework kwargs added."""
    options = registry().prepare_kwargs(cls.__name__, kwargs)
    return cls(
        **options, logger=logging.getLogger("task.demo"), name="demo", index=index, interval=60.0,
        attempt=attempt, job_id="0123456789abcdef", parent=("fedcba9876543210",), due_at=DUE, services={},
    )


def outcome(task: Any) -> Any:
    try:
        return task()
    except RuntimeError as exc:
        return ("raised", str(exc))


# -- Test: the four branches -----------------------------------------------------------


def test_plain_run_returns_message_and_index(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="task.demo"):
        assert make(message="hi", index=3, **NEVER)() == {"message": "hi", "index": 3}
    assert [r.getMessage() for r in caplog.records] == ["hi from index=3"]
    assert caplog.records[0].levelno == logging.INFO


def test_stop_branch_finishes_the_job() -> None:
    assert make(message="bye", index=2, **{**NEVER, "stop_p": 1.0})() == {
        "message": "bye", "index": 2, "resubmit": False,
    }


def test_raise_branch_raises_with_the_index() -> None:
    with pytest.raises(RuntimeError, match=r"raising on purpose \(index=7\)"):
        make(index=7, **{**NEVER, "raise_p": 1.0})()


def test_spawn_branch_returns_one_valid_child() -> None:
    kinds = set()
    for seed in range(40):
        result = make(message="m", index=4, seed=seed, **{**NEVER, "spawn_p": 1.0})()
        assert (result["message"], result["index"]) == ("m", 4)
        [child] = result["new_tasks"]
        assert child["name"] == "spawn-of-4"
        assert child["classname"] == "Test"
        assert 1 <= child["interval"] <= 30
        assert child["kwargs"] == {"message": "spawn-of-m", "seed": f"{seed}/4"}
        limits = {"only_once", "max_runs", "only_before"} & set(child)
        assert len(limits) == 1
        kind = limits.pop()
        kinds.add(kind)
        if kind == "only_once":
            assert child["only_once"] is True
        elif kind == "max_runs":
            assert 1 <= child["max_runs"] <= 5
        else:
            assert 1 <= child["only_before"] - DUE <= 120
        spec = JobSpec.from_dict({**child, "parent": ["0123456789abcdef"], "origin": "child"})
        assert registry().validate_spec(spec).classname == "Test"
    assert kinds == {"only_once", "max_runs", "only_before"}


def test_unseeded_spawn_has_an_unseeded_child() -> None:
    [child] = make(**{**NEVER, "spawn_p": 1.0})()["new_tasks"]
    assert child["kwargs"]["seed"] is None
    JobSpec.from_dict({**child, "parent": ["0123456789abcdef"]})


def test_default_probabilities_match_das() -> None:
    defaults = {o["name"]: o.get("default") for o in demo.Test.task_options}
    assert defaults == {"message": "hello world", "seed": None, "stop_p": 0.01, "spawn_p": 0.04, "raise_p": 0.05}


# -- Test: reproducibility -------------------------------------------------------------

CHAOTIC: dict[str, Any] = {"stop_p": 0.25, "spawn_p": 0.25, "raise_p": 0.25}


def sequence(seed: Any, attempt: int = 0) -> list[Any]:
    return [outcome(make(seed=seed, index=i, attempt=attempt, **CHAOTIC)) for i in range(1, 41)]


def test_seed_makes_runs_reproducible_across_instances() -> None:
    first = sequence(42)
    assert first == sequence(42)
    kinds = {"raised" if isinstance(o, tuple) else "stop" if "resubmit" in o else
             "spawn" if "new_tasks" in o else "plain" for o in first}
    assert kinds == {"raised", "stop", "spawn", "plain"}


def test_seed_index_and_attempt_all_change_the_draw() -> None:
    assert sequence(42) != sequence(43)
    assert sequence(42) != sequence(42, attempt=1)
    assert sequence({"any": "json"}) == sequence({"any": "json"})


# -- Sleep and Echo --------------------------------------------------------------------


def test_sleep_returns_what_it_slept(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="task.demo"):
        assert make(demo.Sleep, seconds=0)() == {"slept": 0.0}
    assert "sleeping 0.000 s" in caplog.text
    assert make(demo.Sleep).options["seconds"] == 1.0


def test_echo_returns_its_value() -> None:
    assert make(demo.Echo, value={"a": [1, 2]})() == {"a": [1, 2]}
    assert make(demo.Echo)() is None


# -- TaskBase --------------------------------------------------------------------------


class Needs(TaskBase):
    task_options = [{"name": "required"}, {"name": "listed", "default": []}]

    def __call__(self) -> dict[str, Any]:
        return dict(self.options)


def test_task_base_splits_framework_and_user_arguments() -> None:
    logger = logging.getLogger("x")
    task = Needs(required=1, extra="e", logger=logger, name="n", index=5, interval=9.0, attempt=2,
                 job_id="j", parent=["p1", "p2"], due_at=12.5, services={"db": "handle"})
    assert task.options == {"required": 1, "extra": "e", "listed": []}
    assert (task.logger, task.name, task.index, task.interval, task.attempt) == (logger, "n", 5, 9.0, 2)
    assert (task.job_id, task.parent, task.due_at, task.services) == ("j", ("p1", "p2"), 12.5, {"db": "handle"})


def test_task_base_defaults_for_hand_construction() -> None:
    task = Needs(required=0)
    assert (task.name, task.index, task.attempt, task.parent, task.services) == ("Needs", 1, 0, (), {})
    assert isinstance(task.logger, logging.Logger)
    assert task.due_at > 0
    Needs(required=0).options["listed"].append(1)
    assert Needs(required=0).options["listed"] == []


def test_task_base_missing_required_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="Needs\\(\\) missing required option 'required'"):
        Needs()


def test_task_base_call_must_be_implemented() -> None:
    with pytest.raises(NotImplementedError, match="TaskBase must implement"):
        TaskBase()()
