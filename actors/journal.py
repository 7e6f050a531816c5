"""Journal actor: the one writer of the store. Batches results, task logs, system logs and job records.

Everything that must be stored arrives here by ``tell``: run results and task log lines
from the workers, system log lines from the logging sink, job records from the
scheduler. The Journal buffers them and writes a batch when the buffer is large or when
the flush interval has passed: one ``insert`` per batch, never one per document.

When the store fails, nothing is lost silently: the batch stays buffered, writes are
retried with exponential backoff, one warning is logged per outage (not per document),
and only when the buffer passes its bound (``journal_buffer``) are the oldest documents
dropped, counted in ``dropped``.

Every `STORE_CHECK_S` it asks the store whether its file is still the one opened
(`actors.store.sqlite_file`): a deleted SQLite file is recreated from what the open
connection still sees, then the scheduler saves every job record again; a file that cannot be
recovered is reported (``store_problem``, and ``/healthz`` says 503).

Task log lines arrive as line batches (`actors.store.runlines`: one document holding many
consecutive lines of a run) and go to the store as they are; every count here (the buffer, its
bound, the batch size, ``written``, ``dropped``) is in lines, whatever the documents carrying them.

Task log lines are also echoed to stdout as JSON (logger ``das_actors.task``) so that a
log shipper sees them without reading the store.

The Journal also keeps the run ledger (`actors.ledger`) in step with the results it
writes, in this order per batch: the slots recorded ``missed`` go to the ledger first (a
missed document whose slot the ledger already had is not stored twice), then the
documents are inserted, then the outcomes of the runs in them go to the ledger: handed to
the Scheduler (`OutcomesStored`), which writes them between its claims (`actors.slotkeeper`;
written here when the Scheduler is not there, as at shutdown). A crash between the last two
leaves results stored whose outcome the ledger lacks; a restart settles those from the stored
results before it decides anything (`actors.jobrestore`), so a run stored as finished is never
resumed, and no stored result is lost for the ledger's sake.

While the Scheduler hands out a burst of due runs (`actors.pressure.DispatchPressure.backlog`:
a herd), the timer's writes wait, at most `HOLD_MAX_S` and not past half the buffer: in one
Python process they take the GIL the dispatches need. An explicit flush (shutdown, a script's
run) never waits.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pykka
import structlog

from actors.errors import StoreError, StoreUnavailableError
from actors.gcpause import trim_heap
from actors.jsonsafe import sanitize
from actors.ledger import Finished, LedgerStore, outcome_updates
from actors.logecho import EchoThread
from actors.messages import (
    ChildFailed,
    Flush,
    GetStatus,
    Housekeep,
    OutcomesStored,
    PruneLedger,
    Records,
    SaveJobs,
    SaveNow,
)
from actors.pressure import DispatchPressure
from actors.routing import Directory, TimerHandle, tell_later
from actors.slots import slot_id
from actors.store.base import Store
from actors.store.runlines import weight

log = structlog.get_logger("das_actors.journal")

#: Write when this many documents are buffered, without waiting for the interval.
BATCH_SIZE = 5000
#: While a burst of due runs is handed out, the timer's writes wait (re-checked every HOLD_RETRY_S) ...
HOLD_RETRY_S = 0.01
#: ... at most this long at a time.
HOLD_MAX_S = 0.5
#: Seconds between two checks that the store's file is still the one opened.
STORE_CHECK_S = 1.0
#: After writing at least this many job records at once (a chunk of a bulk save: a fresh start
#: or a restore saves 10,000 a tick), glibc is asked to hand the freed memory back (`trim_heap`).
TRIM_AFTER_RECORDS = 5000
#: Backoff between write attempts while the store is down.
RETRY_MIN_S = 0.2
RETRY_MAX_S = 10.0


@dataclass(frozen=True, slots=True)
class JournalConfig:
    """Buffer bound and flush cadence."""

    buffer_limit: int = 100_000
    flush_interval_s: float = 0.05
    echo_task_logs: bool = True


class Journal(pykka.ThreadingActor):
    """Batches documents into the store; see the module docstring."""

    def __init__(self, store: Store, config: JournalConfig, directory: Directory,
                 pressure: DispatchPressure | None = None) -> None:
        super().__init__()
        self._store = store
        self._pressure = pressure
        self._held_since: float | None = None  # monotonic: the timer's flush gives way to a burst since
        self._config = config
        self._dir = directory
        self._docs: deque[Mapping[str, Any]] = deque()
        self._buffered = 0  # lines in _docs (a line batch weighs its lines, any other document 1)
        self._jobs: dict[str, Mapping[str, Any] | None] = {}  # job_id -> record, None = delete
        self._timer: TimerHandle | None = None
        self._retry_s = 0.0
        self._outage_since: float | None = None
        self._echo_thread: EchoThread | None = None
        self._ledger = store if isinstance(store, LedgerStore) else None
        self._in_ledger: set[int] = set()  # id() of buffered missed documents already in the ledger
        self._outcomes: list[Finished] = []  # outcomes of stored results, not yet in the ledger
        self.written = 0
        self.dropped = 0
        self.failed_writes = 0
        self._checker: TimerHandle | None = None
        self.store_problem: str | None = None
        self.store_recoveries = 0

    def on_start(self) -> None:
        """Actor thread: start checking that the store's file is still there (`STORE_CHECK_S`)."""
        self._checker = tell_later(self.actor_ref, STORE_CHECK_S, Housekeep())

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """Actor thread, after an unhandled exception: tell the supervisor (which restarts us)."""
        self._dir.tell_supervisor(ChildFailed("journal", 0, f"{exception_type.__name__}: {exception_value}"))

    def on_stop(self) -> None:
        """Actor thread: last flush before the store is closed."""
        if self._timer is not None:
            self._timer.cancel()
        if self._checker is not None:
            self._checker.cancel()
        self._flush()
        if self._echo_thread is not None:
            self._echo_thread.close()

    def on_receive(self, message: Any) -> Any:
        """Actor thread: buffer, flush on size or on the timer, answer stats and flush requests."""
        if isinstance(message, Records):
            self._docs.extend(message.docs)
            self._buffered += sum(map(weight, message.docs))
            if self._config.echo_task_logs:
                self._echo(message.docs)
            self._bound()
            if self._buffered >= BATCH_SIZE and self._outage_since is None and not self._give_way():
                self._flush()
            else:
                self._arm(self._config.flush_interval_s)
        elif isinstance(message, SaveJobs):
            for record in message.records:
                self._jobs[str(record["job_id"])] = record
            for job_id in message.deleted:
                self._jobs[job_id] = None
            self._arm(self._config.flush_interval_s)
        elif isinstance(message, Flush):
            self._timer = None
            if message.timer and self._give_way():
                self._arm(HOLD_RETRY_S)
                return self.stats()
            return self._flush()
        elif isinstance(message, PruneLedger):
            self._prune_ledger(message.before)
        elif isinstance(message, GetStatus):
            return self.stats()
        elif isinstance(message, Housekeep):
            self._check_store()
            self._checker = tell_later(self.actor_ref, STORE_CHECK_S, Housekeep())
        return None

    def _check_store(self) -> None:
        """The store's own check (the SQLite file still the one opened); a deleted file is
        recreated from what the open connection still sees, then every job record is saved
        again (the scheduler's memory wins over anything the copy missed)."""
        check = getattr(self._store, "problem", None)
        problem = check() if check is not None else None
        if problem is None:
            self.store_problem = None
            return
        try:
            how = self._store.recover()  # type: ignore[attr-defined]  # only stores with problem() have it
        except Exception as exc:  # noqa: BLE001 - not recoverable now: reported by health, retried next tick
            if self.store_problem is None:
                log.error("store.file_lost", problem=problem, recovery=f"{type(exc).__name__}: {exc}")
            self.store_problem = problem
            return
        self.store_recoveries += 1
        self.store_problem = None
        log.warning("store.file_recreated", problem=problem, how=how)
        self._dir.tell_scheduler(SaveNow(all_jobs=True))
        self._arm(self._config.flush_interval_s)

    def stats(self) -> dict[str, Any]:
        """Counts for the panel and metrics: written, buffered, dropped, failed writes, outage."""
        return {"written": self.written, "buffered": self._buffered, "dropped": self.dropped,
                "failed_writes": self.failed_writes, "pending_jobs": len(self._jobs),
                "outage_since": self._outage_since, "store_problem": self.store_problem,
                "store_recoveries": self.store_recoveries}

    # ------------------------------------------------------------------ internals
    def _bound(self) -> None:
        """Drop the oldest lines past ``journal_buffer`` (a batch cut at its front if need be)."""
        excess = self._buffered - self._config.buffer_limit
        if excess > 0:
            left = excess
            while left > 0 and self._docs:
                first = self._docs[0]
                size = weight(first)
                if size <= left:
                    self._docs.popleft()
                    left -= size
                else:  # keep the newest lines of the oldest batch
                    self._docs[0] = {**first, "lines": list(first["lines"])[left:]}
                    left = 0
            excess -= left
            self._buffered -= excess
            self.dropped += excess
            log.error("journal.dropped", count=excess, total_dropped=self.dropped,
                      reason=f"buffer over journal_buffer={self._config.buffer_limit} while the store is down")

    def _arm(self, delay_s: float) -> None:
        if self._timer is None:
            self._timer = tell_later(self.actor_ref, delay_s, Flush(timer=True))

    def _give_way(self) -> bool:
        """Hold the writes back while the scheduler hands out a burst of due runs (`DispatchPressure.
        backlog`): they take the GIL its dispatches need. At most `HOLD_MAX_S` at a time, and not
        past half the buffer; the writes are whole, only later."""
        if self._pressure is None or not self._pressure.backlog or self._buffered >= self._config.buffer_limit // 2:
            self._held_since = None
            return False
        now = time.monotonic()
        if self._held_since is None:
            self._held_since = now
        if now - self._held_since >= HOLD_MAX_S:
            self._held_since = None
            return False
        return True

    def _flush(self) -> dict[str, Any]:
        """Write jobs then documents; on failure keep everything and retry with backoff."""
        try:
            if self._jobs:
                jobs = self._jobs
                upserts = [r for r in jobs.values() if r is not None]
                deletes = [job_id for job_id, r in jobs.items() if r is None]
                if upserts:
                    self._store.save_jobs(upserts)
                if deletes:
                    self._store.delete_jobs(deletes)
                self._jobs = {}
                if len(upserts) >= TRIM_AFTER_RECORDS:
                    del jobs, upserts
                    trim_heap()  # a chunk of a bulk save: its records' memory back to the system
            self._write_outcomes()
            while self._docs:
                batch = self._take_batch()
                try:
                    batch = self._missed_to_ledger(batch)
                except BaseException:
                    self._put_back(batch)
                    raise
                try:
                    self.written += self._store.insert(batch)
                except StoreUnavailableError:
                    self._put_back(batch)
                    raise
                except StoreError as exc:  # not an outage: some document cannot be stored as it is
                    self._insert_one_by_one(batch, exc)
                except BaseException:
                    self._put_back(batch)
                    raise
                self._in_ledger.difference_update(id(doc) for doc in batch)
                if self._ledger is not None:
                    self._outcomes.extend(outcome_updates(batch)[0])
                    self._write_outcomes()
        except Exception as exc:  # noqa: BLE001 - any store failure means: keep, back off, retry
            self.failed_writes += 1
            if self._outage_since is None:
                self._outage_since = time.time()
                log.warning("store.outage", error=f"{type(exc).__name__}: {exc}", buffered=len(self._docs),
                            note="buffering and retrying; one warning per outage")
            self._retry_s = min(RETRY_MAX_S, max(RETRY_MIN_S, self._retry_s * 2))
            self._arm(self._retry_s)
            return self.stats()
        if self._outage_since is not None:
            log.warning("store.recovered", outage_s=round(time.time() - self._outage_since, 3),
                        written=self.written, dropped=self.dropped)
            self._outage_since = None
        self._retry_s = 0.0
        return self.stats()

    def _take_batch(self) -> list[Mapping[str, Any]]:
        """The oldest buffered documents, about `BATCH_SIZE` lines of them (one document at least)."""
        batch: list[Mapping[str, Any]] = []
        lines = 0
        docs = self._docs
        while docs and lines < BATCH_SIZE:
            doc = docs.popleft()
            batch.append(doc)
            lines += weight(doc)
        self._buffered -= lines
        return batch

    def _put_back(self, batch: list[Mapping[str, Any]]) -> None:
        """Return *batch* to the front of the buffer (the insert failed: retried later, same objects)."""
        self._docs.extendleft(reversed(batch))
        self._buffered += sum(map(weight, batch))

    def _missed_to_ledger(self, batch: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Record the missed slots of *batch* in the ledger (once per document, even when the insert
        that follows fails and is retried); drop the missed documents whose slot the ledger had."""
        fresh = [doc for doc in batch if doc.get("outcome") == "missed" and id(doc) not in self._in_ledger]
        if self._ledger is None or not fresh:
            return batch
        _, missed = outcome_updates(fresh)
        known = {entry.slot_id for entry in missed} - self._ledger.record_slots((), missed)
        if known:
            batch = [doc for doc in batch if not (id(doc) not in self._in_ledger and doc.get("outcome") == "missed"
                                                  and _slot_id_of(doc) in known)]
        self._in_ledger.update(id(doc) for doc in fresh)
        return batch

    def _write_outcomes(self) -> None:
        """The outcomes of stored results to the ledger: handed to the Scheduler, which writes the
        ledger between dispatches (`actors.slotkeeper`); written here only when it is not there
        (stopped first at shutdown, or restarting), kept and retried while the store fails."""
        if not self._outcomes or self._ledger is None:
            return
        scheduler = self._dir.scheduler
        if scheduler is not None:
            try:
                scheduler.tell(OutcomesStored(tuple(self._outcomes)))
            except pykka.ActorDeadError:
                pass
            else:
                self._outcomes = []
                return
        self._ledger.record_slots(self._outcomes, ())
        self._outcomes = []

    def _prune_ledger(self, before: float) -> None:
        if self._ledger is None:
            return
        try:
            removed = self._ledger.prune_ledger(before)
        except StoreError as exc:
            log.warning("ledger.prune_failed", error=str(exc), note="tried again in an hour")
            return
        if removed:
            log.info("ledger.pruned", removed=removed, before=before)

    def _insert_one_by_one(self, batch: list[Mapping[str, Any]], error: Exception) -> None:
        """Find the documents the store refuses; store each as a stringified stand-in with a note.

        A poison document must never block the queue behind it (it would be retried forever).
        """
        for doc in batch:
            try:
                self.written += self._store.insert([doc])
                continue
            except StoreUnavailableError:
                raise
            except StoreError as exc:
                notes: list[str] = []
                stand_in = {k: sanitize(v, notes, k) for k, v in doc.items() if isinstance(k, str)}
                stand_in = {**stand_in, "type": str(doc.get("type", "log")), "notes": [
                    *(stand_in.get("notes") or []), f"stored stringified: the store refused it ({exc})", *notes]}
                try:
                    self.written += self._store.insert([stand_in])
                except StoreError:
                    self.dropped += weight(doc)
                    log.error("journal.unstorable", type=doc.get("type"), job_id=doc.get("job_id"), error=str(exc))
        log.warning("journal.batch_repaired", size=len(batch), error=str(error))

    def _echo(self, docs: Any) -> None:
        """Hand task log lines to the echo thread (stdout JSON, logger ``das_actors.task``)."""
        lines = [doc for doc in docs if doc.get("type") == "reslog"]
        if lines:
            if self._echo_thread is None:
                self._echo_thread = EchoThread()
            self._echo_thread.put(lines)


def _slot_id_of(doc: Mapping[str, Any]) -> str:
    return slot_id(str(doc.get("job_id")), float(doc.get("slot") or 0.0))
