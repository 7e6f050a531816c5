"""Where the web tokens come from: the option, a file, or the environment.

Why: ``--web-token TOKEN`` puts the secret on the command line, where every local user sees
it in ``ps``. The token can instead come from a file (``web_token_file``: a path, read once
at start, a trailing newline stripped, as ``echo TOKEN > file`` writes it) or from the
environment variable ``DAS_ACTORS_WEB_TOKEN`` (an environment is readable by its owner and
root only). Precedence, first non-empty wins::

    web_token (flag or config file)  >  web_token_file  >  DAS_ACTORS_WEB_TOKEN  >  none

The most explicit place wins, like every other option (a flag beats a config file); a
lower source that is also set is logged as ignored, so a forgotten variable does not go
unnoticed. A token file that cannot be read, or is empty, refuses the start (`ConfigError`
naming the option and the path) rather than serving without a token.

The read-only token (`web.security`'s second role) comes the same way, from its own three
places: ``web_read_token`` > ``web_read_token_file`` > ``DAS_ACTORS_WEB_READ_TOKEN``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog

from actors.errors import ConfigError

log = structlog.get_logger("das_actors.web")

#: The environment variable a token may come from.
TOKEN_ENV = "DAS_ACTORS_WEB_TOKEN"  # noqa: S105 - the variable's name, not a secret
#: The environment variable the read-only token may come from.
READ_TOKEN_ENV = "DAS_ACTORS_WEB_READ_TOKEN"  # noqa: S105 - the variable's name, not a secret
#: Largest token file read, bytes (a token is a line, not a document).
MAX_TOKEN_FILE_BYTES = 4096


def read_token_file(path: str, option: str = "web_token_file") -> str:
    """The token in *path*, trailing ``\\n`` / ``\\r\\n`` stripped; `ConfigError` naming *option* if
    unreadable or empty."""
    where = Path(path).expanduser()
    try:
        with where.open("rb") as handle:
            raw = handle.read(MAX_TOKEN_FILE_BYTES + 1)
            mode = os.fstat(handle.fileno()).st_mode
    except OSError as exc:
        raise ConfigError(f"option '{option}': cannot read {path!r}: {exc.strerror or exc}") from None
    if len(raw) > MAX_TOKEN_FILE_BYTES:
        raise ConfigError(f"option '{option}': {path!r} is larger than {MAX_TOKEN_FILE_BYTES} bytes; "
                          "it should hold the token alone")
    try:
        token = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ConfigError(f"option '{option}': {path!r} is not UTF-8 text") from None
    if not token.strip():
        raise ConfigError(f"option '{option}': {path!r} is empty (refusing to serve without the token)")
    if "\n" in token or "\r" in token:
        raise ConfigError(f"option '{option}': {path!r} holds more than one line; it should hold the token")
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning("web.token_file_readable", path=str(where), mode=oct(stat.S_IMODE(mode)),
                    note="other users can read the web token: chmod 600 it")
    return token


def resolve_token(settings: Any, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(token, source)``: the admin token by the precedence above; source is ``option``, ``file``,
    ``env`` or ``none``."""
    return _resolve(settings, environ, "web_token", "web_token_file", TOKEN_ENV)


def resolve_read_token(settings: Any, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(token, source)`` of the read-only token: ``web_read_token``, then ``web_read_token_file``,
    then env ``DAS_ACTORS_WEB_READ_TOKEN``."""
    return _resolve(settings, environ, "web_read_token", "web_read_token_file", READ_TOKEN_ENV)


def _resolve(settings: Any, environ: Mapping[str, str] | None, name: str, file_name: str,
             env_name: str) -> tuple[str, str]:
    env = os.environ if environ is None else environ
    option = str(settings.get(name) or "")
    path = str(settings.get(file_name) or "")
    from_env = env.get(env_name, "")
    if option:
        token, source = option, "option"
    elif path:
        token, source = read_token_file(path, file_name), "file"
    elif from_env:
        token, source = from_env, "env"
    else:
        return "", "none"
    ignored = [what for what, given in ((file_name, path and source == "option"),
                                        (env_name, from_env and source != "env")) if given]
    if ignored:
        log.warning("web.token_sources_ignored", token=name, used=source, ignored=ignored,
                    note=f"the token comes from the first of: {name}, {file_name}, {env_name}")
    log.info("web.token_source", token=name, source=source)
    return token, source
