"""A state file that stops taking writes (full disk, I/O error) loses no log line.

The child process below lowers its own file-size limit (RLIMIT_FSIZE) below the size of
the state file and its WAL, so every SQLite write fails for real, as on a full disk; then
it raises the limit again, as when space is freed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from duftui.store.db import Store
from duftui.store.logs import read_lines
from tests.conftest import python_env
from tests.store.factories import add_run

resource = pytest.importorskip("resource", reason="needs POSIX resource limits")

CHILD = textwrap.dedent("""
    import logging, resource, signal, sys, time
    from pathlib import Path
    from duftui.store.db import Store
    from duftui.store.logwriter import LogWriter

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
    store = Store(Path(sys.argv[1]))
    run_id = int(sys.argv[2])
    writer = LogWriter(store)
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # nothing past 4 KiB
    for n in range(300):
        writer.add(run_id, "stdout", 20, f"line {n} " + "x" * 100)
    done = writer.call(lambda conn: "finished")
    time.sleep(4)  # longer than a few tries: the writer keeps the lines and tries again
    print("done early:", done.done(), flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space is back
    print("result:", done.result(timeout=30), flush=True)
    writer.stop()
""")


def test_lines_wait_for_a_state_file_that_takes_no_writes(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store(path)
    with store.write() as conn:
        run_id = add_run(conn, status="running")
    store.close()
    assert path.stat().st_size > 4096  # so the limit below stops every write
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(run_id)],
        capture_output=True, text=True, timeout=120, env=python_env(),
    )
    assert child.returncode == 0, child.stderr
    assert "done early: False" in child.stdout
    assert "result: finished" in child.stdout
    assert "cannot write to the state file" in child.stderr
    assert "free disk space" in child.stderr
    assert "the state file takes writes again" in child.stderr
    store = Store(path)
    try:
        with store.read() as conn:
            lines = [line.text for line in read_lines(conn, run_id)]
    finally:
        store.close()
    assert lines == [f"line {n} " + "x" * 100 for n in range(300)]
