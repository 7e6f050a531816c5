"""The run ledger: one entry per slot of a job that was started or missed, so no slot runs twice.

Job records are saved in batches and results are written by the Journal a little later, so
after a crash (SIGKILL, power loss) neither says for sure what already ran. The ledger does:
the Scheduler *claims* a slot in the store (a unique key, ``job_id@slot_ms``) before it
hands the run to a worker, and that claim is the commit point. What the ledger answers:

* a slot already claimed is never started again as a new run: an earlier life, or another
  instance, started it (`claim_allowed`);
* a later attempt of the same slot (a retry, a resume after an interruption) upgrades the
  entry, unless the slot's outcome is already final (success or cancelled);
* a claimed slot whose result is stored is never resumed: the Journal records the outcome
  in the ledger *before* it stores the result document (`outcome_updates`), so "result
  stored" implies "ledger knows"; a claimed entry without an outcome is a run that was in
  flight, resumed as attempt + 1 of the same slot;
* the misfire planner (`actors.misfire`) starts from the newest slot of a job in the
  ledger (`LedgerHead.last_slot`), never from memory; missed slots get entries too
  (state ``missed``; a counted span has one entry at its last slot, with ``count``);
* a backfill claims only slots with no entry or a ``missed`` one;
* with several instances on one store (`actors.lease`), every entry carries the leader's
  ``term`` (a fencing token): a claim never takes over an entry of a newer term, so a
  leader that lost its lease cannot upgrade what its successor claimed.

Entries live in a normal table/collection beside the job records, never in the capped
collection (eviction would lose the newest slot). `LedgerStore` is what a store offers;
both backends (`actors.store.sqlite`, `actors.store.mongo`) apply the same pure rule here.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from actors.jobs import Outcome, Trigger
from actors.slots import slot_id


class SlotState(enum.StrEnum):
    """What the ledger knows of one slot."""

    MISSED = "missed"  # fell due while nothing could run it; recorded by the misfire planner
    CLAIMED = "claimed"  # a run of it was handed to a worker; no outcome stored yet
    DONE = "done"  # the outcome of its latest attempt is stored


#: Outcomes after which a slot is never run again (no retry, no resume).
FINAL_OUTCOMES = frozenset({str(Outcome.SUCCESS), str(Outcome.CANCELLED)})
#: Triggers that run another attempt of a slot already claimed.
NEXT_ATTEMPT_TRIGGERS = frozenset({str(Trigger.RETRY), str(Trigger.RESUME)})


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One slot of one job in the ledger (``count`` > 1: a span of missed slots ending here)."""

    job_id: str
    slot: float
    state: str
    attempt: int = 0
    index: int | None = None
    trigger: str = str(Trigger.SCHEDULE)
    outcome: str | None = None
    owner: str = ""
    at: float = 0.0
    count: int = 1
    term: int = 0  # the leader's term when claimed (0: a single instance, no lease)

    @property
    def slot_id(self) -> str:
        """``job_id@epoch_ms``: the entry's key."""
        return slot_id(self.job_id, self.slot)

    @property
    def ran(self) -> bool:
        """True for an entry of a run (claimed or done), False for a missed slot."""
        return self.state != SlotState.MISSED

    @property
    def finished(self) -> bool:
        """True when the latest attempt's outcome is stored and is not ``interrupted``."""
        return self.outcome is not None and self.outcome != Outcome.INTERRUPTED

    def to_fields(self) -> dict[str, Any]:
        """The stored fields (every backend uses these names)."""
        return {"job_id": self.job_id, "slot": self.slot, "state": self.state, "attempt": self.attempt,
                "idx": self.index, "trigger": self.trigger, "outcome": self.outcome, "owner": self.owner,
                "at": self.at, "count": self.count, "term": self.term}

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> LedgerEntry:
        """Rebuild an entry from `to_fields` output (as read back from a store)."""
        return cls(job_id=str(fields["job_id"]), slot=float(fields["slot"]), state=str(fields["state"]),
                   attempt=int(fields.get("attempt") or 0),
                   index=None if fields.get("idx") is None else int(fields["idx"]),
                   trigger=str(fields.get("trigger") or Trigger.SCHEDULE), outcome=fields.get("outcome"),
                   owner=str(fields.get("owner") or ""), at=float(fields.get("at") or 0.0),
                   count=int(fields.get("count") or 1), term=int(fields.get("term") or 0))


@dataclass(frozen=True, slots=True)
class Claim:
    """A run about to be dispatched: claim its slot (attempt *attempt*) for *owner*."""

    job_id: str
    slot: float
    index: int
    attempt: int
    trigger: str
    owner: str
    at: float
    term: int = 0  # the leader's term (`actors.lease`); 0 for a single instance

    @property
    def slot_id(self) -> str:
        """The key of the slot claimed."""
        return slot_id(self.job_id, self.slot)

    def entry(self) -> LedgerEntry:
        """The entry this claim writes."""
        return LedgerEntry(job_id=self.job_id, slot=self.slot, state=SlotState.CLAIMED, attempt=self.attempt,
                           index=self.index, trigger=self.trigger, owner=self.owner, at=self.at, term=self.term)


def claim_allowed(existing: LedgerEntry, claim: Claim) -> bool:
    """May *claim* take a slot that already has the entry *existing*? The one rule of every store.

    * the same claim again (same owner, index and attempt: a write retried after a lost
      reply) is allowed;
    * a backfill may take a slot recorded ``missed``;
    * a retry or resume may take a later attempt of a slot whose outcome is not final;
    * anything else is refused: the slot was started already (or recorded missed);
    * and never an entry of a newer term than the claim's (a newer leader's).
    """
    if existing.owner == claim.owner and existing.index == claim.index and existing.attempt == claim.attempt \
            and existing.state == SlotState.CLAIMED:
        return True
    if claim.term < existing.term:
        return False
    if existing.state == SlotState.MISSED:
        return claim.trigger == Trigger.BACKFILL
    return (claim.trigger in NEXT_ATTEMPT_TRIGGERS and claim.attempt > existing.attempt
            and existing.outcome not in FINAL_OUTCOMES)


@dataclass(frozen=True, slots=True)
class Finished:
    """The outcome of attempt *attempt* of a claimed slot (from a stored result document)."""

    slot_id: str
    attempt: int
    outcome: str
    at: float


def outcome_updates(docs: Iterable[Mapping[str, Any]]) -> tuple[list[Finished], list[LedgerEntry]]:
    """The ledger writes that result documents imply: outcomes of runs, and missed slots.

    Only ``result`` documents with a ``slot`` count (a manual run has none). A missed
    document becomes a ``missed`` entry (a span: one entry at its last slot with its count).
    """
    finished: list[Finished] = []
    missed: list[LedgerEntry] = []
    for doc in docs:
        slot = doc.get("slot")
        if doc.get("type") != "result" or not isinstance(slot, int | float) or isinstance(slot, bool):
            continue
        job_id, outcome = str(doc.get("job_id")), str(doc.get("outcome"))
        at = float(doc.get("time") or 0.0)
        if outcome == Outcome.MISSED:
            missed.append(LedgerEntry(job_id=job_id, slot=float(slot), state=SlotState.MISSED, at=at,
                                      trigger=str(doc.get("trigger") or Trigger.SCHEDULE),
                                      count=int(doc.get("count") or 1)))
        else:
            finished.append(Finished(slot_id(job_id, float(slot)), int(doc.get("attempt") or 0), outcome, at))
    return finished, missed


@dataclass(frozen=True, slots=True)
class LedgerHead:
    """What a restart needs of one job's ledger, read in one query for every job.

    ``last_slot``: the newest slot with any entry (run or missed), where misfire planning
    starts. ``max_index``: the highest run index claimed (a lost job record cannot make
    ``max_runs`` / ``only_once`` run again). ``newest``: the entry of the newest slot that
    was run on schedule (not a backfill), to tell whether the job record lags behind it.
    """

    job_id: str
    last_slot: float
    max_index: int | None
    newest: LedgerEntry | None


@runtime_checkable
class LedgerStore(Protocol):
    """The ledger operations a store offers (SQLite: a table; MongoDB: a collection)."""

    def claim_slots(self, claims: Sequence[Claim]) -> dict[str, LedgerEntry]:
        """Claim every slot that `claim_allowed` lets us take, in one write; return the
        refused ones (slot id -> the entry that stands in the way)."""

    def record_slots(self, finished: Sequence[Finished], missed: Sequence[LedgerEntry]) -> set[str]:
        """Store outcomes of claimed slots (only where the entry's attempt matches) and insert
        missed entries (an existing entry wins); return the slot ids of missed entries added."""

    def ledger_heads(self, job_ids: Collection[str] | None = None) -> dict[str, LedgerHead]:
        """Each job's `LedgerHead` (of *job_ids*, or of every job with an entry)."""

    def slot_entries(self, job_id: str, after: float, upto: float) -> dict[str, LedgerEntry]:
        """Entries of *job_id* with a slot in (after, upto], by slot id."""

    def prune_ledger(self, before: float) -> int:
        """Delete entries of slots older than *before*, except each job's newest entry and newest
        run entry; return how many went."""
