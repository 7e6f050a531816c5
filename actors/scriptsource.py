"""What the server may learn about a script's source without running it.

Why a module of its own: a script is code written in the browser, and the server process must
never execute it (Suricate did, in its web process). Yet the server must check a script before
it is saved or scheduled, and validate the parameters an API client sends to it. This module
reads the source as *text*: its size, whether it parses (``ast.parse`` compiles nothing and
runs nothing), and the ``task_options`` it declares, as a literal list, either at top level or
in the body of a task class::

    task_options = [{"name": "threshold", "type": "float", "default": 3.0, "help": "alert above"}]

The literal is read with ``ast.literal_eval``: a computed list is not a declaration (the
script then declares no options, and takes any JSON arguments). Script names are checked
here too (tags: `actors.tags`). Pure: no I/O.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from actors.errors import InvalidValueError
from actors.params import Param

#: A script name: a letter or digit, then letters, digits and ``._-``; at most 100 characters.
SCRIPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: Option types a script's ``task_options`` may use (those of `tasks.base.OPTION_TYPES`).
OPTION_TYPES = ("str", "int", "float", "bool", "json", "list", "dict")


def check_script_name(name: Any, *, field: str = "name") -> str:
    """*name* if it is a valid script name, else `InvalidValueError` naming *field*."""
    if not isinstance(name, str) or not SCRIPT_NAME.fullmatch(name):
        raise InvalidValueError(f"{field}: a script name is a letter or digit followed by up to 99 letters, "
                                f"digits or '._-', got {str(name)[:80]!r}", field=field, value=str(name)[:80])
    return name


def check_source(source: Any, max_bytes: int, *, field: str = "source") -> str:
    """*source* if it is text of at most *max_bytes* UTF-8 bytes without NUL; line ends made ``\\n``."""
    if not isinstance(source, str):
        raise InvalidValueError(f"{field}: the script's text, got {type(source).__name__}", field=field)
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InvalidValueError(f"{field}: {size} bytes, more than script_max_bytes ({max_bytes})", field=field,
                                value=size, status=413)
    if "\x00" in source:
        raise InvalidValueError(f"{field}: contains a NUL character", field=field)
    return source.replace("\r\n", "\n").replace("\r", "\n")


def syntax_error(source: str) -> str | None:
    """None when *source* parses as Python, else ``line N: message`` (nothing is run)."""
    try:
        ast.parse(source, filename="<script>", mode="exec")
    except SyntaxError as exc:
        return f"line {exc.lineno or '?'}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"cannot be parsed: {type(exc).__name__}"
    return None


def _literal_options(node: ast.AST) -> list[Any] | None:
    targets: list[ast.expr] = []
    value: ast.expr | None = None
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets, value = [node.target], node.value
    if value is None or not any(isinstance(t, ast.Name) and t.id == "task_options" for t in targets):
        return None
    try:
        literal = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return list(literal) if isinstance(literal, list | tuple) else None


def declared_options(source: str) -> tuple[Param, ...]:
    """The ``task_options`` *source* declares (top level first, else its first class declaring them).

    Raises `InvalidValueError` (``field`` ``task_options``) when the declaration is malformed;
    a source that does not parse declares nothing.
    """
    try:
        tree = ast.parse(source, filename="<script>", mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    found: list[Any] | None = None
    for node in tree.body:
        found = _literal_options(node)
        if found is not None:
            break
    if found is None:
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    found = _literal_options(statement)
                    if found is not None:
                        break
            if found is not None:
                break
    params: list[Param] = []
    for declared in found or ():
        try:
            param = Param.of(declared, "the script's task_options", kind="parameter", default_type="json")
        except InvalidValueError as exc:
            raise InvalidValueError(str(exc), field="task_options") from None
        if param.type not in OPTION_TYPES:
            raise InvalidValueError(f"task_options: {param.name!r} has type {param.type!r} (known: "
                                    f"{', '.join(OPTION_TYPES)})", field="task_options")
        params.append(param)
    return tuple(params)
