"""Where duftui keeps things: one function per path, so `duftui locate` can print them.

Nothing here creates directories at import time; callers create what they use.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path

STATE_DIR_NAME = ".duftui"
_WHERE = "cd into your workspace or give it with -w DIR (or DUFTUI_WORKSPACE)"


class WorkspaceError(Exception):
    """The chosen folder is not a workspace; the message says what to do."""


def workspace_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The workspace: `--workspace`, else `DUFTUI_WORKSPACE`, else the current directory."""
    chosen = explicit or os.environ.get("DUFTUI_WORKSPACE") or os.getcwd()
    return Path(chosen).expanduser().resolve()


def check_workspace(workspace: Path) -> None:
    """Refuse a folder that is not a workspace, so a mistyped `-w` never creates one: it
    must exist and hold `tasks/` or `connections.toml`."""
    if not workspace.exists():
        raise WorkspaceError(f"workspace {workspace} does not exist; {_WHERE}")
    if not workspace.is_dir():
        raise WorkspaceError(f"workspace {workspace} is not a folder; {_WHERE}")
    if not ((workspace / "tasks").is_dir() or (workspace / "connections.toml").is_file()):
        raise WorkspaceError(
            f"{workspace} is not a duftui workspace: it has no tasks/ folder and no "
            f"connections.toml; {_WHERE}"
        )


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
    """Per-run output directories live under here (see `run_dir`)."""
    return state_dir(workspace) / "runs"


def run_dir(workspace: Path, creation_id: str, run_id: int) -> Path:
    """One run's output folder: keyed by the state file's creation id and the run id, so
    a new state file, whose run ids start again at 1, never reuses an old run's folder."""
    return runs_dir(workspace) / creation_id / str(run_id)


def wake_socket(workspace: Path) -> Path:
    """The daemon's wake-up socket (best effort; SQLite's data_version is the fallback)."""
    return state_dir(workspace) / "wake.sock"


def trash_dir(workspace: Path) -> Path:
    """Deleted definitions are moved here so they can be restored."""
    return state_dir(workspace) / "trash"
