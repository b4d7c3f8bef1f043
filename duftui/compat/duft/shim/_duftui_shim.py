"""DUFT's data-task helpers on top of a duftui run (standard library only).

DUFT scripts import `find_json_arg`, `initialise_data_task`, … from the DUFT server's
packages. duftui puts this folder on PYTHONPATH for those scripts only, and the three
DUFT module paths in it re-export from here. This module's name cannot collide with a
project's own modules, which matters because the whole folder is on PYTHONPATH.

Under duftui (DUFTUI_RUN_ID set) log lines travel as duftui's stdout markers, so
`log_error` lines are stored at level ERROR; outside duftui the helpers print what DUFT
prints, so a script still runs by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from datetime import datetime
from typing import Any

MARKER = "\x1eduftui:"


def _under_duftui() -> bool:
    return "DUFTUI_RUN_ID" in os.environ


def _emit_log(task_name: str, level: str, message: object) -> None:
    """One log line: a duftui marker with its level, or DUFT's own two printed lines."""
    text = str(message)
    if _under_duftui():
        record = {"type": "log", "level": level.lower(), "msg": f"{task_name} >>>: {text}"}
        sys.stdout.write(MARKER + json.dumps(record, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
        return
    print(f"[{datetime.now().isoformat()}] {task_name} - {level.upper()}: {text}", flush=True)
    print(f"{task_name} >>>: {text}", flush=True)


class DataTaskEnvironment:
    """What `initialise_data_task` returns: the task's name, its params and its log."""

    def __init__(self, name: str, params: dict[str, Any] | None = None) -> None:
        self.current_data_task_name = name
        self.params = params if params is not None else {}

    def log_message(self, message: object) -> None:
        _emit_log(self.current_data_task_name, "INFO", message)

    def log_error(self, message: object) -> None:
        _emit_log(self.current_data_task_name, "ERROR", message)

    def __repr__(self) -> str:
        return f"DataTaskEnvironment({self.current_data_task_name!r})"


_current: DataTaskEnvironment | None = None


def _environment() -> DataTaskEnvironment:
    """The environment of the running task, created on first use like DUFT's default."""
    global _current
    if _current is None:
        _current = DataTaskEnvironment(os.environ.get("DUFTUI_TASK", "Data Task"))
    return _current


def find_json_arg(argv: list[str]) -> dict[str, Any]:
    """The parameters DUFT (and duftui) pass as one JSON object among the arguments.

    Every element after the script name is tried; the first that parses as a JSON object
    wins. No such element gives an empty dict, as DUFT does, so `if not json_args:` works.
    """
    for arg in list(argv)[1:]:
        text = str(arg).strip()
        if not text.startswith("{"):
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def initialise_data_task(name: str, params: dict[str, Any] | None = None) -> DataTaskEnvironment:
    """Start a data task: remember its name and params, log that it began."""
    global _current
    _current = DataTaskEnvironment(name, params)
    _current.log_message(f"{name} initialised")
    return _current


def set_data_task_name(name: str) -> DataTaskEnvironment:
    """The older `src.dte.dte_tools` way of naming the task."""
    global _current
    _current = DataTaskEnvironment(name, _current.params if _current else None)
    return _current


def log_message(message: object) -> None:
    """Module-level logging of the older `src.dte.dte_tools` API."""
    _environment().log_message(message)


def log_error(message: object) -> None:
    _environment().log_error(message)


def _connections() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(os.environ.get("DUFTUI_CONNECTIONS") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def get_resolved_parameters_for_connection(connection_id: str) -> dict[str, Any]:
    """A DUFT connection's parameters with their values, secrets resolved.

    The values come from the connections the task declares in `run.connections`; the
    DUFT id is the connection's name (import-duft keeps it), matched exactly first and
    then ignoring case.
    """
    connections = _connections()
    found = connections.get(connection_id)
    if found is None:
        wanted = str(connection_id).lower()
        found = next((v for k, v in connections.items() if k.lower() == wanted), None)
    if found is None:
        known = ", ".join(sorted(connections)) or "none"
        raise KeyError(
            f"data connection {connection_id!r} was not given to this task (given: {known}); "
            f'add it to run.connections in the task file, e.g. connections = ["{connection_id}"]'
        )
    return dict(found)


def get_duft_config() -> dict[str, Any]:
    """The part of DUFT's user config a task may read: its connection values."""
    return {"dataConnectionParameters": _connections()}


def assert_dte_tools_available() -> None:
    """DUFT's check that the tools are importable; it prints the same line DUFT does."""
    print("DTE Tools available", flush=True)


def get_data_dir() -> str:
    """This run's own folder (DUFTUI_OUTPUT_DIR); files left there stay with the run."""
    chosen = os.environ.get("DUFTUI_OUTPUT_DIR")
    if not chosen:
        chosen = os.path.join(tempfile.gettempdir(), "duft-data")
    os.makedirs(chosen, exist_ok=True)
    return chosen


def get_temp_dir() -> str:
    """A scratch folder inside the run's folder (`tmp/`), emptied by purge_temp_dir()."""
    path = os.path.join(get_data_dir(), "tmp")
    os.makedirs(path, exist_ok=True)
    return path


def purge_temp_dir() -> None:
    """Delete everything in the scratch folder, keeping the folder itself."""
    path = get_temp_dir()
    for name in os.listdir(path):
        target = os.path.join(path, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target, ignore_errors=True)
        else:
            try:
                os.unlink(target)
            except FileNotFoundError:
                pass
