"""Options, config files and precedence: every error names the option, value, file and line."""

from __future__ import annotations

import argparse
import json
import pickle
import re
import textwrap
from pathlib import Path

import pytest

from actors import config
from actors.config import (
    OPTIONS,
    Option,
    Settings,
    add_option_arguments,
    coerce,
    describe_options,
    flags_from_namespace,
    register,
)
from actors.configfile import load_config
from actors.errors import ConfigError, InvalidJobError, UnknownTaskClassError
from actors.jobs import JobSpec, Origin


def write(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return str(path)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="das-actors")
    p.add_argument("--config", action="append", default=[])
    add_option_arguments(p)
    return p


def parse_flags(*argv: str) -> dict[str, object]:
    return flags_from_namespace(parser().parse_args(list(argv)))


# --------------------------------------------------------------------------- registry


def test_registry_has_exactly_the_documented_options() -> None:
    assert set(OPTIONS) == {
        "workers", "max_retries", "retry_delay", "retry_max_delay", "retry_jitter", "minimum_interval",
        "no_start_offset", "task_timeout", "shutdown_grace", "worker_memory_mb", "worker_max_runs",
        "restart_max", "restart_window", "restart_min_backoff", "restart_max_backoff", "restart_jitter",
        "restart_reset_after", "max_children_per_run", "finished_retention", "db_uri", "db_name",
        "db_coll", "db_size", "db_max_docs", "journal_buffer", "journal_flush_interval", "web_host",
        "web_port", "web_base", "web_token", "web_read_only", "verbose", "log_format", "log_file",
        "db_convert", "db_timeout", "web",
        "task_packages", "report_packages",
        "das_db_uri", "das_db_name", "das_upstreams",  # the das service plugin (tasks.das.plugin)
        "web_allowed_hosts", "web_token_file", "web_threads", "web_max_tails", "web_connection_limit",
        "web_request_timeout",  # issue 11: the web door
        "data_uri", "data_db_name", "object_max_size", "object_versions", "stream_max_messages", "stream_size",
        "stream_prefetch", "stream_heartbeat", "stream_backoff_max",  # issue 13: data objects and streams
        "compute",  # issue 15: compute on Dask
        "lease_ttl",  # issue 15: several instances, one leader
        "misfire", "misfire_grace", "max_catchup", "ledger_retention",  # issue 12: time rules
        "scripts", "script_max_bytes", "script_output_max_bytes",  # issue 14: scripts and actions
        "act_allow_any_url", "act_allow_private", "act_timeout", "act_max_attempts", "act_retry_delay",
        "act_retry_max_delay", "act_max_payload_bytes", "act_concurrency",
        "result_max_bytes", "log_max_lines", "log_max_bytes", "keep_task_processes",  # issue 11: resources
        "health_stall_after",  # issue 11: /healthz tells the truth
        "web_read_token", "web_read_token_file", "web_refresh",  # issue 16: two roles, live refresh
        "web_cache", "web_yield", "stage_ahead",  # issue 17: the panel under load, runs staged ahead
    }


@pytest.mark.parametrize(
    ("name", "type_", "default", "group", "live", "minimum"),
    [
        ("workers", int, 4, "Workers", False, 1),
        ("max_retries", int, 1, "Scheduling", True, 0),
        ("retry_delay", float, 60.0, "Scheduling", True, 0),
        ("minimum_interval", float, 60.0, "Scheduling", True, 0),
        ("no_start_offset", bool, False, "Scheduling", False, None),
        ("task_timeout", float, 3600.0, "Workers", True, 0),
        ("restart_max", int, 5, "Workers", False, 1),
        ("db_uri", str, "sqlite:///./das-actors.db", "Store", False, None),
        ("db_size", int, 67108864, "Store", False, 4096),
        ("journal_buffer", int, 100000, "Store", False, 1000),
        ("journal_flush_interval", float, 0.05, "Store", False, 0.001),
        ("web_port", int, 8213, "Web", False, 0),
        ("web_read_only", bool, False, "Web", True, None),
        ("verbose", bool, False, "Logging", True, None),
        ("log_format", str, "json", "Logging", False, None),
    ],
)
def test_option_declarations(name, type_, default, group, live, minimum) -> None:
    option = OPTIONS[name]
    assert (option.type, option.default, option.group, option.live, option.minimum) == (
        type_, default, group, live, minimum,
    )


def test_verbose_has_short_flag_and_log_format_choices() -> None:
    assert OPTIONS["verbose"].short == "v"
    assert OPTIONS["log_format"].choices == ("json", "console")


def test_register_duplicate_is_value_error() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(Option(name="workers", type=int, default=1, help="x", group="Workers"))


def test_option_rejects_bad_declarations() -> None:
    with pytest.raises(ValueError, match="snake_case"):
        Option(name="Bad-Name", type=int, default=1, help="x", group="G")
    with pytest.raises(ValueError, match="type must be"):
        Option(name="things", type=list, default=[], help="x", group="G")
    with pytest.raises(ConfigError, match="default: option 'small' must be >= 5, got 1"):
        Option(name="small", type=int, default=1, help="x", group="G", minimum=5)


def test_describe_options_is_json_safe_and_complete() -> None:
    described = describe_options()
    json.dumps(described)
    by_name = {d["name"]: d for d in described}
    assert set(by_name) == set(OPTIONS)
    assert by_name["log_format"] == {
        "name": "log_format", "type": "str", "default": "json", "help": OPTIONS["log_format"].help,
        "group": "Logging", "live": False, "choices": ["json", "console"], "minimum": None, "maximum": None,
        "flag": "--log-format", "pattern": None,
    }


# --------------------------------------------------------------------------- coercion


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("workers", "8", 8), ("workers", " 8 ", 8),
        ("retry_delay", "1.5", 1.5), ("retry_delay", "2", 2.0),
        ("db_uri", "mongodb://h:8230", "mongodb://h:8230"),
        ("db_size", "4096", 4096), ("db_size", "64MiB", 64 * 1024**2), ("db_size", "64M", 64 * 1024**2),
        ("db_size", "8k", 8192), ("db_size", "8KiB", 8192), ("db_size", "1G", 1024**3),
        ("db_size", "2gib", 2 * 1024**3), ("db_size", "1.5M", 1572864),
    ],
)
def test_coerce_from_text(name: str, text: str, value: object) -> None:
    result = coerce(OPTIONS[name], text, from_text=True)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize("text", ["true", "TRUE", "1", "yes", "on", " On "])
def test_coerce_true_texts(text: str) -> None:
    assert coerce(OPTIONS["verbose"], text, from_text=True) is True


@pytest.mark.parametrize("text", ["false", "False", "0", "no", "off"])
def test_coerce_false_texts(text: str) -> None:
    assert coerce(OPTIONS["verbose"], text, from_text=True) is False


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("workers", "four", "option 'workers' expects int, got 'four' (str)"),
        ("workers", "4.5", "option 'workers' expects int, got '4.5' (str)"),
        ("retry_delay", "soon", "option 'retry_delay' expects float, got 'soon' (str)"),
        ("verbose", "maybe", "option 'verbose' expects bool, got 'maybe' (str)"),
        ("worker_memory_mb", "64MiB", "option 'worker_memory_mb' expects int, got '64MiB' (str)"),
        ("db_size", "0.3K", "option 'db_size' expects int, got '0.3K' (str)"),
        ("db_size", "64TB", "option 'db_size' expects int, got '64TB' (str)"),
    ],
)
def test_coerce_from_text_errors(name: str, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        coerce(OPTIONS[name], text, from_text=True, where="--x")
    assert str(info.value) == f"--x: {expected}"


def test_coerce_python_values_strictly() -> None:
    assert coerce(OPTIONS["retry_delay"], 5, from_text=False) == 5.0
    assert type(coerce(OPTIONS["retry_delay"], 5, from_text=False)) is float
    assert coerce(OPTIONS["verbose"], True, from_text=False) is True
    assert coerce(OPTIONS["workers"], 3, from_text=False) == 3


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("workers", True, "option 'workers' expects int, got True (bool)"),
        ("workers", "4", "option 'workers' expects int, got '4' (str)"),
        ("workers", 4.0, "option 'workers' expects int, got 4.0 (float)"),
        ("retry_delay", False, "option 'retry_delay' expects float, got False (bool)"),
        ("retry_delay", "60", "option 'retry_delay' expects float, got '60' (str)"),
        ("verbose", 1, "option 'verbose' expects bool, got 1 (int)"),
        ("db_uri", 5, "option 'db_uri' expects str, got 5 (int)"),
        ("db_size", "64MiB", "option 'db_size' expects int, got '64MiB' (str)"),
    ],
)
def test_coerce_python_value_errors(name: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        coerce(OPTIONS[name], value, from_text=False, where="f.py:3")
    assert str(info.value) == f"f.py:3: {expected}"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("workers", 0, "option 'workers' must be >= 1, got 0"),
        ("db_size", 100, "option 'db_size' must be >= 4096, got 100"),
        ("journal_flush_interval", 0.0, "option 'journal_flush_interval' must be >= 0.001, got 0.0"),
        ("retry_delay", float("nan"), "option 'retry_delay' must be a finite number, got nan"),
        ("retry_delay", float("inf"), "option 'retry_delay' must be a finite number, got inf"),
        ("log_format", "xml", "option 'log_format' must be one of 'json', 'console', got 'xml'"),
    ],
)
def test_coerce_validation_errors(name: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        coerce(OPTIONS[name], value, from_text=False)
    assert str(info.value) == expected


# --------------------------------------------------------------------------- command line


def test_ungiven_flags_are_absent() -> None:
    assert parse_flags() == {}
    assert parse_flags("--config", "x.py") == {}


def test_flags_are_coerced() -> None:
    assert parse_flags("--workers", "8", "--retry-delay", "2.5", "--db-size", "64MiB", "-v",
                       "--log-format", "console", "--web-token", "s3cret") == {
        "workers": 8, "retry_delay": 2.5, "db_size": 64 * 1024**2, "verbose": True,
        "log_format": "console", "web_token": "s3cret",
    }


def test_bool_flag_pairs() -> None:
    assert parse_flags("--verbose") == {"verbose": True}
    assert parse_flags("--no-verbose") == {"verbose": False}
    assert parse_flags("--web-read-only") == {"web_read_only": True}
    assert parse_flags("--no-web-read-only") == {"web_read_only": False}
    assert parse_flags("--no-start-offset") == {"no_start_offset": True}
    assert parse_flags("--start-offset") == {"no_start_offset": False}  # the pair of a "no_" option (issue 16)
    with pytest.raises(SystemExit):
        parse_flags("--no-no-start-offset")  # never offered any more


def test_bad_flag_value_names_flag_option_and_value() -> None:
    with pytest.raises(ConfigError, match=r"^--workers: option 'workers' expects int, got 'four' \(str\)$"):
        parse_flags("--workers", "four")
    with pytest.raises(ConfigError, match=r"^--workers: option 'workers' must be >= 1, got '0'$"):
        parse_flags("--workers", "0")


def test_choices_enforced_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["--log-format", "xml"])
    assert "invalid choice" in capsys.readouterr().err


def test_help_groups_and_defaults() -> None:
    text = " ".join(parser().format_help().split())
    for group in ("Scheduling:", "Workers:", "Store:", "Web:", "Logging:"):
        assert group in text
    assert "-v, --verbose, --no-verbose" in text
    assert "--db-size BYTES" in text
    assert "(default: 4)" in text
    assert "(default: sqlite:///./das-actors.db)" in text


# --------------------------------------------------------------------------- Settings


def test_defaults() -> None:
    s = Settings.defaults()
    assert s.workers == 4
    assert s.get("db_coll") == "db"
    assert s.source("workers") == "default"
    assert s.to_dict() == {name: o.default for name, o in OPTIONS.items()}


def test_settings_are_immutable() -> None:
    s = Settings.defaults()
    with pytest.raises(AttributeError, match="immutable"):
        s.workers = 8
    with pytest.raises(AttributeError, match="did you mean 'workers'"):
        _ = s.worker


def test_unknown_names_are_config_errors() -> None:
    s = Settings.defaults()
    with pytest.raises(ConfigError, match="unknown option 'db_col' \\(did you mean 'db_coll'\\?\\)"):
        s.get("db_col")
    with pytest.raises(ConfigError, match="unknown option 'wrkers'"):
        s.source("wrkers")
    with pytest.raises(ConfigError, match="unknown option 'nope'"):
        Settings({"nope": 1})


def test_replace_validates_and_records_runtime_source() -> None:
    s = Settings.defaults()
    t = s.replace(max_retries=3, retry_delay=5)
    assert (t.max_retries, t.retry_delay) == (3, 5.0)
    assert t.source("max_retries") == "runtime"
    assert t.source("workers") == "default"
    assert s.max_retries == 1  # the original is unchanged
    with pytest.raises(ConfigError, match="option 'max_retries' must be >= 0, got -1"):
        s.replace(max_retries=-1)
    with pytest.raises(ConfigError, match="option 'workers' expects int, got True"):
        s.replace(workers=True)
    with pytest.raises(ConfigError, match=r"option 'retry_max_delay'.* must be >= option 'retry_delay'"):
        s.replace(retry_delay=7200)
    with pytest.raises(ConfigError, match="unknown option 'max_retry'"):
        s.replace(max_retry=3)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"retry_max_delay": 10.0}, "option 'retry_max_delay' (10.0, from runtime) must be >= "
                                    "option 'retry_delay' (60.0, from default)"),
        ({"restart_min_backoff": 40.0}, "option 'restart_max_backoff' (30.0, from default) must be >= "
                                        "option 'restart_min_backoff' (40.0, from runtime)"),
        ({"retry_jitter": 1.5}, "option 'retry_jitter' must be <= 1, got 1.5"),
        ({"retry_jitter": -0.1}, "option 'retry_jitter' must be >= 0, got -0.1"),
        ({"restart_jitter": 2.0}, "option 'restart_jitter' must be <= 1, got 2.0"),
        ({"web_base": "analytics"}, "option 'web_base' must start with '/', got 'analytics'"),
        ({"web_port": 70000}, "option 'web_port' must be <= 65535, got 70000"),
    ],
)
def test_cross_field_validation(changes: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.defaults().replace(**changes)
    assert str(info.value) == expected


def test_cross_field_boundaries_accepted() -> None:
    s = Settings.defaults().replace(retry_max_delay=60.0, retry_jitter=0.0, restart_jitter=1.0,
                                    restart_min_backoff=30.0, web_base="/")
    assert s.retry_max_delay == s.retry_delay


def test_settings_equality_hash_pickle_repr() -> None:
    s = Settings.defaults().replace(workers=2)
    assert s == Settings({"workers": 2})
    assert hash(s) == hash(Settings({"workers": 2}))
    assert s != Settings.defaults()
    clone = pickle.loads(pickle.dumps(s))
    assert clone == s
    assert clone.source("workers") == "runtime"
    assert repr(s) == "Settings(workers=2)"


# --------------------------------------------------------------------------- config files: options


def test_precedence_default_file1_file2_flag(tmp_path: Path) -> None:
    one = write(tmp_path, "one.py", """
        workers = 2
        db_coll = "one"
        retry_delay = 10
        verbose = True
    """)
    two = write(tmp_path, "two.py", """
        # second file
        db_coll = "two"
        retry_delay = 20.5
    """)
    settings, jobs = load_config([one, two], parse_flags("--retry-delay", "30"))
    assert jobs == []
    assert settings.workers == 2
    assert settings.db_coll == "two"
    assert settings.retry_delay == 30.0
    assert settings.verbose is True
    assert settings.db_name == "analytics_results"
    assert settings.source("workers") == f"file:{one}:1"
    assert settings.source("db_coll") == f"file:{two}:2"
    assert settings.source("retry_delay") == "flag"
    assert settings.source("db_name") == "default"


def test_ungiven_bool_flag_does_not_override_file(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "verbose = True\nweb_read_only = True\n")
    settings, _ = load_config([path], parse_flags("--no-web-read-only"))
    assert settings.verbose is True  # -v not given: the file wins
    assert settings.web_read_only is False  # --no-web-read-only given: the flag wins


def test_flags_mapping_accepts_text_and_typed_values(tmp_path: Path) -> None:
    settings, _ = load_config([], {"workers": "6", "db_size": "1MiB", "verbose": True})
    assert (settings.workers, settings.db_size, settings.verbose) == (6, 1024**2, True)
    with pytest.raises(ConfigError, match="command line: unknown option 'wrkers' \\(did you mean 'workers'"):
        load_config([], {"wrkers": 3})


def test_int_accepted_for_float_in_file(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "task_timeout = 30\n")
    settings, _ = load_config([path], {})
    assert settings.task_timeout == 30.0
    assert isinstance(settings.task_timeout, float)


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("workers = 'four'", 1, "option 'workers' expects int, got 'four' (str)"),
        ("# a\n# b\nworkers = True", 3, "option 'workers' expects int, got True (bool)"),
        ("db_size = '64MiB'", 1, "option 'db_size' expects int, got '64MiB' (str)"),
        ("verbose = 1", 1, "option 'verbose' expects bool, got 1 (int)"),
        ("retry_delay = '60'", 1, "option 'retry_delay' expects float, got '60' (str)"),
        ("workers = 0", 1, "option 'workers' must be >= 1, got 0"),
        ("log_format = 'xml'", 1, "option 'log_format' must be one of 'json', 'console', got 'xml'"),
        ("workers = 2\nif True:\n    workers = None", 3, "option 'workers' expects int, got None (NoneType)"),
    ],
)
def test_wrongly_typed_value_names_file_line_option_value(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    path = write(tmp_path, "c.py", body + "\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {})
    assert str(info.value) == f"{path}:{line}: {message}"


def test_unknown_option_with_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "workers = 2\ndb_col = 'x'\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {})
    assert str(info.value) == f"{path}:2: unknown option 'db_col' (did you mean 'db_coll'?)"


def test_a_name_that_is_no_option_and_no_typo_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "zzzzzz = 1\nLIMIT = 3\n")
    warnings: list[str] = []
    settings, _ = load_config([path], {}, warnings=warnings)
    assert warnings == [f"{path}:1: 'zzzzzz' is not an option and is ignored (name helper variables with a "
                        "leading _, e.g. _items, to silence this)"]  # LIMIT: a constant, plainly no option
    assert settings == Settings.defaults()


def test_plain_python_idioms_work_in_a_config_file(tmp_path: Path) -> None:
    """issue 16: ``for i in range(3): Task(...)`` stopped the server with "unknown option 'i'"."""
    path = write(tmp_path, "c.py", """
        import json as _json
        from pathlib import Path

        def job_name(i):
            return f"job-{i}"

        class Helper:
            pass

        workers = 3
        for i in range(3):
            Task(job_name(i), "m.C", 60 + i, n=i)
        for name, interval in [("a", 10), ("b", 20)]:
            Task(name, "m.C", interval)
        with open(__file__) as handle:
            _size = len(handle.read())
        """)
    warnings: list[str] = []
    settings, jobs = load_config([path], {}, warnings=warnings)
    assert settings.workers == 3 and warnings == []
    assert sorted(j.name for j in jobs) == ["a", "b", "job-0", "job-1", "job-2"]


def test_a_typo_among_idioms_is_still_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "for i in range(2):\n    pass\nmax_retry = 3\n")
    with pytest.raises(ConfigError, match="unknown option 'max_retry' \\(did you mean 'max_retries'\\?\\)"):
        load_config([path], {})


def test_unknown_option_set_without_assignment_has_no_line(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "globals()['wrkers'] = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {})
    assert str(info.value) == f"{path}: unknown option 'wrkers' (did you mean 'workers'?)"


def test_imports_functions_classes_and_private_names_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", """
        import os
        import os.path as osp
        from math import floor
        from collections import OrderedDict
        _base = "/data"
        _n = floor(2.7)

        def helper(x):
            local_name = x
            return local_name

        class Thing:
            attribute = 1

        squares = None if False else None
        del squares
        workers = helper(_n) + len([i for i in range(1)])
        db_uri = "sqlite:///" + osp.join(_base, "x.db")
        job = Task("a", "mod.Cls", 60)
        jobs = [Task("b", "mod.Cls", 60)]
    """)
    settings, jobs = load_config([path], {})
    assert settings.workers == 3
    assert settings.db_uri == "sqlite:////data/x.db"
    assert [j.name for j in jobs] == ["a", "b"]


def test_file_sees_its_own_path(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "db_name = __file__\n")
    settings, _ = load_config([path], {})
    assert settings.db_name == path


def test_pathlike_paths(tmp_path: Path) -> None:
    path = Path(write(tmp_path, "c.py", "workers = 7\n"))
    settings, _ = load_config([path], {})
    assert settings.workers == 7
    assert settings.source("workers") == f"file:{path}:1"


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "absent.py")
    with pytest.raises(ConfigError, match=f"^{re.escape(path)}: config file not found$"):
        load_config([path], {})


def test_syntax_error_with_line(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "workers = 2\n\ndb_coll = 'x\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {})
    assert str(info.value).startswith(f"{path}:3: syntax error: ")


def test_exception_in_file_with_line(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "workers = 2\nx = 1 / 0\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {})
    assert str(info.value) == f"{path}:2: ZeroDivisionError: division by zero"


def test_exception_in_helper_function_reports_innermost_line(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", """
        def boom():
            raise RuntimeError("no")

        boom()
    """)
    with pytest.raises(ConfigError, match=f"^{re.escape(path)}:2: RuntimeError: no$"):
        load_config([path], {})


def test_exit_in_file_is_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "import sys\nsys.exit(3)\n")
    with pytest.raises(ConfigError, match=f"^{re.escape(path)}:2: SystemExit: 3$"):
        load_config([path], {})


def test_cross_field_error_names_sources(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "retry_delay = 100\nretry_max_delay = 50\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {})
    assert str(info.value) == (
        f"option 'retry_max_delay' (50.0, from file:{path}:2) must be >= "
        f"option 'retry_delay' (100.0, from file:{path}:1)"
    )


def test_cross_field_error_from_file_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "workers = 2\nweb_base = 'analytics'\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {})
    assert str(info.value) == f"{path}:2: option 'web_base' must start with '/', got 'analytics'"


def test_flag_fixes_a_file_cross_field_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "retry_max_delay = 50\n")
    settings, _ = load_config([path], parse_flags("--retry-delay", "10"))
    assert (settings.retry_delay, settings.retry_max_delay) == (10.0, 50.0)


def test_files_get_fresh_namespaces(tmp_path: Path) -> None:
    one = write(tmp_path, "one.py", "_shared = 5\nworkers = _shared\n")
    two = write(tmp_path, "two.py", "try:\n    workers = _shared\nexcept NameError:\n    workers = 1\n")
    settings, _ = load_config([one, two], {})
    assert settings.workers == 1


# --------------------------------------------------------------------------- config files: Task()


def test_task_builds_config_jobspecs(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", """
        Task("hot", "tasks.Hotspot", 3600, only_once=True, max_runs=5, only_before=1795000000,
             timeout=120, retries=2, field="dataset", limit=[1, 2])
        Task("plain", "tasks.Plain", 60.5)
    """)
    _, jobs = load_config([path], {})
    hot, plain = jobs
    assert hot == JobSpec(
        name="hot", classname="tasks.Hotspot", interval_s=3600.0,
        kwargs={"field": "dataset", "limit": [1, 2]}, only_once=True, max_runs=5,
        only_before=1795000000, timeout_s=120, max_retries=2, origin=Origin.CONFIG,
    )
    assert hot.origin is Origin.CONFIG
    assert dict(hot.kwargs) == {"field": "dataset", "limit": [1, 2]}
    assert (plain.interval_s, plain.only_once, plain.max_runs, plain.timeout_s, plain.max_retries) == (
        60.5, False, None, None, None,
    )
    assert dict(plain.kwargs) == {}
    assert plain.origin is Origin.CONFIG


def test_task_keyword_form_and_textual_only_before(tmp_path: Path) -> None:
    now = 1_795_000_000.0
    path = write(tmp_path, "c.py", "Task(name='a', classname='m.C', interval=10, only_before='+1h')\n")
    _, [job] = load_config([path], {}, now=now)
    assert job.only_before == now + 3600


def test_a_relative_only_before_is_the_same_job_at_every_start(tmp_path: Path) -> None:
    """issue 16: '+10s' was re-evaluated at each start, so the job got a new id and its limit restarted."""
    path = write(tmp_path, "c.py", "Task('a', 'm.C', 10, only_before='+10s')\n")
    _, [first] = load_config([path], {}, now=1_000_000.0)
    _, [later] = load_config([path], {}, now=1_000_500.0)  # the next start, 500 s later
    assert first.job_id == later.job_id and first.only_before_text == "+10s"
    assert (first.only_before, later.only_before) == (1_000_010.0, 1_000_510.0)  # resolved per start...
    restored = JobSpec.from_dict(first.to_dict())  # ...but the stored job keeps its first epoch
    assert restored.job_id == first.job_id and restored.only_before == 1_000_010.0
    _, [other] = load_config([write(tmp_path, "d.py", "Task('a', 'm.C', 10, only_before='+20s')\n")], {},
                             now=1_000_000.0)
    assert other.job_id != first.job_id  # another text, another job


def test_task_bad_textual_only_before(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "Task('a', 'm.C', 10, only_before='someday')\n")
    expected = f"^{re.escape(path)}:1: Task 'a': only_before: cannot parse time 'someday'"
    with pytest.raises(ConfigError, match=expected):
        load_config([path], {}, now=0.0)


def test_task_returns_the_spec(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "_job = Task('a', 'm.C', 10)\ndb_name = _job.job_id\n")
    settings, [job] = load_config([path], {})
    assert settings.db_name == job.job_id


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("Task('a', 'm.C', 0)", "Task 'a': interval must be >= 0.001 and <= 1e+09 seconds, got 0"),
        ("Task('a', 'm.C', 'hourly')", "Task 'a': interval must be a finite number, got 'hourly'"),
        ("Task('', 'm.C', 10)", "Task '': name must be a non-empty string, got ''"),
        ("Task('a', 'm.C', 10, max_runs=0)", "Task 'a': max_runs must be an integer >= 1 or None, got 0"),
        ("Task('a', 'm.C', 10, retries=-1)", "Task 'a': retries must be an integer >= 0 or None, got -1"),
        ("Task('a', 'm.C', 10, logger=1)", "Task 'a': argument 'logger' is reserved"),
        ("Task('a', 'm.C')", "Task 'a': a job needs a schedule: give interval (seconds) or cron"),
        ("Task('a', 'm.C', 10, cron='0 * * * *')", "Task 'a': give either interval or cron, not both"),
        ("Task('a', 'm.C', cron='61 * * * *')", "Task 'a': cron expression '61 * * * *' is invalid"),
        ("Task('a', 'm.C', cron='0 0 30 2 *')", "Task 'a': cron expression '0 0 30 2 *' never fires"),
        ("Task('a', 'm.C', cron='30 2 * * *', tz='Mars/Olympus')", "Task 'a': tz 'Mars/Olympus' is not a known"),
        ("Task('a', 'm.C', 10, misfire='later')", "Task 'a': misfire must be one of"),
        ("Task('a', 'm.C', 10, 20)", "TypeError: Task() takes from 2 to 3 positional arguments but 4 were given"),
    ],
)
def test_task_errors_name_file_and_line(tmp_path: Path, call: str, message: str) -> None:
    path = write(tmp_path, "c.py", f"workers = 2\n\n{call}\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {})
    assert str(info.value).startswith(f"{path}:3: {message}")


def test_task_non_json_kwarg_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "import datetime\nTask('a', 'm.C', 10, when=datetime.date(2026, 1, 1))\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {})
    text = str(info.value)
    assert text.startswith(f"{path}:2: Task 'a': argument ['when'] of job 'a' is not JSON-safe")
    assert isinstance(info.value.__cause__, InvalidJobError)


def test_task_call_spanning_lines_reports_a_line_of_the_call(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "workers = 2\nTask(\n    'a',\n    'm.C',\n    -1,\n)\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {})
    line = int(str(info.value)[len(path) + 1:].split(":")[0])
    assert 2 <= line <= 6


def test_task_error_inside_helper_function_names_line_in_file(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", """
        def make(name):
            return Task(name, "m.C", -5)

        make("x")
    """)
    expected = f"{path}:2: Task 'x': interval must be >= 0.001 and <= 1e+09 seconds"
    with pytest.raises(ConfigError, match=f"^{re.escape(expected)}"):
        load_config([path], {})


def test_make_job_is_applied(tmp_path: Path) -> None:
    seen: list[JobSpec] = []

    def make_job(spec: JobSpec) -> JobSpec:
        seen.append(spec)
        return JobSpec(name=spec.name, classname=spec.classname, interval_s=spec.interval_s,
                       kwargs={"default": 1, **spec.kwargs}, origin=spec.origin)

    path = write(tmp_path, "c.py", "Task('a', 'm.C', 10, x=2)\n")
    _, [job] = load_config([path], {}, make_job=make_job)
    assert [s.name for s in seen] == ["a"]
    assert dict(job.kwargs) == {"default": 1, "x": 2}


def test_make_job_unknown_class_names_file_and_line(tmp_path: Path) -> None:
    def make_job(spec: JobSpec) -> JobSpec:
        raise UnknownTaskClassError(f"unknown task class {spec.classname!r}")

    path = write(tmp_path, "c.py", "workers = 2\nTask('a', 'NoSuchTask', 10)\n")
    with pytest.raises(ConfigError) as info:
        load_config([path], {}, make_job=make_job)
    assert str(info.value) == f"{path}:2: Task 'a': unknown task class 'NoSuchTask'"
    assert isinstance(info.value.__cause__, UnknownTaskClassError)


def test_a_check_made_after_the_options_names_the_file_and_line_of_the_job(tmp_path: Path) -> None:
    def make_job_for(_settings: object):
        def check(spec: JobSpec) -> JobSpec:
            if spec.name == "bad":
                raise UnknownTaskClassError(f"unknown task class {spec.classname!r}")
            return spec
        return check

    one = write(tmp_path, "one.py", "Task('a', 'm.C', 10)\n")
    two = write(tmp_path, "two.py",
                "workers = 2\nfor _i in range(3):\n    Task(f'a{_i}', 'm.C', 10)\nTask('bad', 'X', 10)\n")
    with pytest.raises(ConfigError) as info:
        load_config([one, two], {}, make_job_for=make_job_for)
    assert str(info.value) == f"{two}:4: Task 'bad': unknown task class 'X'"
    _, jobs = load_config([one], {}, make_job_for=make_job_for)
    assert [job.name for job in jobs] == ["a"]


def test_other_exceptions_from_make_job_still_name_file_and_line(tmp_path: Path) -> None:
    def make_job(spec: JobSpec) -> JobSpec:
        raise KeyError("boom")

    path = write(tmp_path, "c.py", "# c\nTask('a', 'm.C', 10)\n")
    with pytest.raises(ConfigError, match=f"^{re.escape(path)}:2: KeyError: 'boom'$"):
        load_config([path], {}, make_job=make_job)


def test_duplicate_jobs_kept_once(tmp_path: Path) -> None:
    one = write(tmp_path, "one.py", "Task('a', 'm.C', 10, x=1)\nTask('a', 'm.C', 10, x=1)\n")
    two = write(tmp_path, "two.py", "Task('a', 'm.C', 10, x=1)\nTask('a', 'm.C', 10, x=2)\n")
    _, jobs = load_config([one, two], {})
    assert [dict(j.kwargs) for j in jobs] == [{"x": 1}, {"x": 2}]
    assert len({j.job_id for j in jobs}) == 2


def test_task_name_not_treated_as_option_when_rebound(tmp_path: Path) -> None:
    path = write(tmp_path, "c.py", "Task('a', 'm.C', 10)\nTask = None\n")
    _, jobs = load_config([path], {})
    assert len(jobs) == 1


def test_module_exposes_lookup() -> None:
    assert config.lookup("workers") is OPTIONS["workers"]
    with pytest.raises(ConfigError, match=r"^here: unknown option 'wrkers'"):
        config.lookup("wrkers", where="here")
