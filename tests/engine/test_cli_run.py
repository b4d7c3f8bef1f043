"""`duftui run`, `logs --follow`, `retry` and `preview` as real processes."""

from __future__ import annotations

import json

from duftui.store.states import RunStatus
from tests.engine.conftest import Workspace, duftui, spawn_duftui, wait_for


def test_run_exit_codes_follow_the_run(ws: Workspace) -> None:
    ws.python_task("ok", "print('fine')")
    ws.python_task("bad", "import sys; print('nope', file=sys.stderr); sys.exit(7)")
    ws.task("slow", 'name = "slow"\ntimeout = "300ms"\n[run]\nkind = "python"\n'
                    'file = "scripts/slow.py"\nkill_grace = "200ms"\n',
            "import time; time.sleep(30)")
    ok = duftui(ws, "run", "p/ok")
    assert ok.returncode == 0 and ok.stdout == "fine\n"
    assert "· queued run #1" in ok.stderr and "succeeded" in ok.stderr
    bad = duftui(ws, "run", "p/bad")
    assert bad.returncode == 1 and "nope" in bad.stderr
    # The task's own exit code, when asked for (124 for a timeout, as timeout(1) does).
    assert duftui(ws, "run", "p/bad", "--exit-code", "task").returncode == 7
    slow = duftui(ws, "run", "p/slow", "--exit-code", "task")
    assert slow.returncode == 124
    assert duftui(ws, "run", "p/slow").returncode == 1


def test_run_refuses_bad_input_with_a_clear_message(ws: Workspace) -> None:
    ws.python_task("ok", "print('fine')")
    missing = duftui(ws, "run", "p/okk")
    assert missing.returncode == 4
    assert "no task 'p/okk'; did you mean 'p/ok'?" in missing.stderr
    param = duftui(ws, "run", "p/ok", "-p", "x=1")
    assert param.returncode == 2 and "unknown parameter 'x'" in param.stderr
    (ws.root / "tasks/p/broken.toml").write_text('name = "b"\n[run]\nkind = "pyton"\n')
    broken = duftui(ws, "run", "p/broken")
    assert broken.returncode == 1
    assert "p/broken has definition errors:" in broken.stderr
    assert "tasks/p/broken.toml:3: run.kind" in broken.stderr


def test_detach_only_queues(ws: Workspace) -> None:
    ws.python_task("ok", "print('fine')")
    result = duftui(ws, "run", "p/ok", "--detach")
    assert result.returncode == 0 and result.stdout.strip() == "1"
    assert "no daemon is running" in result.stderr
    assert ws.get(1).status == RunStatus.QUEUED


def test_logs_follow_a_run_started_by_another_process(ws: Workspace) -> None:
    ws.python_task("talk", """
        import sys, time
        for i in range(5):
            print("line", i, flush=True)
            time.sleep(0.2)
        sys.exit(5)
        """)
    runner = spawn_duftui(ws, "run", "p/talk")
    try:
        wait_for(lambda: ws.runs() and ws.get(1).status == RunStatus.RUNNING, timeout=30)
        follow = duftui(ws, "logs", "1", "--follow", "--exit-code", "task")
        assert follow.returncode == 5
        lines = follow.stdout.splitlines()
        assert [ln for ln in lines if ln.startswith("line")] == [f"line {i}" for i in range(5)]
        assert lines[-1].startswith("finished: failed")
    finally:
        runner.wait(timeout=30)
    tail = duftui(ws, "logs", "1", "--tail", "2", "--level", "error")
    assert tail.stdout.strip().startswith("finished: failed")


def test_run_a_project_and_preview(ws: Workspace) -> None:
    ws.task("extract", """
        name = "extract"
        [run]
        kind = "python"
        file = "scripts/extract.py"
        [params.day]
        default = "parse(%Y-%m-%d-1)"
        allow_override = true
        """, "import os; print('day', os.environ['day'])")
    shown = duftui(ws, "preview", "p/extract", "--at", "2026-03-01T08:00", "--json")
    data = json.loads(shown.stdout)
    assert data["params"]["day"] == {"value": "2026-02-28", "source": "task"}
    assert data["command"].endswith("scripts/extract.py")
    text = duftui(ws, "preview", "p/extract", "-p", "day=2020-01-01").stdout
    assert "day  2020-01-01" in text and "(override)" in text
    project = duftui(ws, "run", "--project", "p")
    assert project.returncode == 0, project.stderr
    assert project.stdout.startswith("day ")


def test_run_waits_for_a_daemon_and_takes_over_when_it_is_gone(ws: Workspace) -> None:
    """A fresh lease makes `duftui run` queue for the daemon; a stale one makes it run here."""
    from duftui.schedule.lease import acquire
    from duftui.store.timestamps import to_iso, utcnow

    ws.python_task("ok", "print('fine')")
    with ws.store.write() as conn:
        # A lease held by a process on another host that never heartbeats again.
        acquire(conn, holder="elsewhere:1:0.00", pid=1)
        conn.exec_driver_sql("UPDATE lease SET host = 'elsewhere', heartbeat_at = ?",
                             (to_iso(utcnow()),))
    result = duftui(ws, "run", "p/ok", timeout=60)
    assert "for the daemon (pid 1 on elsewhere" in result.stderr
    assert "the daemon stopped; running the rest of this batch here" in result.stderr
    assert result.returncode == 0 and result.stdout == "fine\n"
