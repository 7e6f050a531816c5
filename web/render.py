"""Mako rendering with escaping on by default, and the small formatters the templates use.

One `TemplateLookup` with ``default_filters=["h"]`` (every ``${...}`` is HTML-escaped,
task results and log lines included) and ``strict_undefined=True`` (a missing variable
is an error, not an empty string). Nothing here marks text safe: templates never use
``| n``. Data for JavaScript goes in ``data-`` attributes (escaped JSON) or the API.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from mako.lookup import TemplateLookup

from actors import __version__

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

LOOKUP = TemplateLookup(directories=[str(TEMPLATES)], default_filters=["h"], strict_undefined=True,
                        input_encoding="utf-8")

#: The menu: (path under the base, label).
NAV = (("", "Overview"), ("schedule", "Schedule"), ("running", "Running"), ("results", "Results"),
       ("data", "Data"), ("scripts", "Scripts"), ("actions", "Actions"), ("logs", "Logs"), ("control", "Control"),
       ("reports", "Reports"), ("help", "Help"))

#: Most characters of one JSON document a page shows (the rest is said, not shown).
PAGE_JSON_CHARS = 200_000


@dataclass
class PageContext:
    """What every page needs besides its own data (the layout reads it)."""

    base: str  # the script name, ending with "/"
    section: str  # the NAV entry to highlight
    csrf: str
    read_only: bool
    login: bool  # a token is configured (show "log out")
    here: str  # this page, relative to base (where forms come back to)
    flash: list[tuple[str, str]] = field(default_factory=list)
    now: float = field(default_factory=time.time)
    version: str = __version__
    #: What this client may do: ``admin``, ``read`` (the read-only token), None (not logged in).
    role: str | None = None
    #: The server-wide read-only switch (``web_read_only``); `read_only` is it or the read role.
    server_read_only: bool = False
    #: Seconds between live refreshes of the page's changing parts (0 = off).
    refresh_s: float = 0.0
    #: ``host:port`` when the panel listens beyond loopback with no token (a banner says so).
    exposed_on: str | None = None

    @property
    def nav(self) -> tuple[tuple[str, str], ...]:
        """The menu entries."""
        return NAV

    def url(self, path: str = "", **params: Any) -> str:
        """*path* under the base, with the non-empty *params* as a query string."""
        query = urlencode([(k, v) for k, v in params.items() if v is not None and v != ""])
        return self.base + path.lstrip("/") + ("?" + query if query else "")

    def job_url(self, job_id: str) -> str:
        """The Job page of *job_id*."""
        return self.url("jobs/" + quote(str(job_id), safe=""))

    def run_url(self, job_id: str, index: Any, attempt: Any = None) -> str:
        """The Run page of run *index* (latest attempt unless given) of *job_id*."""
        return self.url(f"runs/{quote(str(job_id), safe='')}/{quote(str(index), safe='')}", attempt=attempt)


def render(template: str, page: PageContext, **values: Any) -> str:
    """Render *template* with the page context ``c`` and the helpers ``f``."""
    return str(LOOKUP.get_template(template).render(c=page, f=Formatters(page.now), **values))


class Formatters:
    """Text for times, durations and documents (all output is escaped by the template)."""

    def __init__(self, now: float) -> None:
        self.now = now

    @staticmethod
    def when(epoch: Any) -> str:
        """``2026-11-23 04:30:01Z`` (UTC); '-' for nothing; the raw number if out of range."""
        if epoch is None or isinstance(epoch, bool) or not isinstance(epoch, int | float):
            return "-" if epoch is None else str(epoch)
        try:
            return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        except (OverflowError, OSError, ValueError):
            return f"{epoch:g}"

    @staticmethod
    def iso(epoch: Any) -> str:
        """``2026-11-23T04:30:01Z`` for a ``<time datetime>`` attribute; "" for nothing or out of range."""
        if epoch is None or isinstance(epoch, bool) or not isinstance(epoch, int | float):
            return ""
        try:
            return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (OverflowError, OSError, ValueError):
            return ""

    def rel(self, epoch: Any) -> str:
        """``in 5 s``, ``3 min ago``, ``in 2 h 10 min``, ``4 d ago``; ``now`` within half a second."""
        if epoch is None or isinstance(epoch, bool) or not isinstance(epoch, int | float):
            return ""
        delta = float(epoch) - self.now
        if not math.isfinite(delta):
            return ""
        if abs(delta) < 0.5:
            return "now"
        text = self.span(abs(delta))
        return f"in {text}" if delta >= 0 else f"{text} ago"

    @staticmethod
    def span(seconds: float) -> str:
        """A coarse span for relative times: ``5 s``, ``3 min``, ``2 h 10 min``, ``4 d 3 h``."""
        if not math.isfinite(seconds) or seconds > 1e12:
            return f"{seconds:g} s"
        whole = round(seconds)
        if whole < 60:
            return f"{whole} s"
        minutes = whole // 60
        if minutes < 60:
            return f"{minutes} min"
        hours, minutes = divmod(minutes, 60)
        if hours < 24:
            return f"{hours} h {minutes} min" if minutes else f"{hours} h"
        days, hours = divmod(hours, 24)
        return f"{days} d {hours} h" if hours else f"{days} d"

    @staticmethod
    def dur(seconds: Any, *, precise: bool = True) -> str:
        """``0.123s``, ``42s``, ``3m 5s``, ``2h 10m``, ``4d 3h``."""
        if seconds is None or isinstance(seconds, bool) or not isinstance(seconds, int | float):
            return "-"
        s = float(seconds)
        if not math.isfinite(s) or s > 1e12:
            return f"{s:g}s"
        if s < 60:
            return f"{s:.3f}s" if precise and s < 10 else f"{s:.0f}s"
        minutes, sec = divmod(int(s), 60)
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        if days:
            return f"{days}d {hours}h"
        if hours:
            return f"{hours}h {minutes}m"
        return f"{minutes}m {sec}s"

    @staticmethod
    def size(count: Any) -> str:
        """``512 B``, ``1.5 KiB``, ``20.0 MiB``, ``1.0 GiB``."""
        if isinstance(count, bool) or not isinstance(count, int | float):
            return "-"
        value = float(count)
        for unit in ("B", "KiB", "MiB", "GiB"):
            if abs(value) < 1024 or unit == "GiB":
                return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
            value /= 1024
        return f"{value:.1f} GiB"  # pragma: no cover - the loop returns

    @staticmethod
    def level(doc: Any) -> str:
        """A log line's level name (task lines carry only the number)."""
        name = doc.get("levelname") if isinstance(doc, dict) else None
        if name:
            return str(name)
        number = doc.get("level") if isinstance(doc, dict) else None
        return logging.getLevelName(number) if isinstance(number, int) else ""

    @staticmethod
    def pretty(value: Any, limit: int = PAGE_JSON_CHARS) -> str:
        """Indented JSON (the Run page's result document), cut at *limit* characters: a page
        never carries more than that of one document (the API has it whole)."""
        text = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
        if len(text) <= limit:
            return text
        return f"{text[:limit]}\n\u2026 [{len(text) - limit} more characters: GET the run from the API for all of it]"

    @staticmethod
    def compact(value: Any, limit: int = 200) -> str:
        """One-line JSON, cut at *limit* characters."""
        if value in (None, {}, []):
            return ""
        text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
        return text if len(text) <= limit else text[: limit - 1] + "\u2026"

    @staticmethod
    def data(value: Any) -> str:
        """JSON for a ``data-`` attribute (the template escapes it)."""
        return json.dumps(value, separators=(",", ":"), default=str)


class Flashes:
    """One-shot messages shown on the next page of a session (bounded, thread-safe)."""

    def __init__(self, capacity: int = 1000) -> None:
        self._items: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def add(self, sid: str, kind: str, message: str) -> None:
        """Queue *message* (kind ``ok``, ``warning`` or ``error``) for session *sid*."""
        with self._lock:
            self._items.setdefault(sid, []).append((kind, message[:2000]))
            self._items.move_to_end(sid)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def take(self, sid: str) -> list[tuple[str, str]]:
        """The messages queued for *sid*, removed."""
        with self._lock:
            return self._items.pop(sid, [])
