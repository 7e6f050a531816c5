"""`LogBudget`: how many log lines and bytes one run may store; the rest is counted, not kept.

Why a module of its own: a task that prints a gigabyte must not take the server with it. The
worker subprocess applies the budget before its pipe (so the flood never crosses it) and the
worker actor applies it again on what arrives (the subprocess runs task code and is not
trusted). Beyond the budget, lines are dropped and counted; when the run ends, one line and
one note say how many were dropped. A single line longer than `MAX_LINE_CHARS` is cut.

Pure and thread-safe (the subprocess logs from any thread of the task).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

#: Longest log line kept, characters (the rest of a longer line is cut, and says so).
MAX_LINE_CHARS = 16_384


@dataclass(slots=True)
class _Spent:
    lines: int = 0
    chars: int = 0
    dropped_lines: int = 0
    dropped_chars: int = 0


def cut_line(message: str) -> str:
    """*message* cut to `MAX_LINE_CHARS`, saying how much was cut."""
    if len(message) <= MAX_LINE_CHARS:
        return message
    return f"{message[:MAX_LINE_CHARS]}... [{len(message) - MAX_LINE_CHARS} characters cut]"


class LogBudget:
    """Per-run counters against ``max_lines`` and ``max_chars`` (0 = unlimited)."""

    def __init__(self, max_lines: int, max_chars: int) -> None:
        self.max_lines = max_lines
        self.max_chars = max_chars
        self._runs: dict[str, _Spent] = {}
        self._lock = threading.Lock()

    def set_limits(self, max_lines: int, max_chars: int) -> None:
        """New limits, from the next line on (a live option changed)."""
        with self._lock:
            self.max_lines, self.max_chars = max_lines, max_chars

    def admit(self, run_id: str, message: str) -> str | None:
        """The line to keep for *run_id* (cut if too long), or None when it is over the budget."""
        line = cut_line(message)
        with self._lock:
            spent = self._runs.get(run_id)
            if spent is None:
                spent = self._runs[run_id] = _Spent()
            if (self.max_lines and spent.lines >= self.max_lines) or (
                    self.max_chars and spent.chars + len(line) > self.max_chars):
                spent.dropped_lines += 1
                spent.dropped_chars += len(message)
                return None
            spent.lines += 1
            spent.chars += len(line)
            return line

    def admit_records(self, records: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """`admit` for many records ``(run_id, time, level, logger, message)`` under one lock:
        those kept (messages cut if too long, a non-str one as its ``str``), in order."""
        kept: list[tuple[Any, ...]] = []
        max_lines, max_chars = self.max_lines, self.max_chars
        with self._lock:
            runs = self._runs
            run_id: Any = None
            spent = _Spent()
            for record in records:
                if record[0] != run_id:
                    run_id = record[0]
                    spent = runs.get(run_id) or runs.setdefault(run_id, _Spent())
                message = record[4] if isinstance(record[4], str) else str(record[4])
                line = message if len(message) <= MAX_LINE_CHARS else cut_line(message)
                if (max_lines and spent.lines >= max_lines) or (max_chars and spent.chars + len(line) > max_chars):
                    spent.dropped_lines += 1
                    spent.dropped_chars += len(message)
                    continue
                spent.lines += 1
                spent.chars += len(line)
                kept.append(record if line is record[4] else (*record[:4], line))
        return kept

    def end_run(self, run_id: str) -> tuple[int, int]:
        """Forget *run_id*; ``(lines, characters)`` dropped from it."""
        with self._lock:
            spent = self._runs.pop(run_id, None)
        return (0, 0) if spent is None else (spent.dropped_lines, spent.dropped_chars)

    def note(self, lines: int, chars: int) -> str | None:
        """The note (and log line) saying that *lines* were dropped, None when none were."""
        if lines <= 0:
            return None
        return (f"logs: {lines} lines ({chars} characters) dropped: over the budget of "
                f"{self.max_lines or 'unlimited'} lines / {self.max_chars or 'unlimited'} characters per run "
                "(options log_max_lines, log_max_bytes)")

    def retain(self, run_ids: Collection[str]) -> None:
        """Forget the counters of every run but *run_ids* (late lines of finished runs)."""
        with self._lock:
            for run_id in [r for r in self._runs if r not in run_ids]:
                del self._runs[run_id]

    def running(self) -> int:
        """Runs with counters (for tests: nothing leaks)."""
        with self._lock:
            return len(self._runs)


__all__ = ["MAX_LINE_CHARS", "LogBudget", "cut_line"]
