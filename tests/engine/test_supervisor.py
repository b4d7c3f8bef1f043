"""The supervisor with real subprocesses: every outcome and what the store records."""

from __future__ import annotations

import json
from pathlib import Path

from duftui.engine.events import RunFinished, RunStarted
from duftui.store.logs import read_lines
from duftui.store.outputs import outputs_of
from duftui.store.states import RunStatus
from tests.engine.conftest import Workspace


def test_success_records_lines_resources_and_environment(ws: Workspace) -> None:
    key = ws.python_task("hello", """
        import json, os, sys
        print("hello", os.environ["DUFTUI_RUN_ID"], os.environ["DUFTUI_TASK"])
        print("to stderr", file=sys.stderr)
        print("params", json.loads(os.environ["DUFTUI_PARAMS"]), os.environ["who"])
        print("outdir", os.path.isdir(os.environ["DUFTUI_OUTPUT_DIR"]))
        x = bytearray(20 * 1024 * 1024)
        """, extra='[params.who]\ndefault = "Ada"\n')
    events = []
    submitted = ws.submit(key)
    ws.supervise(batch_id=submitted.batch_id, listener=events.append)
    run = ws.get(submitted.run_ids[0])
    assert run.status == RunStatus.SUCCEEDED and run.exit_code == 0 and run.error is None
    stdout = ws.lines(run.id, "stdout")
    assert stdout[0] == f"hello {run.id} p/hello"
    assert stdout[1] == "params {'who': 'Ada'} Ada"
    assert stdout[2] == "outdir True"
    assert ws.lines(run.id, "stderr") == ["to stderr"]
    assert run.max_rss_kb and run.max_rss_kb > 20_000
    assert run.cpu_user_s is not None and run.cpu_sys_s is not None
    assert run.started_at and run.finished_at and run.finished_at >= run.started_at
    assert run.pid and run.pid_started and run.log_lines == len(ws.lines(run.id))
    with ws.store.read() as conn:  # the start line is stored with the pid, then the output
        lines = read_lines(conn, run.id, 1, 1000)
    assert [ln.seq for ln in lines] == list(range(1, len(lines) + 1))
    assert lines[0].stream == "event" and lines[0].text.startswith("starting ")
    assert lines[-1].stream == "event" and lines[-1].text == "finished: succeeded"
    assert json.loads(run.params) == {"who": "Ada"}
    kinds = [type(e) for e in events]
    assert RunStarted in kinds and kinds[-1] is RunFinished


def test_failure_keeps_last_error_lines_as_summary(ws: Workspace) -> None:
    key = ws.python_task("boom", """
        import sys
        print("working")
        print("warning: disk almost full", file=sys.stderr)
        print("ERROR: upstream answered 503", file=sys.stderr)
        sys.exit(3)
        """)
    run = ws.run(key)
    assert run.status == RunStatus.FAILED and run.exit_code == 3
    assert run.error == ("warning: disk almost full\nERROR: upstream answered 503\n"
                         "(exit code 3)")
    assert run.dead  # no attempts left


def test_streams_partial_lines_bad_bytes_long_lines_and_ansi(ws: Workspace) -> None:
    key = ws.python_task("raw", r"""
        import sys
        out = sys.stdout.buffer
        out.write(b"\x1b[31mred\x1b[0m\n")
        out.write(b"bad \xff\xfe bytes\n")
        out.write(b"x" * (1024 * 1024 + 10) + b"\n")
        out.write(b"after long\n")
        out.write(b"no newline at end")
        """)
    run = ws.run(key)
    lines = ws.lines(run.id, "stdout")
    assert lines[0] == "\x1b[31mred\x1b[0m"
    assert lines[1] == "bad \ufffd\ufffd bytes"
    assert lines[2].startswith("x" * 1000) and lines[2].endswith("[line cut: longer than 1 MiB]")
    assert len(lines[2]) < 1024 * 1024 + 100
    assert lines[3:] == ["after long", "no newline at end"]


def test_timeout_kills_a_task_that_ignores_sigterm(ws: Workspace) -> None:
    key = ws.task("stubborn", """
        name = "stubborn"
        timeout = "1s"
        [run]
        kind = "python"
        file = "scripts/stubborn.py"
        kill_grace = "500ms"
        """, """
        import signal, time
        signal.signal(signal.SIGTERM, lambda *a: print("ignoring SIGTERM", flush=True))
        print("started", flush=True)
        time.sleep(60)
        """)
    run = ws.run(key)
    assert run.status == RunStatus.TIMED_OUT
    assert run.error == "timed out after 1s"
    lines = ws.lines(run.id)
    assert "ignoring SIGTERM" in lines
    assert any("sending SIGKILL" in line for line in lines)
    assert (run.finished_at - run.started_at).total_seconds() < 10


def test_spawn_failure_is_a_failed_run_with_a_reason(ws: Workspace) -> None:
    key = ws.task("missing", """
        name = "missing tool"
        [run]
        kind = "command"
        command = ["definitely-not-a-real-program-xyz", "--flag"]
        """)
    run = ws.run(key)
    assert run.status == RunStatus.FAILED
    assert "could not start 'definitely-not-a-real-program-xyz'" in run.error


def test_command_kind_with_shell(ws: Workspace) -> None:
    key = ws.task("sh", """
        name = "shell"
        [run]
        kind = "command"
        shell = true
        command = "echo one && echo two >&2 && exit 4"
        """)
    run = ws.run(key)
    assert run.status == RunStatus.FAILED and run.exit_code == 4
    assert ws.lines(run.id, "stdout") == ["one"]
    assert ws.lines(run.id, "stderr") == ["two"]


def test_task_helper_levels_progress_and_outputs(ws: Workspace, tmp_path: Path) -> None:
    key = ws.python_task("helper", """
        import os
        from pathlib import Path
        from duftui import task
        task.log("plain info")
        task.warning("careful")
        task.error("broken thing")
        task.progress(5, 10)
        task.progress(10, 10, "all done")
        target = Path(os.environ["DUFTUI_OUTPUT_DIR"]) / "result.csv"
        target.write_text("a,b\\n1,2\\n")
        task.output(target)
        """)
    run = ws.run(key)
    assert run.status == RunStatus.SUCCEEDED
    with ws.store.read() as conn:
        from duftui.store.logs import read_lines

        lines = [(ln.text, ln.level) for ln in read_lines(conn, run.id) if ln.stream == "stdout"]
        outputs = outputs_of(conn, run.id)
    assert lines[:3] == [("plain info", 20), ("careful", 30), ("broken thing", 40)]
    assert run.progress_done == 10 and run.progress_total == 10
    assert len(outputs) == 1 and outputs[0].size == 8
    import hashlib

    assert outputs[0].md5 == hashlib.md5(b"a,b\n1,2\n").hexdigest()


def test_level_detection_on_plain_lines(ws: Workspace) -> None:
    key = ws.python_task("levels", """
        import logging, sys
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(levelname)s %(message)s")
        logging.debug("d"); logging.info("i"); logging.warning("w"); logging.error("e")
        print("Traceback (most recent call last):", file=sys.stderr)
        """)
    run = ws.run(key)
    with ws.store.read() as conn:
        from duftui.store.logs import read_lines

        levels = [ln.level for ln in read_lines(conn, run.id) if ln.stream == "stderr"]
    assert levels == [10, 20, 30, 40, 40]


def test_cwd_task_and_root(ws: Workspace) -> None:
    ws.python_task("where", "import os; print(os.getcwd())")
    ws.task("rooted", """
        name = "rooted"
        [run]
        kind = "python"
        file = "scripts/rooted.py"
        cwd = "root"
        """, "import os; print(os.getcwd())")
    ws.task("inscripts", """
        name = "inscripts"
        [run]
        kind = "python"
        file = "scripts/inscripts.py"
        cwd = "script"
        """, "import os; print(os.getcwd())")
    assert ws.lines(ws.run("p/where").id, "stdout") == [str(ws.root / "tasks" / "p")]
    assert ws.lines(ws.run("p/inscripts").id, "stdout") == [str(ws.root / "tasks/p/scripts")]
    assert ws.lines(ws.run("p/rooted").id, "stdout") == [str(ws.root)]
