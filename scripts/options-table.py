"""Print the options table of docs/operations.md from the option registry (service plugins' too).

Usage: .venv/bin/python scripts/options-table.py [--write docs/operations.md]
With --write, the table between the ``<!-- options:begin -->`` and ``<!-- options:end -->``
markers of the file is replaced; tests/actors/test_options_doc.py fails when it is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from actors.config import describe_options

BEGIN, END = "<!-- options:begin -->", "<!-- options:end -->"


def table() -> str:
    """The markdown table: one row per option, grouped as the registry orders them."""
    rows = ["| option (flag) | group | type | default | live | what it does |", "|---|---|---|---|---|---|"]
    for option in describe_options():
        default = '""' if option["default"] == "" else f"`{option['default']}`"
        help_text = str(option["help"]).replace("|", "\\|")
        rows.append(f"| `{option['name']}` (`{option['flag']}`) | {option['group']} | {option['type']} | {default} | "
                    f"{'yes' if option['live'] else 'no'} | {help_text} |")
    return "\n".join(rows)


def replaced(text: str) -> str:
    """*text* with the table between the markers replaced."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        path = Path(sys.argv[2])
        path.write_text(replaced(path.read_text()))
    else:
        sys.stdout.write(table() + "\n")
