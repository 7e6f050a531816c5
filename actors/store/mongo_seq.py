"""The capped collection's ``seq`` numbers, in blocks each writer claims with a unique insert.

Why a module of its own: a document's ``seq`` is also its ``_id``, and a duplicate ``_id`` is
how `actors.store.mongo.MongoStore.insert` recognises a batch it already stored (a retry
after a lost reply), so it is counted as stored and not written again. With one writer a
counter in memory, started at the newest stored ``seq``, was enough. With several servers on
one database (`actors.lease`: the leader writes results, every instance its log lines, a
leader that stepped down the results of its last runs) two counters hand out the same
numbers, and one writer's documents would be taken for the other's and dropped.

A counter document bumped with ``$inc`` is not the answer everywhere: FerretDB 1.24 (SQLite
backend) applies ``findAndModify``/``update`` as a read then a write, not atomically (four
threads doing 800 ``$inc`` left the counter at 192, measured). A unique insert is atomic on
every server, so each writer claims a *block* of `BLOCK` numbers by inserting the block's
index into ``<db_coll>_seqblocks`` (a duplicate key: another writer has it, try the next).
A writer takes a fresh block when its block is spent or older than `MAX_BLOCK_AGE_S`, so
numbers follow time across writers to within that age; within one writer they only grow.
A live tail reading "after seq N" may pass over another writer's documents of that last
second; one writer's never.
"""

from __future__ import annotations

import time
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from actors.errors import StoreError

Doc = dict[str, Any]
#: Numbers per block.
BLOCK = 4096
#: A block older than this is left for a fresh one (keeps the writers' numbers in time order).
MAX_BLOCK_AGE_S = 1.0
#: Claimed blocks kept in the collection (older ones are deleted now and then).
KEEP_BLOCKS = 1000
#: Most attempts to claim a block before giving up (each a duplicate key: a crowd of writers).
MAX_ATTEMPTS = 64


class SeqBlocks:
    """One writer's current block; `take` hands out numbers, claiming blocks as needed."""

    def __init__(self, db_coll: str, writer: str) -> None:
        self.db_coll = db_coll
        self.writer = writer
        self._next = 1
        self._end = 0  # the block is spent when _next > _end
        self._claimed_at = 0.0
        self._claims = 0

    def take(self, db: Database[Doc], count: int, at_least: int) -> list[int]:
        """*count* fresh numbers, all above *at_least* (the newest stored seq when the store opened)."""
        out: list[int] = []
        while len(out) < count:
            if self._next > self._end or time.monotonic() - self._claimed_at > MAX_BLOCK_AGE_S:
                self._claim(db, at_least)
            n = min(count - len(out), self._end - self._next + 1)
            out.extend(range(self._next, self._next + n))
            self._next += n
        return out

    def _claim(self, db: Database[Doc], at_least: int) -> None:
        blocks = db[self.db_coll + "_seqblocks"]
        newest = blocks.find_one({}, sort=[("_id", DESCENDING)])
        index = max(int(newest["_id"]) + 1 if newest is not None else 0, at_least // BLOCK + 1)
        for _ in range(MAX_ATTEMPTS):
            try:
                blocks.insert_one({"_id": index, "by": self.writer, "at": time.time()})
            except DuplicateKeyError:
                index += 1
                continue
            self._next, self._end = index * BLOCK + 1, (index + 1) * BLOCK
            self._claimed_at = time.monotonic()
            self._claims += 1
            if self._claims % KEEP_BLOCKS == 0:
                blocks.delete_many({"_id": {"$lt": index - KEEP_BLOCKS}})
            return
        raise StoreError(f"no block of seq numbers could be claimed in {MAX_ATTEMPTS} attempts "
                         f"({self.db_coll}_seqblocks is contended)")
