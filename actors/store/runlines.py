"""Task log lines travel and rest in batches: one document holds consecutive lines of one run.

Why a module: a task may log hundreds of thousands of lines a second. One Python dict, one
stored row and five index entries per line cost the journal about 15 us a line; a batch costs
well under 1 us a line. The batch is a shape of the write path only: every reader
(`Store.find`, ``read_after``, the live tail, ``iter_rows``) sees one ``reslog`` document per
line, each with its own ``seq``, exactly as if the lines had been inserted one by one.

A *line batch* is a ``reslog`` document with a ``lines`` list instead of ``time/level/logger/msg``::

    {"type": "reslog", "run_id": ..., "job_id": ..., "name": ..., "classname": ..., "index": ...,
     "attempt": ..., "lines": [[time, level, logger, msg], ...]}

and line *i* reads back as ``{"type": "reslog", "time": time, <every other field of the batch>,
"level": level, "logger": logger, "msg": msg}`` with ``seq`` = the batch's first seq + *i*.
Workers build them (`actors.rundocs.line_batches`); a store either keeps them packed (SQLite:
`actors.store.sqlite_runlines`) or expands them on insert (MongoDB).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

#: The key of a batch's lines.
LINES = "lines"
#: What each line of a batch is: [time, level, logger, msg].
LINE_FIELDS = ("time", "level", "logger", "msg")

Line = Sequence[Any]


def is_batch(doc: Mapping[str, Any]) -> bool:
    """True for a line batch (a ``reslog`` document carrying ``lines``)."""
    return doc.get("type") == "reslog" and type(doc.get(LINES)) in (list, tuple)


def weight(doc: Mapping[str, Any]) -> int:
    """How many stored documents *doc* is: its lines for a batch, else 1."""
    if doc.get("type") == "reslog":
        lines = doc.get(LINES)
        if type(lines) in (list, tuple):
            return len(lines)  # type: ignore[arg-type]
    return 1


def head_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every line of the batch *doc* shares (neither ``lines`` nor a caller's ``seq``/``time``)."""
    return {key: value for key, value in doc.items() if key not in (LINES, "seq", "_id", "time")}


def line_doc(head: Mapping[str, Any], line: Line, seq: int | None = None) -> dict[str, Any]:
    """One line of a batch as the ``reslog`` document readers see (with *seq* when given)."""
    if type(line) in (list, tuple) and len(line) == 4:
        t, level, logger, msg = line
    else:  # not [time, level, logger, msg]: kept whole as the message rather than lost
        t, level, logger, msg = None, None, None, line
    doc = {"type": "reslog", "time": t}
    doc.update(head)
    doc["level"], doc["logger"], doc["msg"] = level, logger, msg
    if seq is not None:
        doc["seq"] = seq
    return doc


def expand(doc: Mapping[str, Any], first_seq: int | None = None) -> list[dict[str, Any]]:
    """The per-line documents of the batch *doc* (seqs from *first_seq* on, when given)."""
    head = head_of(doc)
    lines = doc[LINES]
    if first_seq is None:
        return [line_doc(head, line) for line in lines]
    return [line_doc(head, line, first_seq + i) for i, line in enumerate(lines)]


def runs_by_key(lines: Sequence[Line]) -> Iterator[tuple[int | None, str | None, list[Line]]]:
    """Consecutive lines of the same (level, logger): ``(level, logger, lines)`` in order. A stored
    row holds one such run, so that level and logger filters stay exact per row."""
    if not lines:
        return
    first = lines[0]
    if all(type(line) in (list, tuple) and len(line) == 4 for line in lines):
        level, logger = first[1], first[2]
        if all(line[1] == level and line[2] == logger for line in lines):  # the common case: one run
            yield _key(level), _name(logger), list(lines)
            return
        for (level, logger), group in groupby(lines, key=itemgetter(1, 2)):
            yield _key(level), _name(logger), list(group)
        return
    for line in lines:  # odd lines: one row each (still read back whole by `line_doc`)
        ok = type(line) in (list, tuple) and len(line) == 4
        yield (_key(line[1]), _name(line[2]), [line]) if ok else (None, None, [line])


def _key(level: Any) -> int | None:
    return level if type(level) is int else None


def _name(logger: Any) -> str | None:
    return logger if type(logger) is str else None
