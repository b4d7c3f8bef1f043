"""Cancel from another process: the run ends `cancelled` and no child or grandchild survives."""

from __future__ import annotations

import json

from duftui.store.states import RunStatus
from tests.engine.conftest import Workspace, duftui, pid_alive, spawn_duftui, wait_for

SPAWNER = """
    import json, os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c",
        "import subprocess, sys, time; "
        "g = subprocess.Popen(['sleep', '300']); "
        "print(g.pid, flush=True); time.sleep(300)"], stdout=subprocess.PIPE, text=True)
    grandchild = int(child.stdout.readline())
    with open(os.environ["PIDS_FILE"], "w") as f:
        json.dump({"self": os.getpid(), "child": child.pid, "grandchild": grandchild}, f)
    print("spawned", flush=True)
    time.sleep(300)
"""


def test_cancel_from_another_process_kills_the_whole_tree(ws: Workspace, tmp_path) -> None:
    pids_file = tmp_path / "pids.json"
    ws.task("tree", f"""
        name = "tree"
        [run]
        kind = "python"
        file = "scripts/tree.py"
        kill_grace = "2s"
        env = {{ PIDS_FILE = "{pids_file}" }}
        """, SPAWNER)
    runner = spawn_duftui(ws, "run", "p/tree", "--exit-code", "task")
    try:
        wait_for(pids_file.exists, timeout=30)
        pids = json.loads(pids_file.read_text())
        assert all(pid_alive(pid) for pid in pids.values())
        run_id = ws.runs()[0][0]
        result = duftui(ws, "cancel", str(run_id), "--reason", "operator said so")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"cancel requested for run #{run_id}"
        code = runner.wait(timeout=30)
        assert code == 130
    finally:
        if runner.poll() is None:
            runner.kill()
    run = ws.get(run_id)
    assert run.status == RunStatus.CANCELLED
    assert run.error == "cancelled: operator said so"
    wait_for(lambda: not any(pid_alive(pid) for pid in pids.values()), timeout=10)


def test_cancel_a_queued_run_never_starts_it(ws: Workspace) -> None:
    key = ws.python_task("later", "print('should not run')")
    submitted = ws.submit(key)
    result = duftui(ws, "cancel", str(submitted.run_ids[0]))
    assert result.returncode == 0
    assert "cancelled before it started" in result.stdout
    ws.supervise()
    run = ws.get(submitted.run_ids[0])
    assert run.status == RunStatus.CANCELLED and run.started_at is None
    assert ws.lines(run.id) == []


def test_cancel_a_finished_run_is_refused(ws: Workspace) -> None:
    run = ws.run(ws.python_task("quick", "print(1)"))
    result = duftui(ws, "cancel", str(run.id))
    assert result.returncode == 1
    assert f"run #{run.id} already ended (succeeded)" in result.stderr


def test_children_left_behind_by_a_finished_task_are_terminated(ws: Workspace, tmp_path) -> None:
    pid_file = tmp_path / "orphan.pid"
    key = ws.python_task("leaver", f"""
        import subprocess
        p = subprocess.Popen(["sleep", "300"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        open({str(pid_file)!r}, "w").write(str(p.pid))
        print("leaving a child behind")
        """)
    run = ws.run(key)
    assert run.status == RunStatus.SUCCEEDED
    orphan = int(pid_file.read_text())
    wait_for(lambda: not pid_alive(orphan), timeout=10)
    assert any("leftover process" in line for line in ws.lines(run.id, "event"))


def test_cancel_when_the_supervisor_is_gone_ends_the_run_and_kills_the_orphan(
        ws: Workspace) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import python_env

    key = ws.python_task("orphan", "import time; print('up', flush=True); time.sleep(120)")
    run_id = ws.submit(key).run_ids[0]
    supervisor = subprocess.Popen([sys.executable, "-m", "tests.engine.supervise",
                                   str(ws.root)], env=python_env(), stdout=subprocess.PIPE)
    try:
        task_pid = wait_for(lambda: ws.get(run_id).pid, timeout=30)
        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.wait(timeout=10)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    result = duftui(ws, "cancel", str(run_id))
    assert result.returncode == 0
    assert "cancelled (its supervisor was gone)" in result.stdout
    run = ws.get(run_id)
    assert run.status == RunStatus.CANCELLED
    wait_for(lambda: not pid_alive(task_pid), timeout=10)
