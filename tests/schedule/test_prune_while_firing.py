"""A prune of a million runs and ten million log lines while a real daemon fires an
every-second schedule: no fire late by more than a second, no "database is locked", the
state file shrinks, and what is kept is intact."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime

import pytest

from bench.gen_runs import generate_runs
from tests.conftest import python_env
from tests.engine.conftest import Workspace, wait_for
from tests.schedule.conftest import Daemon

RUNS = 1_000_000
LOG_LINES = 10_000_000
LINES_PER_CHUNK = 500


def _add_logs(path, runs: int, lines: int) -> None:
    """Ten million lines in 500-line chunks, spread over runs all through the history."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN IMMEDIATE")
        rng = random.Random(3)
        chunks = lines // LINES_PER_CHUNK
        body = "\n".join(f"row {i:03d} copied" for i in range(LINES_PER_CHUNK))
        meta = json.dumps({"s": "o"})
        picked = rng.sample(range(1, runs + 1), chunks)
        conn.executemany(
            "INSERT INTO log_chunk (run_id, first_seq, line_count, first_ts, last_ts, lines) "
            "VALUES (?, 1, ?, 0, 0, ?)",
            ((run_id, LINES_PER_CHUNK, meta + "\n" + body) for run_id in picked),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


@pytest.mark.timeout(900)
def test_prune_a_million_runs_while_the_daemon_fires_every_second(ws: Workspace) -> None:
    db = ws.root / ".duftui" / "state.db"
    generate_runs(db, RUNS)
    _add_logs(db, RUNS, LOG_LINES)
    ws.task(
        "tick",
        'name = "tick"\n[run]\nkind = "command"\ncommand = ["true"]\n'
        '[[schedule]]\nevery = "1s"\nmisfire = "all"\n',
    )
    with sqlite3.connect(db) as raw:
        kept_dead = {r[0] for r in raw.execute(
            "SELECT id FROM run WHERE dead = 1 AND acknowledged_at IS NULL")}
        newest = {r[0] for r in raw.execute("SELECT max(id) FROM run GROUP BY task_key")}
        kept_logs = dict(raw.execute(
            "SELECT run_id, count(*) FROM log_chunk WHERE run_id IN "
            f"({','.join(map(str, kept_dead | newest))}) GROUP BY run_id").fetchall())
    raw.close()
    size_before = db.stat().st_size

    daemon = Daemon(ws)
    try:
        daemon.wait_ready(timeout=120)
        wait_for(lambda: _fires(ws) >= 3, timeout=60)
        started = datetime.now().astimezone()
        pruned = subprocess.run(
            [sys.executable, "-m", "duftui", "--workspace", str(ws.root), "prune",
             "--older-than", "90d", "--json"],
            capture_output=True, text=True, env=python_env(), timeout=800,
        )
        ended = datetime.now().astimezone()
        assert pruned.returncode == 0, pruned.stderr
        result = json.loads(pruned.stdout)
        count_after = _fires(ws)
        try:
            wait_for(lambda: _fires(ws) >= count_after + 2, timeout=120)
        except AssertionError:
            raise AssertionError("no fires after the prune:\n" + daemon.output()[-3000:]) from None
    finally:
        daemon.signal(signal.SIGTERM)
        daemon.wait(timeout=120)

    output = daemon.output()
    assert "database is locked" not in output + pruned.stderr
    assert result["runs"] >= RUNS - len(kept_dead) - len(newest) - 100
    assert result["log_lines"] >= LOG_LINES * 0.9
    lateness = _lateness(ws, started, ended)
    assert len(lateness) >= 1  # the schedule fired during the prune …
    assert max(lateness) < 1.0, sorted(lateness)[-5:]  # … and never a second late
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        left = {r[0] for r in raw.execute("SELECT id FROM run WHERE task_key != 'p/tick'")}
        assert kept_dead | newest <= left
        logs = dict(raw.execute(
            "SELECT run_id, count(*) FROM log_chunk WHERE run_id IN "
            f"({','.join(map(str, kept_logs))}) GROUP BY run_id").fetchall())
        assert logs == kept_logs
    raw.close()
    assert db.stat().st_size < size_before / 3
    assert result["longest_lock_ms"] < 1000


def _fires(ws: Workspace) -> int:
    with sqlite3.connect(ws.root / ".duftui" / "state.db", timeout=30) as raw:
        count = raw.execute(
            "SELECT count(*) FROM fire WHERE schedule_key = 'p/tick#0'").fetchone()[0]
    raw.close()
    return int(count)


def _lateness(ws: Workspace, start: datetime, end: datetime) -> list[float]:
    """Seconds from each fire's due time to its record, for fires due during the prune."""
    with sqlite3.connect(ws.root / ".duftui" / "state.db", timeout=30) as raw:
        rows = raw.execute(
            "SELECT fire_time, created_at FROM fire WHERE schedule_key = 'p/tick#0'"
        ).fetchall()
    raw.close()
    late = []
    for due_text, made_text in rows:
        due = datetime.fromisoformat(due_text)
        if start <= due <= end:
            late.append((datetime.fromisoformat(made_text) - due).total_seconds())
    return late
