"""Task discovery, name resolution, option defaults and checks (tasks.registry)."""

from __future__ import annotations

import json
import logging
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

import tasks
from actors.errors import InvalidJobError, UnknownTaskClassError
from actors.jobs import JobSpec, make_job_id
from tasks import test as demo
from tasks.base import TaskBase
from tasks.registry import TaskRegistry, default_registry, make_info


class AllTypes(TaskBase):
    """One option of each declared type (resolved by dotted path in these tests)."""

    task_options = [
        {"name": "s", "type": "str", "default": "x"},
        {"name": "i", "type": "int", "default": 1},
        {"name": "f", "type": "float", "default": 1.5},
        {"name": "b", "type": "bool", "default": False},
        {"name": "l", "type": "list", "default": [1, 2]},
        {"name": "d", "type": "dict", "default": {"k": "v"}},
        {"name": "j", "type": "json", "default": None},
        {"name": "maybe", "type": "float", "default": None},
    ]

    def __call__(self) -> dict[str, Any]:
        return dict(self.options)


class NeedsQuery(TaskBase):
    task_options = [{"name": "query", "type": "str", "help": "the DAS query to keep cached"}]

    def __call__(self) -> dict[str, Any]:
        return {}


THIS = __name__


@pytest.fixture
def registry() -> TaskRegistry:
    reg = TaskRegistry(importable=("tests",))  # as task_packages = "tests" would
    reg.discover()
    return reg


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a package of task modules under tmp_path and put it on sys.path."""
    monkeypatch.syspath_prepend(str(tmp_path))
    created: list[str] = []

    def make(files: dict[str, str]) -> str:
        name = f"tmp_tasks_{uuid.uuid4().hex[:8]}"
        root = tmp_path / name
        root.mkdir()
        (root / "__init__.py").write_text("")
        for filename, source in files.items():
            path = root / filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        created.append(name)
        return name

    yield make
    for module in list(sys.modules):
        if any(module == name or module.startswith(f"{name}.") for name in created):
            del sys.modules[module]


TASK = """
    from tasks.base import TaskBase

    class {name}(TaskBase):
        def __call__(self):
            return {{}}
"""


# -- discovery -------------------------------------------------------------------------


def test_discover_finds_the_demo_tasks_and_not_the_framework(registry: TaskRegistry) -> None:
    names = registry.names()
    assert {"Test", "Sleep", "Echo"} <= set(names)
    assert not {"TaskBase", "TaskRegistry", "TaskInfo", "TaskLogger"} & set(names)
    assert names == sorted(names)
    assert registry.errors == {}
    assert registry.resolve("Test") is demo.Test
    info = registry.info("Test")
    assert (info.classname, info.title, info.module) == ("Test", "Test", "tasks.test")
    assert info.info.startswith("Log a message")


def test_discover_applies_the_scanning_rules(make_package, caplog: pytest.LogCaptureFixture) -> None:
    pkg = make_package({
        "good.py": '''
            from tasks.base import TaskBase
            from tasks.test import Echo  # imported: not indexed here

            class Good(TaskBase):
                task_title = "Good one"
                task_options = [{"name": "n", "type": "int", "default": 2, "help": "count"}]

                def __call__(self):
                    return {"n": self.options["n"]}

            class Plain:
                """A task without a base class."""

                def __init__(self, **kwargs):
                    self.kwargs = kwargs

                def __call__(self):
                    return {}

            class _Private(TaskBase):
                def __call__(self):
                    return {}

            class Hidden(TaskBase):
                hide = True

                def __call__(self):
                    return {}

            class VisibleChild(Hidden):
                pass

            class Helper:
                """Not callable: not a task."""

            class Oops(Exception):
                pass
        ''',
        "broken.py": 'raise ImportError("missing dependency xyz")\n',
        "_private_module.py": TASK.format(name="InPrivateModule"),
        "base.py": TASK.format(name="InBase"),
        "registry.py": TASK.format(name="InRegistry"),
        "sub/__init__.py": TASK.format(name="InSubpackage"),
        "badopts.py": '''
            from tasks.base import TaskBase

            class BadOptions(TaskBase):
                task_options = [{"name": "x", "type": "complex"}]

                def __call__(self):
                    return {}
        ''',
        "zdup.py": TASK.format(name="Good"),
    })
    reg = TaskRegistry()
    with caplog.at_level(logging.ERROR, logger="das_actors.plugins"):
        reg.discover(packages=[pkg])

    # No skip-list: a module named base or registry is scanned like any other (it adds what it defines).
    assert reg.names() == ["Good", "InBase", "InRegistry", "Plain", "VisibleChild"]
    assert reg.info("Good").module == f"{pkg}.good"
    assert reg.info("Good").title == "Good one"
    assert reg.info("Plain").title == "Plain"
    assert reg.info("Plain").info == "A task without a base class."
    assert reg.info("VisibleChild").info == ""  # not TaskBase's docstring
    assert sorted(reg.errors) == [f"{pkg}.badopts", f"{pkg}.broken", f"{pkg}.zdup"]
    assert "ImportError: missing dependency xyz" in reg.errors[f"{pkg}.broken"]
    assert "'complex'" in reg.errors[f"{pkg}.badopts"]
    assert "already defined" in reg.errors[f"{pkg}.zdup"]
    assert any("missing dependency xyz" in r.getMessage() for r in caplog.records)


def test_discover_records_a_missing_package() -> None:
    reg = TaskRegistry()
    reg.discover(packages=["no_such_package_4f2a"])
    assert reg.names() == []
    assert "ModuleNotFoundError" in reg.errors["no_such_package_4f2a"]


def test_rediscovery_replaces_the_index(make_package) -> None:
    first = make_package({"a.py": TASK.format(name="First")})
    second = make_package({"b.py": TASK.format(name="Second")})
    reg = TaskRegistry()
    reg.discover(packages=[first])
    assert reg.names() == ["First"]
    reg.discover(packages=[second])
    assert reg.names() == ["Second"]


def test_entry_points_are_indexed_by_their_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = f"plugin_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent('''
        class PluginTask:
            """From another distribution."""

            task_options = [{"name": "size", "type": "int", "default": 3}]

            def __init__(self, **kwargs):
                self.kwargs = kwargs

            def __call__(self):
                return {"size": self.kwargs["size"]}

        def helper():
            return None
    '''))
    dist = tmp_path / "fake_das_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-das-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[das_actors.tasks]\n"
        f"Plugged = {module}:PluginTask\n"
        f"NotAClass = {module}:helper\n"
        "Missing = no_such_plugin_module_9c1d:Nope\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        reg = TaskRegistry()
        reg.discover(packages=())
        assert reg.names() == ["Plugged"]
        cls = reg.resolve("Plugged")
        assert cls.__name__ == "PluginTask"
        assert reg.info("Plugged").module == module
        assert reg.prepare_kwargs("Plugged", {}) == {"size": 3}
        assert "is not a task class" in reg.errors[module]
        assert "ModuleNotFoundError" in reg.errors["no_such_plugin_module_9c1d"]
    finally:
        sys.modules.pop(module, None)


def test_default_registry_is_discovered_once() -> None:
    reg = default_registry()
    assert reg is default_registry()
    assert {"Test", "Sleep", "Echo"} <= set(reg.names())


def test_package_exports() -> None:
    assert sorted(tasks.__all__) == tasks.__all__
    for name in tasks.__all__:
        assert getattr(tasks, name) is not None


# -- resolution ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["tasks.test:Echo", "tasks.test.Echo"])
def test_resolve_dotted_paths(registry: TaskRegistry, path: str) -> None:
    assert registry.resolve(path) is demo.Echo
    assert registry.info(path) is registry.info(path)  # cached
    assert registry.info(path).classname == path
    assert path not in registry.names()


def test_resolve_dotted_path_of_a_nested_class(registry: TaskRegistry) -> None:
    assert registry.resolve(f"{THIS}:AllTypes") is AllTypes
    assert registry.resolve(f"{THIS}.AllTypes") is AllTypes


def test_unknown_class_error_names_it_and_suggests(registry: TaskRegistry) -> None:
    with pytest.raises(UnknownTaskClassError) as caught:
        registry.resolve("Tset")
    message = str(caught.value)
    assert "'Tset'" in message
    assert all(name in message for name in ("Echo", "Sleep", "Test"))
    assert "did you mean 'Test'?" in message
    assert caught.value.field == "classname"
    with pytest.raises(UnknownTaskClassError, match="did you mean 'Sleep'"):
        registry.resolve("sleep")


def test_unknown_class_error_without_a_close_match(registry: TaskRegistry) -> None:
    with pytest.raises(UnknownTaskClassError) as caught:
        registry.resolve("Zzzzzzzz")
    assert "did you mean" not in str(caught.value)
    assert "known: " in str(caught.value)


def test_unknown_class_error_lists_at_most_ten_names(make_package) -> None:
    pkg = make_package({f"m{i:02}.py": TASK.format(name=f"Task{i:02}") for i in range(13)})
    reg = TaskRegistry()
    reg.discover(packages=[pkg])
    with pytest.raises(UnknownTaskClassError) as caught:
        reg.resolve("Nothing")
    message = str(caught.value)
    assert "Task09" in message
    assert "Task10" not in message
    assert "and 3 more" in message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests.no_such_module_77a1:Foo", "ModuleNotFoundError"),
        ("no_such_module_77a1:Foo", "not importable by this server"),
        ("unittest.__main__:x", "not importable by this server"),
        ("functools:partial", "not importable by this server"),
        ("tasks.test:NoSuchClass", "AttributeError"),
        ("tasks.test:time", "not a task class"),
        ("tasks.base:TaskBase", "not a task class"),
        (f"{THIS}:THIS", "not a task class"),
    ],
)
def test_unresolvable_dotted_paths(registry: TaskRegistry, path: str, expected: str) -> None:
    with pytest.raises(UnknownTaskClassError, match=expected) as caught:
        registry.resolve(path)
    assert repr(path) in str(caught.value)


def test_dotted_paths_can_be_disabled() -> None:
    reg = TaskRegistry(allow_dotted=False)
    reg.discover()
    assert reg.resolve("Echo") is demo.Echo
    with pytest.raises(UnknownTaskClassError, match=r"unknown task class 'tasks\.test:Echo'"):
        reg.resolve("tasks.test:Echo")


def test_describe_is_json_safe_and_sorted(registry: TaskRegistry) -> None:
    described = registry.describe()
    assert [d["classname"] for d in described] == registry.names()
    test = next(d for d in described if d["classname"] == "Test")
    assert test["title"] == "Test"
    assert [o["name"] for o in test["options"]] == ["message", "seed", "stop_p", "spawn_p", "raise_p"]
    json.dumps(described)
    test["options"][0]["default"] = "mutated"
    assert registry.info("Test").options[0]["default"] == "hello world"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("nope", "must be a list"),
        ([{"type": "int"}], "is not a dict with a 'name'"),
        (["message"], "is not a dict with a 'name'"),
        ([{"name": "logger"}], "reserved"),
        ([{"name": "x", "type": "integer"}], "'integer'"),
        ([{"name": "x", "default": object()}], "not JSON-safe"),
        ([{"name": "x", "type": "int", "default": "3"}], "bad default"),
    ],
)
def test_malformed_task_options_are_refused(options: Any, expected: str) -> None:
    cls = type("Malformed", (TaskBase,), {"task_options": options, "__call__": lambda self: {}})
    with pytest.raises(InvalidJobError, match=expected) as caught:
        make_info("Malformed", cls)
    assert caught.value.field == "task_options"


# -- arguments -------------------------------------------------------------------------


class Free(TaskBase):
    """Declares one option and takes any other argument too."""

    task_options = [{"name": "n", "type": "int", "default": 1}]
    task_free_options = True

    def __call__(self) -> dict[str, Any]:
        return dict(self.options)


def test_prepare_kwargs_applies_defaults_and_refuses_what_is_not_declared(registry: TaskRegistry) -> None:
    prepared = registry.prepare_kwargs("Test", {"message": "hi"})
    assert prepared == {"message": "hi", "seed": None, "stop_p": 0.01, "spawn_p": 0.04, "raise_p": 0.05}
    with pytest.raises(InvalidJobError) as caught:  # issue 16: it used to be stored without a word
        registry.prepare_kwargs("Test", {"message": "hi", "extra": [1]})
    assert caught.value.field == "extra" and "unknown argument 'extra'" in str(caught.value)
    assert "message" in str(caught.value)  # the known ones are listed
    assert registry.prepare_kwargs(f"{THIS}:Free", {"extra": [1]}) == {"n": 1, "extra": [1]}  # opted in
    first = registry.prepare_kwargs(f"{THIS}:AllTypes", {})
    first["l"].append(3)
    assert registry.prepare_kwargs(f"{THIS}:AllTypes", {})["l"] == [1, 2]  # defaults are copies


def test_prepare_kwargs_requires_options_without_default(registry: TaskRegistry) -> None:
    with pytest.raises(InvalidJobError) as caught:
        registry.prepare_kwargs(f"{THIS}:NeedsQuery", {"other": 1})
    assert caught.value.field == "query"
    assert "NeedsQuery" in str(caught.value)
    assert "'query'" in str(caught.value)
    assert "the DAS query to keep cached" in str(caught.value)
    assert registry.prepare_kwargs(f"{THIS}:NeedsQuery", {"query": "dataset=/a/b/c"}) == {
        "query": "dataset=/a/b/c"
    }


@pytest.mark.parametrize(
    ("option", "value"),
    [("s", 3), ("i", True), ("i", 1.5), ("i", "1"), ("f", "x"), ("f", False), ("b", 1), ("b", "true"),
     ("l", {}), ("l", "ab"), ("d", []), ("s", None)],
)
def test_prepare_kwargs_checks_declared_types(registry: TaskRegistry, option: str, value: Any) -> None:
    kind = {o["name"]: o["type"] for o in AllTypes.task_options}[option]
    with pytest.raises(InvalidJobError) as caught:
        registry.prepare_kwargs(f"{THIS}:AllTypes", {option: value})
    assert caught.value.field == option
    message = str(caught.value)
    assert f"option {option!r}" in message
    assert f"expects {kind}" in message
    assert repr(value) in message


@pytest.mark.parametrize(
    ("option", "value"),
    [("s", ""), ("i", -3), ("f", 2), ("f", 2.5), ("b", True), ("l", []), ("d", {}), ("j", {"any": [1]}),
     ("j", "text"), ("maybe", None), ("maybe", 0.5)],
)
def test_prepare_kwargs_accepts_matching_types(registry: TaskRegistry, option: str, value: Any) -> None:
    assert registry.prepare_kwargs(f"{THIS}:AllTypes", {option: value})[option] == value


def test_prepare_kwargs_of_an_unknown_class(registry: TaskRegistry) -> None:
    with pytest.raises(UnknownTaskClassError):
        registry.prepare_kwargs("NoSuchTask", {})


def test_validate_spec_applies_defaults_with_a_new_job_id(registry: TaskRegistry) -> None:
    spec = JobSpec(name="chaos", classname="Test", interval_s=10, kwargs={"message": "hi"}, max_runs=3)
    checked = registry.validate_spec(spec)
    assert dict(checked.kwargs) == {
        "message": "hi", "seed": None, "stop_p": 0.01, "spawn_p": 0.04, "raise_p": 0.05,
    }
    assert checked.job_id != spec.job_id
    assert checked.job_id == make_job_id(checked)
    assert (checked.name, checked.classname, checked.interval_s, checked.max_runs, checked.origin) == (
        spec.name, spec.classname, spec.interval_s, spec.max_runs, spec.origin,
    )
    assert registry.validate_spec(checked) is checked  # nothing left to fill in


def test_validate_spec_refuses_bad_definitions(registry: TaskRegistry) -> None:
    with pytest.raises(UnknownTaskClassError, match="did you mean 'Echo'"):
        registry.validate_spec(JobSpec(name="x", classname="Ecko", interval_s=1))
    with pytest.raises(InvalidJobError) as caught:
        registry.validate_spec(JobSpec(name="x", classname="Sleep", interval_s=1, kwargs={"seconds": "1"}))
    assert caught.value.field == "seconds"
