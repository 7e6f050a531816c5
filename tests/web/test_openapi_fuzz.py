"""The OpenAPI document and the server agree, and no input brings the server down (issue 11).

A property-based fuzzer driven by the server's own OpenAPI document (schemathesis on hypothesis),
over every operation, through the WSGI stack the server runs (Host allow-list, URL prefix, the
app), against a real in-process server (worker subprocesses, a temporary store):

* *positive* cases (what the schema allows): never a 5xx, the status documented, the body as
  documented, and accepted (`positive_data_acceptance`: a 400 here means the schema allows what
  the server refuses);
* *negative* cases (what the schema forbids): never a 5xx, and the error is JSON;
* *stateful* sequences following the document's links (add a job, then pause, resume, run now,
  reschedule, read its runs, remove it), with the same checks;
* at the end: no actor died or restarted, every actor is alive, ``/healthz`` is honest (200, or
  503 naming a real problem), and every live option is as it was.

The budget is small in ``make test``; ``make fuzz`` sets ``DAS_FUZZ_EXAMPLES`` (and
``DAS_FUZZ_STEPS``) for a longer run.
"""

from __future__ import annotations

import os

import jsonschema
import pykka
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web.conftest import client, make_facade, start_system, wait_for
from web.app import app_for
from web.hosts import AllowedHosts, host_guard
from web.server import prefixed

pytestmark = [pytest.mark.system, pytest.mark.timeout(3600)]

EXAMPLES = int(os.environ.get("DAS_FUZZ_EXAMPLES", "8"))
STEPS = int(os.environ.get("DAS_FUZZ_STEPS", "6"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("DAS_FUZZ_RANDOM"),
                database=None, suppress_health_check=list(HealthCheck), print_blob=True)
DOC = "/analytics/api/v1/openapi.json"

#: ``format: cron`` (the document gives the syntax; the server also checks that ranges go up, steps
#: fit and the expression fires): expressions built from parts the server always accepts.
schemathesis.openapi.format("cron", st.one_of(
    st.sampled_from(["@hourly", "@daily", "@weekly", "@monthly", "@yearly"]),
    st.builds(lambda minute, hour, days: f"{minute} {hour} {days}",
              st.sampled_from(["0", "*/5", "15,45", "0-29/10", "*"]), st.sampled_from(["*", "2", "9-17", "*/6"]),
              st.sampled_from(["* * *", "1 * *", "1-28/7 JAN-JUN *", "* * MON-FRI", "* * 5L", "* 2 SUN#1"]))))


def not_a_server_error(_ctx, response, case) -> None:
    """No 5xx at all (schemathesis's own check lets a documented 503 pass)."""
    if response.status_code >= 500:
        raise AssertionError(f"{response.status_code} for {case.method} {case.formatted_path} "
                             f"query={case.query} body={str(case.body)[:300]}: {response.text[:500]}")


#: Rules that tie two fields of one request together, which a schema cannot say: a positive case
#: may break them, and then only this 400 (its message names the rule) is the right answer.
CROSS_FIELD_RULES = {"/jobs/{job_id}/backfill": ("is after to", "slots of job")}


def accepted_unless_cross_field(ctx, response, case) -> None:
    """`positive_data_acceptance`, except a 400 that names one of the operation's cross-field rules."""
    rules = CROSS_FIELD_RULES.get(case.operation.path, ())
    if response.status_code == 400 and any(rule in response.text for rule in rules):
        return
    positive_data_acceptance(ctx, response, case)


POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance, accepted_unless_cross_field]
NEGATIVE_CHECKS = [not_a_server_error, content_type_conformance]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """``(server, facade, schema, options before)``: minimum_interval 60 s and a 2 s task timeout, so
    that the jobs the fuzzer adds run at most once and never hold a worker long."""
    server = start_system(tmp_path_factory.mktemp("openapi-fuzz"), minimum_interval=60.0, task_timeout=2.0,
                          max_retries=0, retry_delay=60.0, retry_max_delay=120.0)
    wait_for(lambda: all(w["status"] == "idle" for w in server.workers()), 30)
    facade = make_facade(server)
    app = app_for(facade, server.settings)
    wsgi = host_guard(prefixed(app, "/analytics"), AllowedHosts(""))
    schema = schemathesis.openapi.from_wsgi(DOC, wsgi)
    live = {o["name"]: o["value"] for o in facade.options() if o["live"]}
    yield server, facade, schema, live
    server.shutdown(grace_s=0.2)


def _prepare(case) -> None:
    """A live tail must end: a short timeout and a small limit (the document allows a day)."""
    if case.operation.path in ("/logs/tail", "/streams/{name}/tail"):
        case.query = {**(case.query or {}), "timeout": 0.05, "limit": 3}
    if case.operation.path == "/objects/{name}" and case.method == "PUT":  # an upload says its length
        body = case.body if isinstance(case.body, bytes) else b""
        case.body = body
        case.headers = {**(case.headers or {}), "Content-Length": str(len(body))}


def _restore(facade, live) -> None:
    """Put every live option back (the fuzzer may make the server read-only, or verbose)."""
    for name, value in live.items():
        if facade.system.settings.get(name) != value:
            facade.set_option(name, value)


def _positive(case) -> bool:
    """Whether every part of *case* was generated to fit the schema (stateful steps mix modes)."""
    meta = case.meta
    if meta is not None and (meta.generation.mode is not GenerationMode.POSITIVE or any(
            component.mode is not GenerationMode.POSITIVE for component in meta.components.values())):
        return False
    # A stateful step may drop a parameter it meant to fill from an earlier response, or draw a path
    # parameter from the document's constants (the generic /options/{name} given a listed name): then
    # the request is not schema-valid, whatever the metadata says. Check it against the document.
    components = case.operation.schema.raw_schema.get("components", {})
    given = {"query": case.query or {}, "path": case.path_parameters or {}}
    for where, parameters in (("query", case.operation.query), ("path", case.operation.path_parameters)):
        for parameter in parameters:
            if parameter.name not in given[where]:
                if parameter.is_required:
                    return False
                continue
            if not _fits(given[where][parameter.name], parameter.definition.get("schema") or {}, components):
                return False
    body = case.operation.definition.raw.get("requestBody")
    if body is not None and case.body is not None:
        schema = body["content"].get("application/json", {}).get("schema")
        return schema is None or _fits(case.body, schema, components)
    return True


def _fits(value, schema, components) -> bool:
    return jsonschema.Draft202012Validator({**schema, "components": components}).is_valid(value)


def _operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_every_operation_agrees_with_its_schema(fuzzed, mode):
    _server, facade, schema, live = fuzzed
    checks = POSITIVE_CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
    operations = _operations(schema)
    assert len(operations) >= 40, [op.label for op in operations]
    failures = []
    for operation in operations:
        run = _fuzz(operation, mode, checks, facade, live)
        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to negate (no parameters)
        except Exception as exc:  # every operation is tried; all disagreements are reported at once
            failures.append(f"{operation.label} ({mode.value}): {type(exc).__name__}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)


def _fuzz(operation, mode, checks, facade, live):
    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        _prepare(case)
        try:
            response = case.call()
            case.validate_response(response, checks=checks if _positive(case) else NEGATIVE_CHECKS)
        finally:
            _restore(facade, live)

    return run


def test_stateful_sequences_follow_the_links(fuzzed):
    _server, facade, schema, live = fuzzed
    machine = schema.as_state_machine()
    problems: list[str] = []

    class Sequences(machine):  # type: ignore[misc, valid-type]
        def before_call(self, case):
            _prepare(case)

        def after_call(self, response, case):
            _restore(facade, live)

        def validate_response(self, response, case, **kwargs):
            # Failures are collected, not raised: a sequence depends on the server's state, so
            # hypothesis could not replay it to shrink it (it would call the run flaky and hide it).
            try:
                case.validate_response(response, checks=POSITIVE_CHECKS if _positive(case) else NEGATIVE_CHECKS)
            except Exception as exc:
                problems.append(f"{case.method} {case.formatted_path}: {type(exc).__name__}: {str(exc)[:2000]}")

        def teardown(self):
            scenarios.append(1)

    # As schemathesis's own runner does: a sequence depends on the server's state, so hypothesis may
    # find that a replayed prefix draws differently (Flaky); then it starts over, up to the budget.
    scenarios: list[int] = []
    wanted = max(2, EXAMPLES // 2)
    attempts = 0
    while attempts < 20:
        attempts += 1
        try:
            Sequences.run(settings=settings(FUZZ, max_examples=wanted - len(scenarios), stateful_step_count=STEPS,
                                            phases=[Phase.generate], derandomize=False))
        except Flaky:
            if len(scenarios) < wanted:
                continue
        break
    assert not problems, "\n\n".join(dict.fromkeys(problems))
    assert scenarios, f"no sequence completed in {attempts} attempts"
    print(f"stateful: {len(scenarios)} sequences in {attempts} attempt(s)")


def test_after_the_fuzzing_nothing_died_and_health_is_honest(fuzzed):
    server, facade, _schema, live = fuzzed
    supervisor = server.supervisor_status()
    assert not supervisor["down"], supervisor
    assert all(count == 0 for count in supervisor["restarts"].values()), supervisor
    refs = pykka.ActorRegistry.get_all()
    assert all(ref.is_alive() for ref in refs)
    expected = 3 + server.settings.workers  # supervisor, journal, scheduler, workers
    assert len([r for r in refs if r.actor_class.__module__.startswith("actors.")]) >= expected
    assert all(w["status"] in ("idle", "busy") for w in server.workers()), server.workers()
    app = client(facade)
    health = app.get("/healthz", expect_errors=True)
    if health.status_int != 200:  # honest: then it names a real problem
        problems = health.json["problems"]
        assert problems and all(isinstance(p, str) and p for p in problems)
        pytest.fail(f"unhealthy after fuzzing: {problems}")
    assert {o["name"]: o["value"] for o in facade.options() if o["live"]} == live
