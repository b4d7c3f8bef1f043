"""Notebook tasks on real ipykernel kernels: parameters, live output, failures, cancel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest

from duftui.store.states import Level, RunStatus
from tests.compat.conftest import kernel_pid, notebook_task, open_workspace
from tests.conftest import write
from tests.engine.conftest import Workspace, duftui, pid_alive, spawn_duftui, wait_for


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    yield from open_workspace(tmp_path)


DUFT_CONNECTION = """
[CLINIC]
type = "duft"
name = "Clinic database"
duft_id = "CLINIC"

[CLINIC.params]
server = { type = "text", label = "Server", value = "db.example.org" }
password = { type = "password", label = "Password", value = { secret = "clinic.password" } }
"""


def _outputs(ws: Workspace, run_id: int) -> list[str]:
    with ws.store.read() as conn:
        from sqlalchemy import text

        return [
            row[0]
            for row in conn.execute(
                text("SELECT path FROM output_file WHERE run_id = :r"), {"r": run_id}
            )
        ]


def _levels(ws: Workspace, run_id: int) -> dict[str, int]:
    from duftui.store.logs import read_lines

    with ws.store.read() as conn:
        return {line.text: line.level for line in read_lines(conn, run_id, 1, 100_000)}


def test_duft_notebook_gets_params_and_connection(ws: Workspace) -> None:
    write(ws.root / "connections.toml", DUFT_CONNECTION)
    ws.secrets().set("clinic.password", "s3cret-pw")
    key = notebook_task(
        ws,
        "duftnb",
        "params = {}",
        "from services.dte_tools.data_task_tools import initialise_data_task, "
        "get_resolved_parameters_for_connection",
        """
        environment = initialise_data_task("Jupyter Sample", params=params)
        db = get_resolved_parameters_for_connection("CLINIC")
        environment.log_message(f"hello {params['name']} on {db['server']}")
        print("password is", db["password"])
        """,
        "environment.log_error('something looked odd')",
        extra='[params.name]\ndefault = "Cersei"\nallow_override = true\n',
        run_extra='connections = ["CLINIC"]\n',
    )
    run = ws.run(key, overrides={"name": "Arya"})
    lines = ws.lines(run.id)
    assert run.status == RunStatus.SUCCEEDED, lines
    assert "Jupyter Sample >>>: hello Arya on db.example.org" in lines
    assert "password is ********" in lines
    assert "s3cret-pw" not in "\n".join(lines)
    assert _levels(ws, run.id)["Jupyter Sample >>>: something looked odd"] == Level.ERROR
    assert any("parameters set in cell 1" in line for line in lines)
    [saved] = _outputs(ws, run.id)
    executed = nbformat.read(saved, as_version=4)
    assert executed.cells[0].source == "params = {'name': 'Arya'}"
    text_out = json.dumps(executed)
    assert "hello Arya" in text_out and "s3cret-pw" not in text_out
    assert "\\u001eduftui" not in text_out
    pid = kernel_pid(lines)
    assert pid is not None and not pid_alive(pid)


def test_papermill_parameters_with_overrides_and_display_output(ws: Workspace) -> None:
    key = notebook_task(
        ws,
        "paper",
        'import os\nprint("cwd", os.getcwd())',
        ('who = "nobody"\ntimes = 1', ["parameters"]),
        'print(f"hello {who} x{times}")',
        "6 * 7",
        extra='[params.who]\ndefault = "world"\nallow_override = true\n'
        "[params.times]\ndefault = 2\nallow_override = true\n"
        '[params.token]\ndefault = { secret = "api.token" }\nsecret = true\n',
    )
    ws.secrets().set("api.token", "tok-very-secret")
    run = ws.run(key, overrides={"who": "Ada"})
    lines = ws.lines(run.id)
    assert run.status == RunStatus.SUCCEEDED, lines
    assert "hello Ada x2" in lines
    assert "42" in lines
    assert f"cwd {ws.root / 'tasks' / 'p' / 'scripts'}" in lines
    assert any("parameters injected after cell 2" in line for line in lines)
    executed = nbformat.read(_outputs(ws, run.id)[0], as_version=4)
    injected = executed.cells[2]
    assert injected.metadata.tags == ["injected-parameters"]
    assert "who = 'Ada'" in injected.source and "times = 2" in injected.source
    assert "token = '********'" in injected.source, "secret values are masked in the copy"
    assert executed.cells[4].outputs[0]["data"]["text/plain"] == "42"


def test_a_failing_second_cell_fails_the_run_with_its_traceback(ws: Workspace) -> None:
    key = notebook_task(
        ws,
        "broken",
        'print("first cell ran")',
        "def divide(a):\n    return a / 0\n\ndivide(1)",
        'print("third cell ran")',
        markdown_first=True,
        kernel=None,
    )
    run = ws.run(key)
    lines = ws.lines(run.id)
    assert run.status == RunStatus.FAILED
    assert run.exit_code == 1
    assert "first cell ran" in lines and "third cell ran" not in lines
    assert "cell 3 raised ZeroDivisionError: division by zero" in lines
    assert any("return a / 0" in line for line in lines)
    assert not any("\x1b[" in line for line in lines)
    assert run.error is not None
    assert "notebook failed at cell 3: ZeroDivisionError: division by zero" in run.error
    executed = nbformat.read(_outputs(ws, run.id)[0], as_version=4)
    assert executed.cells[2].outputs[-1]["ename"] == "ZeroDivisionError"
    assert executed.metadata["duftui"]["outcome"] == "failed"


def test_output_reaches_the_store_while_the_cell_still_runs(ws: Workspace) -> None:
    key = notebook_task(
        ws, "live", 'import time\nprint("first", flush=True)\ntime.sleep(1)\nprint("second")'
    )
    runner = spawn_duftui(ws, "run", key)
    try:
        run_id = wait_for(lambda: ws.runs() and ws.runs()[0][0], timeout=30)
        wait_for(lambda: "first" in ws.lines(run_id), timeout=30)
        assert "second" not in ws.lines(run_id)
        assert ws.get(run_id).status == RunStatus.RUNNING
        assert runner.wait(timeout=60) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
    assert "second" in ws.lines(run_id)


def test_cancel_mid_cell_interrupts_then_shuts_the_kernel_down(ws: Workspace) -> None:
    key = notebook_task(
        ws,
        "slow",
        """
        import time
        try:
            print("sleeping", flush=True)
            time.sleep(120)
        finally:
            print("cleanup ran", flush=True)
        """,
        'print("never")',
        run_extra='kill_grace = "8s"\n',
    )
    runner = spawn_duftui(ws, "run", key, "--exit-code", "task")
    try:
        run_id = wait_for(lambda: ws.runs() and ws.runs()[0][0], timeout=30)
        wait_for(lambda: "sleeping" in ws.lines(run_id), timeout=30)
        pid = kernel_pid(ws.lines(run_id))
        assert pid is not None and psutil.pid_exists(pid)
        assert duftui(ws, "cancel", str(run_id)).returncode == 0
        assert runner.wait(timeout=60) == 130
    finally:
        if runner.poll() is None:
            runner.kill()
    run = ws.get(run_id)
    lines = ws.lines(run_id)
    assert run.status == RunStatus.CANCELLED, lines
    assert "cleanup ran" in lines and "never" not in lines
    assert any("was interrupted" in line for line in lines)
    wait_for(lambda: not pid_alive(pid), timeout=10)
    assert _outputs(ws, run_id), "the partly executed notebook is kept"


def test_timeout_stops_the_notebook_and_its_kernel(ws: Workspace) -> None:
    key = notebook_task(
        ws,
        "late",
        'import time\nprint("waiting", flush=True)\ntime.sleep(120)',
        extra='timeout = "5s"\n',
    )
    run = ws.run(key)
    lines = ws.lines(run.id)
    assert run.status == RunStatus.TIMED_OUT, lines
    pid = kernel_pid(lines)
    assert pid is not None and "waiting" in lines, lines
    wait_for(lambda: not pid_alive(pid), timeout=10)


def test_unknown_kernel_is_a_clear_error(ws: Workspace) -> None:
    key = notebook_task(ws, "nokernel", "print(1)", kernel="no-such-kernel")
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    assert "no Jupyter kernel named 'no-such-kernel'" in (run.error or "")
    assert "python3" in (run.error or "")


def test_processes_a_cell_leaves_behind_end_with_the_kernel(ws: Workspace, tmp_path) -> None:
    pid_file = tmp_path / "child.pid"
    key = notebook_task(
        ws,
        "leaver",
        f"""
        import subprocess
        child = subprocess.Popen(["sleep", "300"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        print("left a child running")
        """,
    )
    run = ws.run(key)
    assert run.status == RunStatus.SUCCEEDED, ws.lines(run.id)
    child = int(pid_file.read_text())
    wait_for(lambda: not pid_alive(child), timeout=10)


def test_a_kernel_that_exits_fails_the_run(ws: Workspace) -> None:
    key = notebook_task(
        ws, "exits", 'print("about to leave", flush=True)', "import os\nos._exit(3)", "print(2)"
    )
    run = ws.run(key)
    lines = ws.lines(run.id)
    assert run.status == RunStatus.FAILED, lines
    assert "about to leave" in lines
    assert any("the kernel died while running cell 2 (exit code 3)" in line for line in lines)
