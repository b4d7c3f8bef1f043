"""A supervisor whose state file takes no writes for a while (a full disk) claims the
queued run once it does, and loses none of its lines."""

from __future__ import annotations

import subprocess
import sys

from duftui.store.states import RunStatus
from tests.conftest import python_env
from tests.engine.conftest import Workspace


def test_a_queued_run_starts_once_the_state_file_takes_writes_again(ws: Workspace) -> None:
    key = ws.python_task("noisy", "for n in range(50):\n    print('line', n)\n")
    run_id = ws.submit(key).run_ids[0]
    proc = subprocess.run(
        [sys.executable, "-m", "tests.engine.supervise", str(ws.root), "--until-idle",
         "--writes-fail-for", "2"],
        env=python_env(), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "cannot claim runs" in proc.stderr  # said what is wrong, then waited
    run = ws.get(run_id)
    assert run.status == RunStatus.SUCCEEDED, ws.lines(run_id)
    assert [line for line in ws.lines(run_id) if line.startswith("line ")] == [
        f"line {n}" for n in range(50)
    ]
