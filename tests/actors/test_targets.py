"""Targets and script sources: what is accepted, and errors that name the field."""

from __future__ import annotations

import pytest

from actors.errors import InvalidValueError
from actors.scriptsource import check_source, declared_options, syntax_error
from actors.tags import check_tags
from actors.targets import TargetSpec

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_webhook_target_round_trips_and_its_public_view_hides_secrets():
    spec = TargetSpec("alerts", "https://ops:pw@hooks.example.com/x?y=1", secret=SECRET, headers={"X-Team": "ops"})
    assert spec.kind == "webhook"
    assert TargetSpec.from_record(spec.to_record()) == spec
    public = spec.public()
    assert public["url"] == "https://ops:***@hooks.example.com/x?y=1" and public["secret"] == "whsec_\u2026LaSw"
    assert SECRET not in str(public)


@pytest.mark.parametrize(("fields", "field"), [
    ({"name": "bad name"}, "name"),
    ({"url": "ftp://example.com/"}, "url"),
    ({"url": "http:///nohost"}, "url"),
    ({"secret": "plain-secret"}, "secret"),
    ({"headers": {"webhook-signature": "forged"}}, "headers"),
    ({"headers": {"X-Ok": "two\r\nlines"}}, "headers"),
    ({"exchange": "ex"}, "exchange"),
])
def test_a_bad_target_names_its_field(fields, field):
    base = {"name": "t", "url": "http://example.com/hook"}
    with pytest.raises(InvalidValueError) as caught:
        TargetSpec(**{**base, **fields})
    assert caught.value.field == field


def test_an_amqp_target_has_an_exchange_and_a_routing_key_but_no_secret():
    spec = TargetSpec("bus", "amqp://guest:guest@localhost:5672/%2f", exchange="", routing_key="alerts")
    assert spec.kind == "amqp" and spec.public()["url"] == "amqp://guest:***@localhost:5672/%2f"
    with pytest.raises(InvalidValueError, match="only webhook"):
        TargetSpec("bus", "amqp://localhost/", secret=SECRET)


def test_declared_options_are_read_without_running_the_script(tmp_path):
    marker = tmp_path / "ran"
    source = (f"open({str(marker)!r}, 'w').write('x')\n"
              "task_options = [{'name': 'n', 'type': 'int', 'default': 3, 'help': 'how many'},\n"
              "                {'name': 'who', 'type': 'str'}]\n")
    params = declared_options(source)
    assert [(p.name, p.type, p.required) for p in params] == [("n", "int", False), ("who", "str", True)]
    assert not marker.exists()  # parsed, never executed
    in_class = "class T:\n    task_options = [{'name': 'x', 'type': 'float', 'default': 1.5}]\n"
    assert [p.name for p in declared_options(in_class)] == ["x"]
    assert declared_options("task_options = make_options()\n") == ()  # computed: not a declaration
    with pytest.raises(InvalidValueError) as caught:
        declared_options("task_options = [{'name': 'x', 'type': 'complex'}]\n")
    assert caught.value.field == "task_options"


def test_syntax_errors_name_the_line_and_sources_are_capped():
    assert str(syntax_error("x = 1\nif x\n    pass\n")).startswith("line 2:")
    assert syntax_error("x = 1\n") is None
    assert check_source("a = 1\r\nb = 2\r", 100) == "a = 1\nb = 2\n"
    with pytest.raises(InvalidValueError) as caught:
        check_source("x" * 2000, 1024)
    assert caught.value.status == 413 and caught.value.field == "source"
    assert check_tags("b, a,b") == ("a", "b")
    with pytest.raises(InvalidValueError):
        check_tags(["ok", "not ok"])
