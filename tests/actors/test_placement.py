"""Where runs are computed: the ``compute`` option and a job's ``resources`` (issue 15)."""

from __future__ import annotations

import textwrap

import pytest

from actors.config import Settings
from actors.configfile import load_config
from actors.errors import ConfigError, InvalidJobError
from actors.jobs import JobSpec, Origin
from actors.uri import dask_address
from tests.actors.test_config import parse_flags


def spec(**extra) -> JobSpec:
    return JobSpec(name="j", classname="Test", interval_s=60, origin=Origin.API, **extra)


def test_compute_is_local_or_a_dask_scheduler_address() -> None:
    assert Settings().compute == "local" and dask_address("local") is None
    assert dask_address("dask://scheduler.example:8786") == "tcp://scheduler.example:8786"
    assert Settings({"compute": "dask://127.0.0.1:8786"}).compute == "dask://127.0.0.1:8786"


@pytest.mark.parametrize("bad", ["dask", "dask://host", "dask://:8786", "dask://h:0", "dask://h:99999",
                                 "tcp://h:8786", "dask://h/x:1", ""])
def test_a_bad_compute_value_is_refused_naming_the_option(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"option 'compute' must be 'local' or dask://host:port"):
        Settings({"compute": bad})


def test_compute_from_the_command_line_and_a_bad_flag_names_the_flag() -> None:
    assert parse_flags("--compute", "dask://h:8786") == {"compute": "dask://h:8786"}
    with pytest.raises(ConfigError, match=r"^--compute: option 'compute'"):
        Settings(parse_flags("--compute", "dask://h"), {"compute": "flag"})


def test_resources_change_the_job_id_only_when_set() -> None:
    plain = spec()
    assert "resources" not in plain.definition() and "resources" not in plain.to_dict()
    assert spec(resources={}).job_id == plain.job_id
    gpu = spec(resources={"GPU": 1})
    assert gpu.job_id != plain.job_id and gpu.definition()["resources"] == {"GPU": 1}
    assert spec(resources={"b": 1, "a": 2}).job_id == spec(resources={"a": 2, "b": 1}).job_id
    again = JobSpec.from_dict(gpu.to_dict())
    assert again == gpu and again.job_id == gpu.job_id and dict(again.resources) == {"GPU": 1}


@pytest.mark.parametrize(("resources", "message"), [
    (["GPU"], "resources must be a mapping"),
    ({"": 1}, "a resource name must be a non-empty string"),
    ({"GPU": 0}, "the amount of 'GPU' must be a number > 0"),
    ({"GPU": True}, "the amount of 'GPU' must be a number > 0"),
    ({"GPU": float("inf")}, "the amount of 'GPU' must be a number > 0"),
])
def test_bad_resources_are_refused_naming_the_field(resources, message) -> None:
    with pytest.raises(InvalidJobError, match=message) as caught:
        spec(resources=resources)
    assert caught.value.field == "resources"


def test_a_config_file_task_takes_resources(tmp_path) -> None:
    path = tmp_path / "jobs.py"
    path.write_text(textwrap.dedent('''
        Task("trained", "Test", 60, resources={"GPU": 1}, alpha=2)
    '''))
    _, [job] = load_config([str(path)], {})
    assert dict(job.resources) == {"GPU": 1} and dict(job.kwargs) == {"alpha": 2}
