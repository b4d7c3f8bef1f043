"""Helpers for code that duftui runs (standard library only; importable on its own).

    from duftui import task
    p = task.params()
    db = task.connection("clinic_db")
    task.log("starting"); task.progress(10, 100); task.output("/path/result.csv")

Structured messages travel on stdout as single lines: the marker `\\x1eduftui:` followed
by JSON. Every other line a task prints is a plain log line. Outside duftui (no
DUFTUI_RUN_ID) the helpers print readable text instead, so a script runs the same by hand.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

MARKER = "\x1eduftui:"
__all__ = [
    "MARKER",
    "connection",
    "debug",
    "error",
    "fail",
    "log",
    "output",
    "output_dir",
    "params",
    "progress",
    "result",
    "run_id",
    "warning",
]


def _under_duftui() -> bool:
    return "DUFTUI_RUN_ID" in os.environ


def run_id() -> int | None:
    value = os.environ.get("DUFTUI_RUN_ID")
    return int(value) if value else None


def params() -> dict[str, Any]:
    """The run's resolved parameters (secrets included, so never print them whole)."""
    return json.loads(os.environ.get("DUFTUI_PARAMS") or "{}")


def connection(name: str) -> dict[str, Any]:
    """A connection the task declared in run.connections, with secrets resolved."""
    connections = json.loads(os.environ.get("DUFTUI_CONNECTIONS") or "{}")
    if name not in connections:
        known = ", ".join(sorted(connections)) or "none"
        raise KeyError(f"connection {name!r} was not given to this task (declared: {known}); "
                       "add it to run.connections")
    return connections[name]


def output_dir() -> Path:
    """A fresh folder for this run's files (the current directory outside duftui)."""
    return Path(os.environ.get("DUFTUI_OUTPUT_DIR") or ".")


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(MARKER + json.dumps(message, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def log(message: str, level: str = "info") -> None:
    """A log line at a level: debug, info, warning, error."""
    if _under_duftui():
        _emit({"type": "log", "level": level, "msg": str(message)})
    else:
        stream = sys.stderr if level in ("warning", "error") else sys.stdout
        print(f"[{level.upper()}] {message}", file=stream, flush=True)


def debug(message: str) -> None:
    log(message, "debug")


def warning(message: str) -> None:
    log(message, "warning")


def error(message: str) -> None:
    log(message, "error")


def progress(done: float, total: float | None = None, message: str | None = None) -> None:
    """Report progress; the console shows it as a bar or a count."""
    if _under_duftui():
        _emit({"type": "progress", "done": done, "total": total, "msg": message})
    else:
        suffix = f"/{total}" if total is not None else ""
        print(f"[PROGRESS] {done}{suffix} {message or ''}".rstrip(), flush=True)


RESULT_MAX_BYTES = 64 * 1024


def result(value: Any) -> None:
    """Hand back a JSON value as the run's result (shown by `duftui runs --json`, the
    console and the export); at most 64 KiB of JSON, the last call wins."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text.encode("utf-8")) > RESULT_MAX_BYTES:
        raise ValueError(f"a run's result is at most {RESULT_MAX_BYTES} bytes of JSON")
    if _under_duftui():
        _emit({"type": "result", "value": value})
    else:
        print(f"[RESULT] {text}", flush=True)


def fail(message: str, retry: bool = True) -> NoReturn:
    """End the run as failed with `message`; with retry=False it is not retried (a
    permanent error: bad input, a refused login), so it ends dead at once."""
    if _under_duftui():
        _emit({"type": "fail", "msg": str(message), "retry": bool(retry)})
    else:
        print(f"[ERROR] {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


LOADS_FILE = ".duftui-loads.jsonl"


def output(
    path: str | os.PathLike[str], stage: str = "output", load: str | None = None
) -> None:
    """Record a file this run produced (size and md5 are computed by duftui).

    `load="visits"` (or `"analysis.visits"`: connection, then table) hands the file to the
    task's `[[deliver]] kind = "table"` target for that table only; a file without it
    goes to every table target. The choice is kept beside the run's files, where the
    table delivery reads it."""
    resolved = str(Path(path).resolve())
    if load is not None and _under_duftui():
        with open(output_dir() / LOADS_FILE, "a", encoding="utf-8") as loads:
            loads.write(json.dumps({"path": resolved, "load": str(load)}) + "\n")
    if _under_duftui():
        message = {"type": "output", "path": resolved, "stage": stage}
        if load is not None:
            message["load"] = str(load)
        _emit(message)
    else:
        print(f"[OUTPUT] {resolved}" + (f" → table {load}" if load else ""), flush=True)
