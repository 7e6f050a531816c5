"""``das-actors ctl`` commands of scripts, triggers and actions (see `actors.ctl` for the rest).

``trigger JOB --param k=v [--wait]`` starts a run now through the trigger API (the schedule
untouched), with an optional ``--key`` sent as ``Idempotency-Key``; ``--wait`` polls the
status URL until the run is finished and exits 1 when it did not succeed. ``scripts``,
``actions`` and ``targets`` list what their pages show. Stdlib only, like `actors.ctl`.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any
from urllib.parse import quote

from actors.ctl import Answer, Client, _cell, _when, json_and_pairs, table
from actors.errors import ServerRefusedError

#: Seconds between two looks at a run's status, and how long a 404 is taken for "being stored".
POLL_S, NOT_FOUND_GRACE_S = 0.5, 5.0


def _params(args: argparse.Namespace) -> dict[str, Any]:
    return json_and_pairs(args.params, args.param, json_flag="--params", pair_flag="--param")


def _trigger(args: argparse.Namespace, client: Client) -> Answer:
    kind = "scripts" if args.script else "jobs"
    answer = client.call("POST", f"{kind}/{quote(args.job, safe='')}/runs", body={"params": _params(args)},
                         headers={"Idempotency-Key": args.key} if args.key else None)
    text = f"run {answer['run_id']} started" + (" (an earlier request with this key)" if answer.get("replayed")
                                                 else "") + f"\nstatus: {answer.get('status_url')}"
    if not args.wait:
        return answer, text
    status = _wait(client, answer, args.wait_timeout)
    answer = {**answer, "status": status}
    text += f"\n{status['state']}" + (f": {status['error']}" if status.get("error") else "")
    if status.get("result") is not None:
        result = {k: v for k, v in status["result"].items() if k != "outputs"}
        text += "\nresult: " + json.dumps(result, default=str)
    if status["state"] != "success":
        raise ServerRefusedError(0, f"run {answer['run_id']} ended {status['state']}"
                                 + (f": {status.get('error')}" if status.get("error") else ""), answer)
    return answer, text


def _wait(client: Client, answer: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    job_id, index = answer["job_id"], answer["index"]
    deadline = time.monotonic() + timeout_s
    missing_since: float | None = None
    while True:
        try:
            status: dict[str, Any] = client.call("GET", f"runs/{quote(job_id, safe='')}/{index}/status")["status"]
            missing_since = None
            if status.get("finished"):
                return status
        except ServerRefusedError as exc:
            if exc.status != 404:
                raise
            missing_since = missing_since or time.monotonic()
            if time.monotonic() - missing_since > NOT_FOUND_GRACE_S:
                raise
        if time.monotonic() > deadline:
            raise ServerRefusedError(0, f"run {answer['run_id']} not finished within {timeout_s:g}s", answer)
        time.sleep(POLL_S)


def _scripts(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("GET", "scripts", {"tag": args.tag, "limit": args.limit})
    rows = [[s["name"], s.get("latest"), ",".join(s.get("tags") or []), _when(s.get("updated_at")),
             (s.get("schedule") or {}).get("job_id")] for s in answer["scripts"]]
    return answer, table(rows, ["name", "version", "tags", "updated (utc)", "scheduled job"])


def _actions(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("GET", "actions", {"state": args.state, "run_id": args.run_id, "job_id": args.job_id,
                                            "target": args.target, "limit": args.limit})
    rows = [[_when(a.get("created_at")), a["action_id"], a.get("kind"), a.get("target") or a.get("url"),
             a.get("state"), a.get("attempt_count"), a.get("last_status"), a.get("run_id"), a.get("last_error")]
            for a in answer["actions"]]
    return answer, table(rows, ["queued (utc)", "id", "kind", "target", "state", "attempts", "last status", "run",
                                "last error"]) + f"\n{len(rows)} of {answer['total']} action(s)"


def _targets(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("GET", "targets")
    rows = [[t["name"], t["kind"], t["url"], "yes" if t.get("signed") else "no", t.get("origin"),
             _cell(t.get("headers") or None)] for t in answer["targets"]]
    return answer, table(rows, ["name", "kind", "url", "signed", "from", "headers"])


COMMANDS: dict[str, tuple[str, list[tuple[tuple[str, ...], dict[str, Any]]], Any]] = {
    "trigger": ("start a run now with parameters, the schedule untouched (the trigger API)", [
        (("job",), {"metavar": "JOB", "help": "job id or name (a script's name with --script)"}),
        (("--param", "-p"), {"action": "append", "metavar": "K=V",
                             "help": "a parameter (value parsed as JSON if it parses, else a string); repeatable"}),
        (("--params",), {"metavar": "JSON", "help": "parameters as one JSON object"}),
        (("--key",), {"metavar": "KEY", "help": "Idempotency-Key: the same key returns the first run"}),
        (("--script",), {"action": "store_true", "help": "JOB is a script: run its newest version once"}),
        (("--wait",), {"action": "store_true", "help": "wait for the run to finish (exit 1 unless it succeeded)"}),
        (("--wait-timeout",), {"type": float, "default": 3600.0, "metavar": "S"})], _trigger),
    "scripts": ("scripts written in the panel", [
        (("--tag",), {}), (("--limit",), {"type": int, "default": 1000})], _scripts),
    "actions": ("actions (webhooks, publishes) newest first, with their state and attempts", [
        (("--state",), {"choices": ("pending", "delivering", "delivered", "failed")}), (("--run-id",), {}),
        (("--job-id",), {}), (("--target",), {}), (("--limit",), {"type": int, "default": 50})], _actions),
    "targets": ("action targets (webhook receivers, AMQP brokers)", [], _targets),
}
