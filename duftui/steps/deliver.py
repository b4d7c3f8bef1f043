"""The `[[deliver]]` step: copy the final files to local folders, SFTP, FTP or SMB.

Each target is tried up to `1 + retries` times when the failure is transient (refused
connection, timeout, temporary server reply), waiting `retry_delay`, doubled each time;
files already delivered to that target in an earlier attempt are not sent again. A
permanent failure (login refused, host key mismatch, target exists, out of space) fails
at once with the transport's message.

The folder (after templates) must stay inside its base — the workspace for a local
delivery, the connection's `base_path` (or, without one, the login folder for relative
paths) for a remote one — unless the target says `allow_outside = true`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from duftui.definitions.models import Deliver
from duftui.engine.templates import TemplateError, expand_name
from duftui.steps.errors import StepError, TransferError
from duftui.steps.remote import open_remote
from duftui.steps.report import Reporter, human_size
from duftui.steps.safe_names import climb_problem, remote_inside

MAX_DELAY_S = 60.0
Recorder = Callable[[Path, str], Any]


def target_label(target: Deliver, remote_path: str) -> str:
    """How a delivery is written in `output_file.delivered_to`."""
    if target.kind == "local":
        return f"local:{remote_path}"
    return f"{target.kind}:{target.connection}:{remote_path}"


def deliver_to(
    index: int,
    target: Deliver,
    files: list[Path],
    *,
    at: Any,
    connections: dict[str, dict[str, Any]],
    workspace: Path,
    reporter: Reporter,
    record: Recorder | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Deliver every file to one target; returns the remote paths written."""
    if target.kind == "table":
        from duftui.steps.table_load import load_table

        return load_table(index, target, files, connections, reporter, record)
    name = f"deliver[{index}]"
    try:
        folder = expand_name(target.path, at)
    except TemplateError as exc:
        raise StepError(f"{name}: path {target.path!r}: {exc}") from None
    _check_inside(name, target, folder, connections)
    done: dict[Path, str] = {}
    attempts = target.retries + 1
    for attempt in range(1, attempts + 1):
        try:
            with open_remote(target.kind, target.connection, connections, workspace) as remote:
                for path in files:
                    if path in done:
                        continue
                    written = remote.put(
                        path,
                        folder,
                        target.overwrite,
                        warn=lambda text: reporter.warning(f"{name}: {text}"),
                    )
                    done[path] = written
                    reporter.info(
                        f"{name}: {path.name} → {remote.label}: {written} "
                        f"({human_size(path.stat().st_size)})"
                    )
                    if record is not None:
                        record(path, target_label(target, written))
            return list(done.values())
        except TransferError as exc:
            if not exc.transient or attempt == attempts:
                tried = f" (after {attempt} attempts)" if attempt > 1 else ""
                raise StepError(f"{name}: {exc}{tried}") from None
            delay = min(target.retry_delay.total_seconds() * 2 ** (attempt - 1), MAX_DELAY_S)
            reporter.warning(
                f"{name}: {exc}; trying again in {delay:g}s (attempt {attempt + 1} of {attempts})"
            )
            sleep(delay)
    raise AssertionError("unreachable")


def _check_inside(
    name: str, target: Deliver, folder: str, connections: dict[str, dict[str, Any]]
) -> None:
    """Refuse a folder that leaves its base (see the module docstring)."""
    if target.allow_outside:
        return
    if target.kind == "local":
        problem, base = climb_problem(folder), "the workspace"
    else:
        base_path = (connections.get(target.connection or "") or {}).get("base_path")
        problem = remote_inside(str(base_path) if base_path else None, folder)
        base = f"the connection's base_path {base_path}" if base_path else "the login folder"
    if problem is not None:
        shown = repr(target.path) + (f" (here {folder!r})" if folder != target.path else "")
        raise StepError(
            f"{name}: path {shown} is outside {base}: {problem}; deliver inside it, or "
            "set allow_outside = true on this [[deliver]]"
        )
