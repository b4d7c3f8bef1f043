"""Shared set-up for the engine benchmarks: a throwaway workspace and a supervisor process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SUPERVISOR = """
import sys
from pathlib import Path
import anyio
from duftui.definitions.loader import load_workspace
from duftui.definitions.secrets import SecretStore
from duftui.engine.supervisor import Supervisor
from duftui.engine.wake import WakeListener
from duftui.store.db import Store
root = Path(sys.argv[1])
store = Store(root / ".duftui" / "state.db")
supervisor = Supervisor(store, load_workspace(root), SecretStore(root / "secrets.toml"),
                        max_parallel=int(sys.argv[2]), poll_interval=0.25,
                        wake=WakeListener(root))
print("ready", flush=True)
anyio.run(supervisor.run)
"""


def make_workspace(tasks: dict[str, str]) -> Path:
    """A workspace with project `b`; `tasks` maps task name -> Python source."""
    root = Path(tempfile.mkdtemp(prefix="duftui-bench-"))
    scripts = root / "tasks" / "b" / "scripts"
    scripts.mkdir(parents=True)
    for name, source in tasks.items():
        (scripts / f"{name}.py").write_text(source)
        (root / "tasks" / "b" / f"{name}.toml").write_text(
            f'name = "{name}"\nallow_overlap = true\n[run]\nkind = "python"\n'
            f'file = "scripts/{name}.py"\n'
        )
    return root


def start_supervisor(root: Path, max_parallel: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), DUFTUI_SECRETS=str(root / "secrets.toml"))
    proc = subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(root), str(max_parallel)],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def queued_to_exited(store, catalogue, watcher, root: Path, key: str) -> float:
    """Queue one run of `key`, wake the supervisor and return its queued → finished
    seconds from the store's timestamps. The measuring side stays off the CPU while the
    run's process starts (a no-op run takes longer than 30 ms to end here), as nothing runs
    beside a bare spawn either; it then lets the supervisor record the end."""
    from datetime import datetime

    from sqlalchemy import text

    from duftui.engine.submit import submit_task
    from duftui.engine.wake import poke

    run_id = submit_task(store, catalogue, key, with_dependants=False).run_ids[0]
    poke(root)
    time.sleep(0.03)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if watcher.changed():
            with store.read() as conn:
                row = conn.execute(
                    text("SELECT status, queued_at, finished_at FROM run WHERE id = :i"),
                    {"i": run_id},
                ).first()
            if row[0] not in ("queued", "running"):
                assert row[0] == "succeeded", row
                time.sleep(0.02)
                return (
                    datetime.fromisoformat(row[2]) - datetime.fromisoformat(row[1])
                ).total_seconds()
        time.sleep(0.01)
    raise SystemExit(f"run {run_id} did not finish")
