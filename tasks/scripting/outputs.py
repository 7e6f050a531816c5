"""What a script shows: figures (SVG, PNG when too big), tables built from data, text.

Why a module of its own: Suricate printed ``image:`` and ``embed:`` lines that its page put
into the HTML as they were, so a script could write any markup (and script) into the panel.
Here a script's outputs are *data*: a figure is image bytes (shown by the panel as an
``<img>``, where no script ever runs), a DataFrame is ``{columns, index, rows}`` of plain
values (the panel builds the table and escapes every cell), anything else is text. Each run
has a byte budget (``max_output_bytes``); what does not fit is replaced by a note saying so.

One collector per worker process (a run at a time): `reset` at the start of a run, `take` at
the end. Figures are drawn with matplotlib only if the script imported it.
"""

from __future__ import annotations

import base64
import io
import math
import sys
from collections.abc import Mapping
from typing import Any

#: Most rows and columns of a table kept (the shape is stored whole).
MAX_ROWS, MAX_COLUMNS = 200, 50
#: Longest text of one cell, or of one text output.
MAX_CELL, MAX_TEXT = 200, 20_000
#: DPI of the PNG fallback of a figure whose SVG is over budget.
PNG_DPI = 100


class _Collector:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.used = 0
        self.budget = 2 * 1024 * 1024

    def add(self, item: dict[str, Any], size: int) -> bool:
        if self.used + size > self.budget:
            self.items.append({"kind": "note", "text": f"output {len(self.items) + 1} ({item['kind']}, {size} bytes) "
                               f"is over the budget of this run ({self.budget} bytes in all; "
                               "script_output_max_bytes) and was not kept"})
            return False
        self.items.append(item)
        self.used += size
        return True


_COLLECTOR = _Collector()


def reset(budget_bytes: int) -> None:
    """Start collecting for a new run, with *budget_bytes* in all."""
    _COLLECTOR.items, _COLLECTOR.used, _COLLECTOR.budget = [], 0, int(budget_bytes)


def take() -> list[dict[str, Any]]:
    """Everything collected since `reset` (figures still open are added first), and forget it."""
    flush_figures()
    items, _COLLECTOR.items, _COLLECTOR.used = _COLLECTOR.items, [], 0
    return items


# ------------------------------------------------------------------ figures
def add_figure(figure: Any) -> None:
    """Keep one matplotlib figure: SVG, or a PNG when the SVG alone is over the remaining budget."""
    left = _COLLECTOR.budget - _COLLECTOR.used
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    title = _figure_title(figure)
    if len(svg) <= left:
        _COLLECTOR.add({"kind": "image", "format": "svg", "data": svg.decode("utf-8"), "title": title}, len(svg))
        return
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches="tight")
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    note = f"drawn as PNG: its SVG ({len(svg)} bytes) did not fit the budget"
    _COLLECTOR.add({"kind": "image", "format": "png", "data": png, "title": title, "note": note}, len(png))


def _figure_title(figure: Any) -> str:
    try:
        suptitle = figure._suptitle.get_text() if getattr(figure, "_suptitle", None) is not None else ""
        titles = [ax.get_title() for ax in figure.get_axes() if ax.get_title()]
    except Exception:  # noqa: BLE001 - a title is a nicety
        return ""
    return str(suptitle or "; ".join(titles))[:200]


def flush_figures() -> int:
    """Keep every figure still open (shown or not) and close them; how many there were."""
    if "matplotlib.pyplot" not in sys.modules:
        return 0
    from matplotlib._pylab_helpers import Gcf

    managers = Gcf.get_all_fig_managers()
    for manager in managers:
        add_figure(manager.canvas.figure)
    Gcf.destroy_all()
    return len(managers)


# ------------------------------------------------------------------ display()
def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | str | int):
        return value if not isinstance(value, str) else value[:MAX_CELL]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return _cell(item())
        except (TypeError, ValueError):
            pass
    try:
        if value != value:  # NaN-likes (pandas NA, NaT)  # noqa: PLR0124
            return None
    except (TypeError, ValueError):
        pass
    return str(value)[:MAX_CELL]


def _label(value: Any) -> str:
    if isinstance(value, tuple):
        return " / ".join(str(v) for v in value)[:MAX_CELL]
    return str(value)[:MAX_CELL]


def table_of(frame: Any) -> dict[str, Any]:
    """A pandas DataFrame (or Series) as ``{kind: table, columns, index, rows, shape, truncated}``."""
    if hasattr(frame, "to_frame") and not hasattr(frame, "columns"):
        frame = frame.to_frame()
    rows_total, columns_total = int(frame.shape[0]), int(frame.shape[1])
    shown = frame.iloc[:MAX_ROWS, :MAX_COLUMNS]
    return {"kind": "table", "columns": [_label(c) for c in shown.columns], "index": [_label(i) for i in shown.index],
            "rows": [[_cell(v) for v in row] for row in shown.itertuples(index=False, name=None)],
            "shape": [rows_total, columns_total],
            "truncated": rows_total > MAX_ROWS or columns_total > MAX_COLUMNS}


def _size(item: Mapping[str, Any]) -> int:
    import json

    return len(json.dumps(item, default=str))


def display(*values: Any) -> None:
    """Show each value below the script: a DataFrame or Series as a table, a matplotlib figure as an
    image, anything else as text (its ``repr``, or the string itself)."""
    for value in values:
        module = type(value).__module__ or ""
        if module.startswith("pandas") and hasattr(value, "iloc"):
            item = table_of(value)
        elif module.startswith("matplotlib") and hasattr(value, "savefig"):
            add_figure(value)
            continue
        elif isinstance(value, str):
            item = {"kind": "text", "text": value[:MAX_TEXT]}
        else:
            item = {"kind": "text", "text": repr(value)[:MAX_TEXT]}
        _COLLECTOR.add(item, _size(item))
