"""Scripts and triggers as the web and the CLI see them: save, run now, schedule, trigger.

Why a module of its own (beside `actors.facade`): scripts and the external trigger API are a
concept with their own rules, and the facade would pass 400 lines with them. This module
never runs a script: it reads scripts as text (`actors.scriptsource`), stores them
(`actors.store.scripts`) and asks the scheduler to run them on a worker:

* **Run now** of a script (its saved version or the editor's unsaved text) is a *one-off*
  run (`actors.messages.RunOneOff`): no job in the timetable, dispatched before the waiting
  line, its id known at once (``<16 hex>:1:0``), listed in Results under the script's name;
* **Schedule** makes the script's saved version a job of the `tasks.script.Script` class
  (the source travels in its arguments) and remembers it on the script, replacing the job of
  an older version;
* **Trigger** (``POST api/v1/jobs/<id>/runs``): a manual run now with parameters, the
  schedule untouched (`actors.messages.TriggerRun`); the parameters are checked against the
  task class's declared options (a script's against its ``task_options``), a 400 naming
  ``params.<name>``. An ``Idempotency-Key`` is stored per job (or script) in `Records`: the
  same key returns the first run (the same parameters are required: 422 otherwise; 409
  while the first request is still being answered). Keys expire after `KEY_TTL_S`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from actors.errors import ConflictError, InvalidValueError, NotFoundError
from actors.jobs import RESERVED_KWARGS, JobSpec, Origin, Run, Trigger, canonical_json
from actors.jsonsafe import find_unsafe
from actors.messages import AddJob, Flush, GetJob, GetRunState, RemoveJob, RunOneOff, TriggerRun
from actors.params import check_all
from actors.scriptsource import check_source, declared_options, syntax_error
from actors.store import Query
from actors.store.base import Page
from actors.store.records import Records
from actors.store.scripts import ScriptBook, diff

#: The task class scripts run as (`tasks.script.Script`).
SCRIPT_CLASS = "Script"
#: Records kind of idempotency keys, and how long a key is remembered.
KEY_KIND = "trigger-key"
KEY_TTL_S = 86_400.0
#: A claim on a key older than this is taken for an answer that never came (a crash).
KEY_CLAIM_S = 60.0
MAX_KEY = 255
#: Most parameters one trigger may carry.
MAX_PARAMS = 100


class Interact:
    """Scripts, one-off runs and triggers of one running server; see the module docstring.

    *system* is the `actors.system.System` (``ask``, ``settings``, ``store``, ``directory``);
    *registry* the task registry; *records* the keyed records the scripts and keys live in.
    """

    def __init__(self, system: Any, registry: Any, records: Records, clock: Callable[[], float] = time.time) -> None:
        self.system = system
        self.registry = registry
        self.records = records
        self.clock = clock

    @property
    def enabled(self) -> bool:
        """Whether scripts are on (option ``scripts``)."""
        return bool(self.system.settings.scripts)

    @property
    def book(self) -> ScriptBook:
        """The scripts, capped at ``script_max_bytes``."""
        return ScriptBook(self.records, int(self.system.settings.script_max_bytes), self.clock)

    def _require_scripts(self) -> None:
        if not self.enabled:
            raise NotFoundError("scripts are turned off on this server (option scripts; --no-scripts)")

    # ------------------------------------------------------------------ scripts
    def scripts(self, *, tag: str | None = None, limit: int = 100, offset: int = 0) -> Page:
        """Scripts by name."""
        self._require_scripts()
        return self.book.list(tag=tag, limit=limit, offset=offset)

    def script(self, name: str, version: int | None = None) -> dict[str, Any]:
        """A script's metadata, one version's source (the newest by default), what it declares, its job."""
        self._require_scripts()
        book = self.book
        meta = book.info(name)
        chosen = book.version(name, version)
        job = None
        schedule = meta.get("schedule") or {}
        if schedule.get("job_id"):
            job = self._job(str(schedule["job_id"]))
        try:
            options = [p.describe() for p in declared_options(chosen.source)]
            options_error = None
        except InvalidValueError as exc:
            options, options_error = [], str(exc)
        return {"script": meta, "version": chosen.to_record(), "syntax_error": syntax_error(chosen.source),
                "options": options, "options_error": options_error, "job": job}

    def versions(self, name: str, *, limit: int = 100, offset: int = 0) -> Page:
        """Versions of a script, newest first."""
        self._require_scripts()
        return self.book.versions(name, limit=limit, offset=offset)

    def save_script(self, name: str, source: Any, *, base_version: int | None = None, note: str = "",
                    tags: Any = None, create: bool = False) -> dict[str, Any]:
        """Save a new version (see `actors.store.scripts.ScriptBook.save`), with its syntax error if any."""
        self._require_scripts()
        saved = self.book.save(name, source, base_version=base_version, note=note, tags=tags, create=create)
        saved["syntax_error"] = syntax_error(str(source))
        return saved

    def tag_script(self, name: str, tags: Any) -> dict[str, Any]:
        """Replace a script's tags."""
        self._require_scripts()
        return self.book.tag(name, tags)

    def delete_script(self, name: str) -> dict[str, Any]:
        """Delete a script, its versions and its scheduled job (its runs stay in Results)."""
        self._require_scripts()
        book = self.book
        meta = book.info(name)
        job_id = (meta.get("schedule") or {}).get("job_id")
        if job_id and self._job(str(job_id)) is not None:
            self.system.ask(RemoveJob(str(job_id)))
        versions = book.delete(name)
        return {"name": name, "versions_deleted": versions, "job_removed": job_id}

    def diff(self, name: str, old: int, new: int) -> dict[str, Any]:
        """The unified diff of two versions: ``{"from", "to", "lines": [(kind, text), ...]}``."""
        self._require_scripts()
        book = self.book
        a, b = book.version(name, old), book.version(name, new)
        return {"name": name, "from": old, "to": new,
                "lines": diff(a.source, b.source, f"{name} v{old}", f"{name} v{new}")}

    # ------------------------------------------------------------------ running
    def _script_kwargs(self, name: str, source: str, version: int, args: Mapping[str, Any]) -> dict[str, Any]:
        return {"source": source, "script": name, "version": version, "args": dict(args),
                "max_output_bytes": int(self.system.settings.script_output_max_bytes)}

    @staticmethod
    def _args(source: str, given: Any, *, field: str = "args") -> dict[str, Any]:
        """*given* checked against what the script declares (400 naming ``<field>.<name>``)."""
        if given is None:
            given = {}
        if not isinstance(given, Mapping):
            raise InvalidValueError(f"{field}: a JSON object of arguments, got {type(given).__name__}", field=field)
        bad = find_unsafe(dict(given))
        if bad is not None:
            raise InvalidValueError(f"{field}: {bad} is not JSON-safe", field=field)
        params = declared_options(source)
        if not params:
            return dict(given)
        try:
            return check_all(params, given, allow_extra=False)
        except InvalidValueError as exc:
            raise InvalidValueError(f"{field}: {exc}", field=f"{field}.{exc.field}", value=exc.value) from None

    def run_script(self, name: str, *, source: Any = None, version: int | None = None, args: Any = None,
                   params: Mapping[str, Any] | None = None, args_field: str = "args") -> dict[str, Any]:
        """Run a script once now, before the waiting line: its saved *version* (newest by default), or
        *source* (the editor's text, saved or not). ``{"run_id", "job_id", "index", "name", "version"}``."""
        self._require_scripts()
        book = self.book
        if source is None:
            chosen = book.version(name, version)
            text, number = chosen.source, chosen.version
        else:
            text = check_source(source, book.max_bytes)
            try:
                newest = book.version(name)
                number = newest.version if newest.source == text else 0
            except NotFoundError:
                number = 0
        checked = self._args(text, args, field=args_field)
        timeout = float(self.system.settings.task_timeout) or None
        run = Run(job_id=secrets.token_hex(8), name=name, classname=SCRIPT_CLASS,
                  kwargs=self._script_kwargs(name, text, number, checked), index=1, attempt=0, due_at=self.clock(),
                  interval_s=0.0, parent=(), timeout_s=timeout, trigger=Trigger.ONE_OFF,
                  params=dict(params) if params else (checked or None))
        run_id = str(self.system.ask(RunOneOff(run)))
        return {"run_id": run_id, "job_id": run.job_id, "index": 1, "name": name, "version": number}

    def schedule_script(self, name: str, *, interval: Any, args: Any = None, when: Any = None) -> dict[str, Any]:
        """Make the newest saved version of *name* a job every *interval* seconds (replacing the job of an
        older schedule); the job's view."""
        self._require_scripts()
        from actors.timeish import parse_when

        book = self.book
        chosen = book.version(name)
        error = syntax_error(chosen.source)
        if error:
            raise InvalidValueError(f"source: version {chosen.version} does not parse ({error}); fix it before "
                                    "scheduling", field="source")
        checked = self._args(chosen.source, args)
        spec = self.registry.validate_spec(JobSpec(
            name=name, classname=SCRIPT_CLASS, interval_s=interval,
            kwargs=self._script_kwargs(name, chosen.source, chosen.version, checked), origin=Origin.API))
        first = None if when in (None, "") else parse_when(when, now=self.clock())
        meta = book.info(name)
        old = (meta.get("schedule") or {}).get("job_id")
        job = self.system.ask(AddJob(spec, first))
        if old and old != spec.job_id and self._job(str(old)) is not None:
            self.system.ask(RemoveJob(str(old)))
        book.set_schedule(name, {"job_id": spec.job_id, "version": chosen.version, "interval": spec.interval_s})
        return dict(job)

    def unschedule_script(self, name: str) -> dict[str, Any]:
        """Remove the job that runs *name* on a schedule."""
        self._require_scripts()
        book = self.book
        job_id = (book.info(name).get("schedule") or {}).get("job_id")
        if job_id and self._job(str(job_id)) is not None:
            self.system.ask(RemoveJob(str(job_id)))
        return book.set_schedule(name, None)

    def adopt_config_scripts(self, specs: Sequence[JobSpec]) -> list[str]:
        """Config-file jobs of the Script class that name their script (``script="..."``) appear in the
        Scripts area: the source is saved as a version when it differs from the newest, and the job is
        remembered as the script's schedule. The names adopted."""
        if not self.enabled:
            return []
        book, adopted = self.book, []
        for spec in specs:
            name, source = spec.kwargs.get("script"), spec.kwargs.get("source")
            if spec.classname != SCRIPT_CLASS or not isinstance(name, str) or not name or not isinstance(source, str):
                continue
            try:
                saved = book.save(name, source, note="from the config file")
                book.set_schedule(name, {"job_id": spec.job_id, "version": saved["version"],
                                         "interval": spec.interval_s})
            except InvalidValueError as exc:
                raise InvalidValueError(f"config job {spec.name!r}: {exc}", field=exc.field, value=exc.value) from exc
            adopted.append(name)
        return adopted

    # ------------------------------------------------------------------ triggers
    def find_job(self, ref: str) -> dict[str, Any]:
        """The job with id *ref*, else the one job named *ref* (409 when several are, 404 when none is)."""
        return dict(self.system.ask(GetJob(ref)))

    def _job(self, job_id: str) -> dict[str, Any] | None:
        """The job with this id, or None (a schedule's job removed meanwhile)."""
        try:
            found = self.system.ask(GetJob(job_id))
        except NotFoundError:
            return None
        return None if found is None else dict(found)

    def _job_params(self, job: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        """*params* checked against the job's task (a script's declared options for a script job)."""
        kwargs = dict(job.get("kwargs") or {})
        if job.get("classname") == SCRIPT_CLASS and isinstance(kwargs.get("source"), str):
            checked = self._args(str(kwargs["source"]), {**dict(kwargs.get("args") or {}), **params}, field="params")
            return {"args": checked}
        info = self.registry.info(str(job["classname"]))
        declared = {p.name: p for p in info.params}
        out: dict[str, Any] = {}
        for name, value in params.items():
            if name in RESERVED_KWARGS:
                raise InvalidValueError(f"params.{name}: reserved by the framework", field=f"params.{name}")
            param = declared.get(name)
            if param is None and declared:
                raise InvalidValueError(f"params.{name}: task class {job['classname']!r} declares no such option "
                                        f"(declared: {', '.join(sorted(declared))})", field=f"params.{name}")
            try:
                out[name] = value if param is None else param.check(value)
            except InvalidValueError as exc:
                raise InvalidValueError(f"params.{name}: {exc}", field=f"params.{name}", value=exc.value) from None
        return out

    @staticmethod
    def _check_params(params: Any) -> dict[str, Any]:
        if params is None:
            return {}
        if not isinstance(params, Mapping):
            raise InvalidValueError(f"params: a JSON object, got {type(params).__name__}", field="params")
        if len(params) > MAX_PARAMS:
            raise InvalidValueError(f"params: at most {MAX_PARAMS} parameters", field="params")
        bad = find_unsafe(dict(params))
        if bad is not None:
            raise InvalidValueError(f"params: {bad} is not JSON-safe", field="params")
        return dict(params)

    def trigger_job(self, ref: str, params: Any, key: str | None) -> tuple[bool, dict[str, Any]]:
        """Start a manual run of job *ref* (id or name) now with *params*; ``(new, answer)``; see the module."""
        checked = self._check_params(params)
        job = self.find_job(ref)
        if job.get("classname") == SCRIPT_CLASS:
            self._require_scripts()

        def start() -> dict[str, Any]:
            answer = self.system.ask(TriggerRun(str(job["job_id"]), self._job_params(job, checked)))
            return {"run_id": answer["run_id"], "job_id": job["job_id"], "name": job["name"], "params": checked}

        return self._idempotent(f"job/{job['job_id']}", key, checked, start)

    def trigger_script(self, name: str, params: Any, key: str | None) -> tuple[bool, dict[str, Any]]:
        """Run the newest version of script *name* once now with *params* as its ``args``; ``(new, answer)``."""
        self._require_scripts()
        checked = self._check_params(params)
        self.book.info(name)

        def start() -> dict[str, Any]:
            answer = self.run_script(name, args=checked, params=checked, args_field="params")
            return {"run_id": answer["run_id"], "job_id": answer["job_id"], "name": name, "params": checked,
                    "version": answer["version"]}

        return self._idempotent(f"script/{name}", key, checked, start)

    def _idempotent(self, scope: str, key: str | None, params: Mapping[str, Any],
                    start: Callable[[], dict[str, Any]]) -> tuple[bool, dict[str, Any]]:
        if key is None:
            return True, start()
        if not key or len(key) > MAX_KEY or any(ord(ch) < 32 or ord(ch) > 126 for ch in key):
            raise InvalidValueError(f"Idempotency-Key: 1 to {MAX_KEY} printable ASCII characters, got {key[:40]!r}",
                                    field="Idempotency-Key", value=key[:40])
        fingerprint = hashlib.sha256(canonical_json(dict(params))).hexdigest()
        record_key, now = f"{scope}/{key}", self.clock()
        claim = {"scope": scope, "key": key, "fingerprint": fingerprint, "state": "claimed", "created_at": now}
        if not self.records.insert_new(KEY_KIND, record_key, claim):
            existing = self.records.get(KEY_KIND, record_key) or {}
            age = now - float(existing.get("created_at") or 0.0)
            stale = age > KEY_TTL_S or (existing.get("state") == "claimed" and age > KEY_CLAIM_S)
            if not stale:
                if existing.get("fingerprint") != fingerprint:
                    raise InvalidValueError("Idempotency-Key: this key was used with other parameters; use a new key "
                                            "for a new request", field="Idempotency-Key", status=422)
                if existing.get("state") != "done":
                    raise ConflictError("Idempotency-Key: a request with this key is still being answered; retry")
                return False, dict(existing["answer"])
            self.records.put(KEY_KIND, record_key, claim)
        try:
            answer = start()
        except BaseException:
            self.records.delete(KEY_KIND, record_key)
            raise
        self.records.put(KEY_KIND, record_key, {**claim, "state": "done", "answer": answer})
        return True, answer

    # ------------------------------------------------------------------ status
    def run_status(self, job_id: str, index: int) -> dict[str, Any]:
        """``{"run_id", "state", "finished", ...}``: waiting, running, or the stored outcome and result."""
        run_id = f"{job_id}:{index}:0"
        where = self.system.ask(GetRunState(run_id))
        if where is not None:
            return {"run_id": run_id, "job_id": job_id, "index": index, "state": where["state"], "finished": False}
        doc = self._result(job_id, index)
        if doc is None:
            journal = self.system.directory.journal
            if journal is not None:
                try:
                    journal.ask(Flush(), timeout=2.0)
                except Exception:  # noqa: BLE001, S110 - a journal that does not answer: the store has what it has
                    pass
            doc = self._result(job_id, index)
        if doc is None:
            raise NotFoundError(f"no run {index} of job {job_id!r}: not waiting, not running, and no result stored")
        return {"run_id": doc.get("run_id") or run_id, "job_id": job_id, "index": index, "state": doc.get("outcome"),
                "finished": True, "name": doc.get("name"), "started_at": doc.get("started_at"),
                "finished_at": doc.get("finished_at"), "duration": doc.get("duration"), "error": doc.get("error"),
                "result": doc.get("result"), "params": doc.get("params")}

    def _result(self, job_id: str, index: int) -> dict[str, Any] | None:
        items = self.system.store.find(Query(type="result", job_id=job_id, index=index, limit=10)).items
        return dict(items[0]) if items else None
