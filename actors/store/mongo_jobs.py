"""The job records of the MongoDB store: the collection ``<db_coll>_jobs``, one document per job id.

Why a module of its own: `actors.store.mongo.MongoStore` is about the capped documents
(results, log lines: seq numbering, the live tail, FerretDB's differences). The job records
the scheduler saves and restores are a plain collection keyed by job id, upserted in bulk and
read back once at start through one cursor; they are mixed into the store from here, as on
the embedded store (`actors.store.sqlite_jobs`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from bson.errors import InvalidDocument
from pymongo import ASCENDING, ReplaceOne
from pymongo.collection import Collection as MongoCollection

from actors.errors import StoreError

Doc = dict[str, Any]
_NO_ID = {"_id": False}
_BY_ID = [("_id", ASCENDING)]


class _Base(Protocol):
    """What the job records use of `actors.store.mongo.MongoStore`."""

    _where: str

    def _errors(self, action: str) -> AbstractContextManager[None]: ...

    def _jobs(self) -> MongoCollection[Doc]: ...


class MongoJobs:
    """`Store.save_jobs`, ``delete_jobs``, ``load_jobs`` and ``iter_jobs`` of the MongoDB store."""

    def save_jobs(self: _Base, jobs: Sequence[Mapping[str, Any]]) -> None:
        requests: list[ReplaceOne[Doc]] = []
        for position, job in enumerate(jobs):
            job_id = job.get("job_id")
            if not isinstance(job_id, str) or not job_id:
                raise StoreError(f"job record #{position} has no string 'job_id': {job_id!r}")
            record = {key: value for key, value in job.items() if key != "_id"}
            record["_id"] = job_id
            requests.append(ReplaceOne({"_id": job_id}, record, upsert=True))
        if requests:
            try:
                with self._errors("save_jobs"):
                    self._jobs().bulk_write(requests, ordered=True)  # ordered: the latest record wins
            except (InvalidDocument, OverflowError) as exc:
                raise StoreError(f"mongodb store {self._where}: a job record is not BSON-safe: {exc}") from exc

    def delete_jobs(self: _Base, job_ids: Sequence[str]) -> None:
        if job_ids:
            with self._errors("delete_jobs"):
                self._jobs().delete_many({"_id": {"$in": list(job_ids)}})

    def load_jobs(self: _Base) -> list[Doc]:
        with self._errors("load_jobs"):
            return list(self._jobs().find({}, projection=_NO_ID, sort=_BY_ID))

    def iter_jobs(self: _Base, batch: int = 5000) -> Iterator[Doc]:
        """Every job record through one cursor fetching *batch* at a time."""
        with self._errors("iter_jobs"):
            yield from self._jobs().find({}, projection=_NO_ID, sort=_BY_ID, batch_size=batch)


__all__ = ["MongoJobs"]
