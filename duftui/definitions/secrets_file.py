"""Reading the user's secrets file: a regular file of mode 0600, at most 1 MiB, valid TOML.

Kept apart from the store and the masking in `secrets.py`; every refusal names the file
(and the line, for TOML errors) and says what to do, as definition problems do.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

from duftui.definitions.locate import explain_toml_error, split_toml_error
from duftui.definitions.parsing import nesting_problem
from duftui.definitions.reading import UnreadableFile, read_regular_file


class SecretsFileError(Exception):
    """The secrets file cannot be used; `line` is set for TOML errors."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.reason = message


def read_secrets_file(path: Path) -> dict[str, str]:
    """All secrets by dotted name; an absent file is an empty store."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not os.path.islink(path):
            return {}
        mode = 0
    except OSError as exc:
        raise SecretsFileError(path, None, f"cannot read the secrets file: {exc.strerror}") from None
    if stat.S_ISREG(mode) and stat.S_IMODE(mode) & 0o077:
        raise SecretsFileError(
            path,
            None,
            f"refusing to read secrets from a file with mode {stat.S_IMODE(mode):04o}; "
            f"other users could read it. Run: chmod 600 {path}",
        )
    try:
        raw = read_regular_file(path)
    except FileNotFoundError:
        return {}
    except UnreadableFile as exc:
        raise SecretsFileError(path, None, str(exc).replace("definitions are", "secrets are")) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SecretsFileError(path, line, "not valid UTF-8; save it with UTF-8 encoding") from None
    too_deep = nesting_problem(text)
    if too_deep is not None:
        raise SecretsFileError(path, too_deep[0], f"not valid TOML: {too_deep[1]}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = split_toml_error(str(exc), text)
        raise SecretsFileError(path, line, f"not valid TOML: {explain_toml_error(message)}") from None
    except RecursionError:
        raise SecretsFileError(path, None, "not valid TOML: values are nested too deep") from None
    return dict(flatten(data))


def flatten(data: Mapping[str, object]) -> Iterator[tuple[str, str]]:
    """Nested tables as dotted names, without recursion (the depth is the file's choice)."""
    pending: list[tuple[str, Mapping[str, object]]] = [("", data)]
    while pending:
        prefix, table = pending.pop()
        for key, value in table.items():
            name = f"{prefix}{key}"
            if isinstance(value, Mapping):
                pending.append((name + ".", value))
            else:
                yield name, str(value)
