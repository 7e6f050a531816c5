"""The report contract: an optional `Report` base class, declared parameters, and the context.

A report is a class whose instances are called with the page's parameters and return
``(template_name, data)``::

    from reports.base import Report

    class FailuresReport(Report):
        \"\"\"Failed runs per job in the last hour.\"\"\"

        report_group = "Runs"                      # the index groups reports by this
        report_title = "Failures"                  # default: the class name
        params = [{"name": "period", "type": "duration", "default": 3600, "help": "seconds (or 10m, 2h, 1d)",
                   "minimum": 60, "maximum": 7 * 86400}]

        def __call__(self, *, period: float) -> tuple[str, dict[str, Any]]:
            since = self.context.now - period
            counts: dict[str, int] = {}
            for doc in self.context.stream(Query(type="result", outcome="failed", since=since), ["name"]):
                counts[doc["name"]] = counts.get(doc["name"], 0) + 1
            return "report_failures.mako", {"counts": counts}

and a Mako template ``report_failures.mako`` next to the module, which usually starts with
``<%inherit file="report.mako"/>`` (the panel's frame: title, info, the parameter form)
and renders ``data`` (charts with ``charts.render(spec)``, see `reports.charts`).

**Report code runs in the web server's request thread.** It must only *read* stored
documents, through `ReportContext` (bounded windows, indexed queries: `ReportContext.stream`
for large windows, `ReportContext.find` for a page), and it must answer in well under a
second. Heavy computation (anything that scans more than a day of documents, calls out to
other services, or takes seconds) belongs in a **task**: a periodic job does the work in a
worker process and returns its figures, which are stored as its run's ``result``; the report
then only reads the newest results of that job. The built-in Job report shows the pattern:
it charts the numeric fields each run of a job returned (e.g. a count an analytics task
computed), over time, without computing anything itself.

Inheriting from `Report` is optional (as in DAS): the registry accepts any public class
with ``__call__``; it is built with one argument, the `ReportContext`, and it may declare
``report_group`` (default "General"), ``report_title`` (default: the class name),
``report_info`` (default: the docstring), ``report_name`` (default: the class name, less a
``Report`` suffix, lower-cased: ``SchedulerReport`` is ``scheduler``), ``hide`` (not
listed) and ``params``.

``params`` declares the parameters, each a dict (or a `Param`) with ``name``, ``type``
(``str``, ``int``, ``float``, ``bool``, ``duration``: seconds, also ``90s``, ``10m``, ``2h``,
``1d``), ``default``, ``help``, ``choices``, ``required``, ``minimum`` and ``maximum``. The
panel validates the query string against them (a 400 naming the field), builds the form
from them, and calls the report with every declared parameter as a keyword argument.
A report may itself refuse a well-formed value (an unknown job id) by raising
`ReportParamError` naming the field.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from actors.errors import DasActorsError, InvalidValueError, ReportError, ReportParamError
from actors.params import Param, parse_all
from actors.store.base import Page, Query

#: Parameter types a report may declare.
PARAM_TYPES = ("str", "int", "float", "bool", "duration")
#: Documents per batch when a report streams a window (`ReportContext.stream`).
STREAM_BATCH = 5000


def declared_params(cls: type, where: str | None = None) -> tuple[Param, ...]:
    """The validated `Param` declarations of report class *cls*; `ReportError` when malformed."""
    raw = getattr(cls, "params", None) or ()
    where = where or f"{cls.__qualname__}.params"
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise ReportError(f"{where} must be a list of parameter dicts")
    try:
        params = tuple(Param.of(item, where) for item in raw)
    except InvalidValueError as exc:
        raise ReportError(str(exc)) from None
    for param in params:
        if param.type not in PARAM_TYPES:
            raise ReportError(f"{where}: parameter {param.name!r} has type {param.type!r} "
                              f"(known: {', '.join(PARAM_TYPES)})")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ReportError(f"{where}: duplicate parameter names in {names}")
    return params


def parse_params(params: Sequence[Param], raw: Mapping[str, str], *, strict: bool = True) -> dict[str, Any]:
    """Every declared parameter's value from query-string *raw* (defaults filled in).

    Raises:
        ReportParamError: a value is bad, a required one is missing, or (``strict``) *raw*
            names a parameter that is not declared.
    """
    try:
        return parse_all(params, raw, strict=strict)
    except InvalidValueError as exc:
        field = exc.field or "query"
        raise ReportParamError(field, str(exc).removeprefix(f"{field}: ")) from None


# ----------------------------------------------------------------------------- context
class ReportContext:
    """What a report may read: stored documents, the job records, the worker slots, the time.

    Built by the running server's facade (`actors.facade.Facade.report_context`), or directly
    from a store (`from_store`: tests, benchmarks, scripts). ``now`` is fixed for one report call,
    so every window of a report ends at the same instant.
    """

    def __init__(self, store: Any, *, find: Callable[[Query], Page] | None = None,
                 job: Callable[[str], dict[str, Any] | None] | None = None,
                 workers: Callable[[], list[dict[str, Any]]] | None = None, now: float | None = None,
                 batch: int = STREAM_BATCH, services: Mapping[str, Any] | None = None) -> None:
        self.store = store
        #: Shared services of the server (as tasks get them), when it has any; {} otherwise.
        self.services: dict[str, Any] = dict(services or {})
        self._find = find or store.find
        self._job = job
        self._workers = workers
        self.now = time.time() if now is None else float(now)
        self.batch = batch

    @classmethod
    def from_store(cls, store: Any, *, now: float | None = None) -> ReportContext:
        """A context over a bare store: no job records (`job` answers None), no live workers."""
        return cls(store, now=now)

    def find(self, query: Query) -> Page:
        """One page of documents, newest first (use a small ``limit``)."""
        return self._find(query)

    def rows(self, query: Query, fields: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """Every document of *query* as a tuple ``(seq, time, type, *fields)``, in no set order.

        Uses the store's `iter_rows` (indexed keyset paging, only *fields* decoded); a store
        without it is paged through `find` instead (slower; see `rows_by_pages`). Give the
        query a time bound (``since``): reports read bounded windows. The fastest way to
        aggregate a large window (the Scheduler report reads 24 h of runs this way).
        """
        iter_rows = getattr(self.store, "iter_rows", None)
        if iter_rows is not None:
            return iter(iter_rows(query, tuple(fields), self.batch))
        return rows_by_pages(self._find, query, fields, self.batch)

    def stream(self, query: Query, fields: Sequence[str]) -> Iterator[dict[str, Any]]:
        """`rows` as dicts ``{"seq", "time", "type", *fields}`` (a missing field is None)."""
        keys = ("seq", "time", "type", *fields)
        return (dict(zip(keys, row, strict=True)) for row in self.rows(query, fields))

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The job record of *job_id* (with ``recent_runs``), or None (unknown, or no scheduler here)."""
        return None if self._job is None else self._job(job_id)

    def workers(self) -> list[dict[str, Any]]:
        """The worker slots as they are now (``slot, status, pid...``); [] when unknown."""
        if self._workers is None:
            return []
        try:
            return list(self._workers())
        except DasActorsError:
            return []


def rows_by_pages(find: Callable[[Query], Page], query: Query, fields: Sequence[str],
                  batch: int = STREAM_BATCH) -> Iterator[tuple[Any, ...]]:
    """`ReportContext.rows` for a store with only `find`: pages of *batch* documents, newest first.

    Offset paging over a window that grows at the top (new documents) can see a document
    twice, never miss one: duplicates are dropped by ``seq``.
    """
    names = ("seq", "time", "type", *fields)
    seen: set[int] = set()
    offset = 0
    while True:
        page = find(Query(**{**_query_fields(query), "limit": batch, "offset": offset}))
        for doc in page.items:
            seq = doc.get("seq")
            if seq in seen:
                continue
            if isinstance(seq, int):
                seen.add(seq)
            yield tuple(doc.get(name) for name in names)
        offset += len(page.items)
        if not page.more or not page.items:
            return


def _query_fields(query: Query) -> dict[str, Any]:
    return {name: getattr(query, name) for name in Query.__dataclass_fields__}


# ----------------------------------------------------------------------------- base class
class Report:
    """Optional base class of reports; see the module docstring (the whole contract is there).

    Report code runs in the web server's request thread: it only reads stored data, in
    bounded windows with indexed queries. Heavy computation belongs in a task (a periodic
    job) whose stored result the report reads.
    """

    #: Index heading the report is listed under.
    report_group: ClassVar[str] = "General"
    #: Title (default: the class name).
    report_title: ClassVar[str | None] = None
    #: One paragraph for the index and the page (default: the docstring).
    report_info: ClassVar[str | None] = None
    #: URL name (default: the class name less "Report", lower-cased).
    report_name: ClassVar[str | None] = None
    #: Parameter declarations (dicts or `Param`).
    params: ClassVar[Sequence[Mapping[str, Any] | Param]] = ()

    def __init__(self, context: ReportContext) -> None:
        self.context = context

    def __call__(self, *args: Any, **params: Any) -> tuple[str, dict[str, Any]]:
        """``(template_name, data)`` for the declared *params* (given as keywords); *data* must be
        JSON-safe (it is also the API's answer)."""
        raise NotImplementedError
