"""How a starting server, or a new leader, brings the stored jobs back into its scheduler.

Why a module of its own: a restore is the one moment three stores must agree. The job records
say what each job was doing; the run ledger says which slots were claimed and finished; the
stored results say how runs ended that the ledger had no time to hear about. Here they are
reconciled before the Scheduler sees a record: a run whose result is stored is settled (not
resumed), a run still alive on another instance is left to it, config jobs no longer in the
config files are retired, and new config jobs are added with their ledger heads. Records are
streamed a chunk at a time, so a 100k-job restart never holds every record at once. Mixed into
`actors.system.System` (like `actors.roles`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import structlog

from actors.gcpause import paused_gc
from actors.jobs import JobSpec, Origin
from actors.ledger import Finished, LedgerHead, SlotState
from actors.messages import AddJobs, RestoreJobs, SaveJobs
from actors.routing import Directory
from actors.schedstate import SchedulerState
from actors.store import Query, Store

log = structlog.get_logger("das_actors.system")

#: Job records restored per message at start.
RESTORE_CHUNK = 5_000
#: Seconds the scheduler gets to take one chunk of records.
RESTORE_ASK_S = 10.0


class _System(Protocol):
    """What the restore uses of the System."""

    @property
    def store(self) -> Store: ...

    @property
    def state(self) -> SchedulerState: ...

    @property
    def directory(self) -> Directory: ...

    @property
    def config_jobs(self) -> Sequence[JobSpec]: ...

    def _ask_here(self, command: Any, timeout: float = ...) -> Any: ...

    def _settled_heads(self) -> dict[str, LedgerHead]: ...

    def _stored_result(self, job_id: str, index: Any, attempt: Any, *,
                       interrupted: bool = ...) -> dict[str, Any] | None: ...

    def _settled_record(self, record: dict[str, Any]) -> dict[str, Any]: ...


class StoredJobs:
    """Mixed into `actors.system.System`: the restore of the stored jobs."""

    def _restore(self: _System, live: frozenset[str] = frozenset(), mine: frozenset[str] = frozenset()) -> None:
        """Stream the stored jobs into the scheduler (a chunk at a time: a 100k-job restart never
        holds every record at once) with the run ledger's heads (read in one query), retire config
        jobs no longer configured, add the configured ones that are new (a lost record's job
        still meets its ledger heads). A new leader passes the other instances alive (*live*) and
        the slot ids of its own runs still in flight from an earlier term (*mine*): those runs
        are left to finish where they run, not resumed.

        The cyclic collector is paused meanwhile and what was built is frozen at the end
        (`actors.gcpause`): a million jobs are not walked by each later full collection."""
        with paused_gc(settle=True):
            StoredJobs._restore_jobs(self, live, mine)

    def _restore_jobs(self: _System, live: frozenset[str], mine: frozenset[str]) -> None:
        """`_restore`'s work (the collector paused)."""
        heads: Mapping[str, LedgerHead] = self._settled_heads()
        elsewhere = frozenset(
            entry.slot_id for head in heads.values() if (entry := head.newest) is not None
            and entry.state == SlotState.CLAIMED and entry.outcome is None
            and (entry.owner in live or entry.slot_id in mine))
        current = {spec.job_id: spec for spec in self.config_jobs}
        known: set[str] = set()
        retired: list[tuple[str, str]] = []
        in_flight = 0
        chunk: list[dict[str, Any]] = []

        def send(records: list[dict[str, Any]]) -> None:
            ids = [str(record.get("job_id")) for record in records]
            self._ask_here(RestoreJobs(records, {job_id: heads[job_id] for job_id in ids if job_id in heads},
                                       elsewhere, {job_id: current[job_id] for job_id in ids if job_id in current}),
                           timeout=RESTORE_ASK_S)

        for stored in self.store.iter_jobs(RESTORE_CHUNK):
            record = self._settled_record(stored)
            job_id = str(record.get("job_id"))
            in_flight += bool(record.get("running"))
            if record.get("origin") != str(Origin.CONFIG) or job_id in current:
                chunk.append(record)
                known.add(job_id)
            else:
                retired.append((job_id, str(record.get("name"))))
            if len(chunk) >= RESTORE_CHUNK:
                send(chunk)
                chunk = []
        if chunk:
            send(chunk)
        if in_flight:
            log.warning("runs.in_flight", count=in_flight,
                        note="runs in flight when the server stopped: resumed, unless the run ledger shows them "
                             "finished")
        if retired:
            self.directory.tell_journal(SaveJobs((), tuple(job_id for job_id, _ in retired)))
            log.info("jobs.retired", count=len(retired), names=sorted({name for _, name in retired}),
                     note="config jobs no longer in the config files")
        new = [spec for spec in self.config_jobs if spec.job_id not in known]
        if new:
            self._ask_here(AddJobs(new, heads={spec.job_id: heads[spec.job_id] for spec in new
                                               if spec.job_id in heads}),
                           timeout=max(RESTORE_ASK_S, len(new) / 10_000))

    def _settled_heads(self: _System) -> dict[str, LedgerHead]:
        """The run ledger's heads, with the outcome of each run the ledger shows in flight taken from
        its stored result when there is one (the server died between storing a result and recording
        its outcome in the ledger: that run finished and must not be resumed). A stored
        ``interrupted`` result counts too (an earlier restart recorded it, then the server died
        before the ledger heard of it): the run is resumed, not recorded interrupted again."""
        ledger = self.state.ledger
        if ledger is None:
            return {}
        heads = ledger.ledger_heads()
        settled: list[Finished] = []
        for job_id, head in heads.items():
            entry = head.newest
            if entry is None or entry.outcome is not None or entry.index is None:
                continue
            stored = self._stored_result(job_id, entry.index, entry.attempt, interrupted=True)
            if stored is not None:
                outcome = str(stored["outcome"])
                settled.append(Finished(entry.slot_id, entry.attempt, outcome, float(stored.get("time") or 0.0)))
                heads[job_id] = dataclasses.replace(head, newest=dataclasses.replace(
                    entry, state=SlotState.DONE, outcome=outcome))
        if settled:
            ledger.record_slots(settled, ())
            log.info("ledger.settled", runs=len(settled),
                     note="results stored before the server stopped, whose outcome the ledger lacked")
        return heads

    def _stored_result(self: _System, job_id: str, index: Any, attempt: Any, *,
                       interrupted: bool = False) -> dict[str, Any] | None:
        """The stored final result (not ``interrupted``) of run *index* attempt *attempt*, if any;
        with *interrupted*, else its stored ``interrupted`` result, if any."""
        if not isinstance(index, int):
            return None
        found = self.store.find(Query(type="result", job_id=job_id, index=index, limit=1000)).items
        ended = [doc for doc in found if doc.get("attempt") == attempt and doc.get("outcome") is not None]
        final = next((doc for doc in ended if doc.get("outcome") != "interrupted"), None)
        return final if final is not None or not interrupted else next(iter(ended), None)

    def _settled_record(self: _System, record: dict[str, Any]) -> dict[str, Any]:
        """A record whose manual or backfill run in flight (no ledger entry tells about those) has a
        stored result: that run ended, so it is neither resumed nor recorded interrupted."""
        running = record.get("running")
        if not running or running.get("trigger") not in ("manual", "backfill"):
            return record
        if self._stored_result(str(record.get("job_id")), running.get("index"), running.get("attempt")) is None:
            return record
        return {**record, "running": None, "state": "scheduled" if record.get("state") == "running"
                else record.get("state")}


__all__ = ["RESTORE_CHUNK", "StoredJobs"]
