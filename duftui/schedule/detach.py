"""`duftui daemon --detach`: a daemon for people without systemd, in its own session,
logging to `.duftui/daemon.log`. Returns once the child holds the lease (or has failed),
so the caller can print a pid that is really running."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from duftui import locations
from duftui.schedule import lease
from duftui.store.db import Store

START_TIMEOUT_S = 20.0


class DetachError(RuntimeError):
    """The background daemon did not start; the message says why."""


def detach_daemon(
    workspace: Path, db_path: Path, store: Store, args: list[str]
) -> tuple[int, Path]:
    """Start `python -m duftui daemon ARGS` detached; returns (pid, log file)."""
    with store.read() as conn:
        alive = lease.daemon_alive(conn)
    if alive is not None:
        raise DetachError(f"a daemon is already running: {alive.describe()}")
    log = locations.state_dir(workspace) / "daemon.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "duftui",
        "--workspace",
        str(workspace),
        "--db",
        str(db_path),
        "daemon",
        *args,
    ]
    with log.open("ab") as output:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            cwd=workspace,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise DetachError(f"the daemon exited with code {code}:\n" + _tail(log))
        with store.read() as conn:
            info = lease.current(conn)
        if info is not None and info.pid == proc.pid:
            proc.returncode = 0  # it lives on in its own session; nothing to reap here
            return proc.pid, log
        time.sleep(0.05)
    raise DetachError(
        f"the daemon (pid {proc.pid}) did not take the lease within {START_TIMEOUT_S:g}s; see {log}"
    )


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
