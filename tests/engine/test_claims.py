"""Claims under competition and limits: no run twice, limits respected."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from collections import Counter

import anyio
import pytest

from duftui.definitions.loader import load_workspace
from duftui.engine.submit import SubmitError, submit_task
from duftui.engine.supervisor import Supervisor
from duftui.store.states import RunStatus
from tests.conftest import python_env
from tests.engine.conftest import Workspace


def test_two_supervisor_processes_never_claim_the_same_run(ws: Workspace, tmp_path) -> None:
    ledger = tmp_path / "ledger.txt"
    key = ws.task("tick", f"""
        name = "tick"
        allow_overlap = true
        [run]
        kind = "python"
        file = "scripts/tick.py"
        env = {{ LEDGER = "{ledger}" }}
        """, """
        import os, time
        with open(os.environ["LEDGER"], "a") as f:
            f.write(os.environ["DUFTUI_RUN_ID"] + "\\n")
        time.sleep(0.3)  # the 40 runs outlast a supervisor's start-up, even under load
        """)
    run_ids = [ws.submit(key).run_ids[0] for _ in range(40)]
    # The limit is counted over the whole state file: the second supervisor, started once
    # the first runs, allows more runs at once, so it finds free slots even though the
    # first one claims the next run the moment one of its own ends.
    procs = []
    for limit in (3, 6):
        proc = subprocess.Popen([sys.executable, "-m", "tests.engine.supervise", str(ws.root),
                                 "--until-idle", "--max-parallel", str(limit)], env=python_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "supervising"
        procs.append(proc)
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    executions = Counter(int(line) for line in ledger.read_text().split())
    assert sorted(executions) == sorted(run_ids)
    assert set(executions.values()) == {1}, "a run was executed twice"
    statuses = {ws.get(r).status for r in run_ids}
    assert statuses == {RunStatus.SUCCEEDED}
    supervisors = {ws.get(r).supervisor for r in run_ids}
    assert len(supervisors) == 2, "both supervisors should have taken part"


def _intervals(ws: Workspace, ids: list[int]) -> list[tuple]:
    return sorted((ws.get(i).started_at, ws.get(i).finished_at) for i in ids)


def test_max_parallel_and_no_overlap(ws: Workspace) -> None:
    sleeper = "import time; time.sleep(0.3)"
    ws.python_task("one", sleeper)
    ws.python_task("two", sleeper)
    ids = [ws.submit("p/one").run_ids[0], ws.submit("p/two").run_ids[0],
           ws.submit("p/one").run_ids[0]]
    ws.supervise(max_parallel=1)
    spans = _intervals(ws, ids)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    # Without a global limit, the same task still never overlaps itself.
    ids = [ws.submit("p/one").run_ids[0] for _ in range(3)]
    ws.supervise(max_parallel=8)
    spans = _intervals(ws, ids)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_per_project_limit(ws: Workspace) -> None:
    (ws.root / "tasks/p/project.toml").write_text("max_parallel = 1\n")
    sleeper = "import time; time.sleep(0.3)"
    ws.python_task("one", sleeper)
    ws.python_task("two", sleeper)
    ids = [ws.submit("p/one").run_ids[0], ws.submit("p/two").run_ids[0]]
    ws.supervise(max_parallel=8)
    (_a_start, a_end), (b_start, _b_end) = _intervals(ws, ids)
    assert a_end <= b_start


def test_overlap_allowed_runs_concurrently(ws: Workspace) -> None:
    ws.python_task("par", "import time; time.sleep(0.5)", extra="allow_overlap = true\n")
    ids = [ws.submit("p/par").run_ids[0] for _ in range(2)]
    ws.supervise(max_parallel=8)
    (_a_start, a_end), (b_start, _b_end) = _intervals(ws, ids)
    assert b_start < a_end


def test_queued_run_of_a_broken_task_fails_with_the_reason(ws: Workspace) -> None:
    key = ws.python_task("soon", "print('x')")
    submitted = ws.submit(key)
    (ws.root / "tasks/p/soon.toml").write_text('name = "soon"\n[run]\nkind = "pyton"\n')
    supervisor = Supervisor(ws.store, load_workspace(ws.root), ws.secrets(), poll_interval=0.05)
    anyio.run(supervisor.run, True)
    run = ws.get(submitted.run_ids[0])
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("not started: its definition has errors: tasks/p/soon.toml:3: "
                                "run.kind: expected one of python")


def test_a_broken_project_file_stops_its_tasks_and_no_other(ws: Workspace) -> None:
    """Its tasks would run without the params, schedules and limits they inherit."""
    key = ws.python_task("uses", "import os\nprint(os.environ['region'])\n")
    other = ws.python_task("fine", "print('still runs')", project="q")
    (ws.root / "tasks/p/project.toml").write_text('[params.region]\ndefault = "north"\n')
    queued = ws.submit(key)
    (ws.root / "tasks/p/project.toml").write_text('[params.region]\ndefalt = "north"\n')
    catalogue = load_workspace(ws.root)
    with pytest.raises(SubmitError, match=re.escape("tasks/p/project.toml has errors")):
        submit_task(ws.store, catalogue, key)
    ran = submit_task(ws.store, catalogue, other)
    supervisor = Supervisor(ws.store, catalogue, ws.secrets(), poll_interval=0.05)
    anyio.run(supervisor.run, True)
    run = ws.get(queued.run_ids[0])
    assert run.status == RunStatus.FAILED
    assert "tasks/p/project.toml has errors (see there)" in run.error
    assert ws.get(ran.run_ids[0]).status == RunStatus.SUCCEEDED
    assert "still runs" in ws.lines(ran.run_ids[0])
