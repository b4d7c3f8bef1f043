"""The console's own preferences (the theme), kept between sessions.

A small TOML file: `DUFTUI_CONSOLE_SETTINGS`, else `$XDG_CONFIG_HOME/duftui/console.toml`.
A file that cannot be read or written is ignored: a preference is never worth an error.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path

import tomlkit
from platformdirs import user_config_path

KNOWN = ("theme",)


def settings_file() -> Path:
    chosen = os.environ.get("DUFTUI_CONSOLE_SETTINGS")
    if chosen:
        return Path(chosen).expanduser()
    return user_config_path("duftui") / "console.toml"


def load(path: Path | None = None) -> dict[str, str]:
    """The saved preferences (only known keys with text values)."""
    try:
        data = tomllib.loads((path or settings_file()).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    return {k: v for k, v in data.items() if k in KNOWN and isinstance(v, str)}


def save(key: str, value: str, path: Path | None = None) -> bool:
    """Remember one preference (atomically); False when the file cannot be written."""
    target = path or settings_file()
    try:
        current = tomlkit.parse(target.read_text(encoding="utf-8")) if target.exists() else None
    except (OSError, ValueError):
        current = None
    document = current if current is not None else tomlkit.document()
    document[key] = value
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".console-", suffix=".toml")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(tomlkit.dumps(document))
        os.replace(tmp, target)
    except OSError:
        return False
    return True
