"""kill -9 of a supervisor mid-run, then a restart: the run ends `lost`, is retried once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from duftui.store.states import RunStatus
from tests.conftest import python_env
from tests.engine.conftest import Workspace, pid_alive, wait_for


def test_killed_supervisor_leaves_a_lost_run_that_is_retried_once(ws: Workspace) -> None:
    key = ws.task("long", """
        name = "long"
        [run]
        kind = "python"
        file = "scripts/long.py"
        [retry]
        attempts = 1
        delay = "100ms"
        jitter = false
        """, """
        import os, time
        print("attempt", os.environ["DUFTUI_ATTEMPT"], flush=True)
        if os.environ["DUFTUI_ATTEMPT"] == "1":
            time.sleep(120)
        """)
    submitted = ws.submit(key)
    first = submitted.run_ids[0]
    supervisor = subprocess.Popen([sys.executable, "-m", "tests.engine.supervise",
                                   str(ws.root)], env=python_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
    try:
        task_pid = wait_for(lambda: ws.get(first).pid, timeout=30)
        wait_for(lambda: "attempt 1" in ws.lines(first), timeout=30)
        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.wait(timeout=10)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    assert ws.get(first).status == RunStatus.RUNNING
    assert pid_alive(task_pid), "the orphaned task process is still running before recovery"
    # A new supervisor starts: it finds the run lost, kills the orphan and runs the retry.
    ws.supervise()
    rows = ws.runs()
    assert [(r[2], r[3], r[4]) for r in rows] == [("lost", 1, None), ("succeeded", 2, first)]
    lost = ws.get(first)
    assert lost.error.startswith("lost: the supervisor that ran it (")
    assert "orphaned process group" in lost.error
    wait_for(lambda: not pid_alive(task_pid), timeout=10)
    # A second recovery pass changes nothing: no duplicate retry.
    ws.supervise()
    assert len(ws.runs()) == 2
