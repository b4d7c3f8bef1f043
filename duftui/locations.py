"""Where duftui keeps things: one function per path, so `duftui locate` can print them.

Nothing here creates directories at import time; callers create what they use.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path

STATE_DIR_NAME = ".duftui"


def workspace_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The workspace: `--workspace`, else `DUFTUI_WORKSPACE`, else the current directory."""
    chosen = explicit or os.environ.get("DUFTUI_WORKSPACE") or os.getcwd()
    return Path(chosen).expanduser().resolve()


def state_dir(workspace: Path) -> Path:
    """The git-ignored runtime folder inside a workspace."""
    return workspace / STATE_DIR_NAME


def state_db(workspace: Path, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The SQLite state file: `--db`, else `DUFTUI_DB`, else `.duftui/state.db`."""
    chosen = explicit or os.environ.get("DUFTUI_DB")
    if chosen:
        return Path(chosen).expanduser().resolve()
    return state_dir(workspace) / "state.db"


def secrets_file() -> Path:
    """The user's secrets file: `DUFTUI_SECRETS`, else `$XDG_CONFIG_HOME/duftui/secrets.toml`."""
    chosen = os.environ.get("DUFTUI_SECRETS")
    if chosen:
        return Path(chosen).expanduser()
    return user_config_path("duftui") / "secrets.toml"


def runs_dir(workspace: Path) -> Path:
    """Per-run output directories live here, one folder per run id."""
    return state_dir(workspace) / "runs"


def wake_socket(workspace: Path) -> Path:
    """The daemon's wake-up socket (best effort; SQLite's data_version is the fallback)."""
    return state_dir(workspace) / "wake.sock"


def trash_dir(workspace: Path) -> Path:
    """Deleted definitions are moved here so they can be restored."""
    return state_dir(workspace) / "trash"
