"""Finding runs whose process vanished (DESIGN §5.1): nothing stays `running` forever.

A `running` row whose supervisor (host + pid + start time) is gone on this host is
`lost`. If the task process itself is still alive, orphaned, its group is killed first so
the retry that follows never runs beside it.
"""

from __future__ import annotations

import os
import signal

from sqlalchemy import Connection, text

from duftui.definitions.loader import Catalogue
from duftui.engine.identity import identity_alive, process_alive, this_host
from duftui.engine.outcomes import finish_run
from duftui.store.states import RunStatus


def recover_lost(conn: Connection, catalogue: Catalogue) -> list[int]:
    """Mark lost runs (and queue their retries); returns their ids."""
    rows = conn.execute(
        text("SELECT id, supervisor, pid, pid_started, host FROM run WHERE status = 'running'")
    ).all()
    lost = []
    for run_id, supervisor, pid, pid_started, host in rows:
        if host and host != this_host():
            continue
        alive = identity_alive(supervisor)
        if alive is None or alive:
            continue
        killed = ""
        if pid and process_alive(pid, pid_started):
            try:
                os.killpg(pid, signal.SIGKILL)
                killed = f"; its orphaned process group {pid} was killed"
            except (ProcessLookupError, PermissionError):
                pass
        reason = (f"lost: the supervisor that ran it ({supervisor or 'unknown'}) is gone"
                  f"{killed}")
        outcome = finish_run(conn, catalogue, run_id, RunStatus.LOST, error=reason)
        if outcome.finished:
            lost.append(run_id)
    return lost
