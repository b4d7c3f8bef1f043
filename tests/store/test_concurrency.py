"""Three writer processes and a reader process share one state file (DESIGN §4: the
console, the daemon and CLI commands use it at the same time; none may ever surface
"database is locked", and nothing written may be lost).

The run lasts DUFTUI_CONCURRENCY_SECONDS (default 30).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from duftui.store.db import Store
from duftui.store.logs import read_lines
from duftui.store.runs import RunFilter, count_runs, get_run
from duftui.store.states import RunStatus
from tests.conftest import REPO, python_env
from tests.store.workers import expected_level, expected_line

SECONDS = float(os.environ.get("DUFTUI_CONCURRENCY_SECONDS", "30"))
WRITERS = 3


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.workers", *args],
        cwd=REPO,
        env=python_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_three_writers_and_a_reader_lose_nothing_and_never_see_a_lock(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    Store(db).close()
    go = tmp_path / "go"
    reports = [tmp_path / f"writer-{n}.json" for n in range(WRITERS)]
    reader_report = tmp_path / "reader.json"
    procs = [
        _spawn("writer", str(db), str(n), str(SECONDS), str(go), str(report))
        for n, report in enumerate(reports)
    ]
    procs.append(_spawn("reader", str(db), str(SECONDS), str(go), str(reader_report)))
    go.touch()
    outputs = [proc.communicate(timeout=SECONDS + 180)[0] for proc in procs]
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, output

    written = [json.loads(report.read_text()) for report in reports]
    reader = json.loads(reader_report.read_text())
    errors = [e for w in written for e in w["errors"]] + reader["errors"]
    assert errors == []
    assert not any("locked" in output for output in outputs)
    assert reader["iterations"] > 10 and reader["lines_checked"] > 0
    assert reader["fresh_opens"] > 0

    store = Store(db, create=False)
    total_runs = total_lines = 0
    with store.read() as conn:
        for wid, report in enumerate(written):
            runs = {int(run_id): lines for run_id, lines in report["runs"].items()}
            assert len(runs) > 5, f"writer {wid} barely ran: {report}"
            assert sorted(report["finished"]) == sorted(runs)
            for run_id, lines in runs.items():
                run = get_run(conn, run_id)
                assert run is not None, f"run {run_id} of writer {wid} is missing"
                assert run.task_key.startswith(f"w{wid}/")
                assert run.status == RunStatus.SUCCEEDED
                assert run.started_at is not None and run.finished_at is not None
                assert run.log_lines == lines
                stored = read_lines(conn, run_id, 1, lines + 10)
                assert [line.seq for line in stored] == list(range(1, lines + 1))
                for line in stored:
                    assert line.text == expected_line(wid, run_id, line.seq)
                    assert line.level == expected_level(line.seq)
            total_runs += len(runs)
            total_lines += sum(runs.values())
            assert count_runs(conn, RunFilter(project=f"w{wid}")) == len(runs)
        assert count_runs(conn) == total_runs
        assert reader["max_count"] <= total_runs
        stored_lines = conn.exec_driver_sql("SELECT sum(line_count) FROM log_chunk").scalar()
        chunks = conn.exec_driver_sql("SELECT count(*) FROM log_chunk").scalar()
    store.close()
    print(f"{total_runs} runs, {total_lines} lines in {chunks} chunks; reader: {reader}")
    assert stored_lines == total_lines
    assert chunks < total_lines / 10
