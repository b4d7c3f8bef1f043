"""Prune of a million runs: `duftui prune`'s short transactions against one `DELETE` of the
same rows in the sqlite3 shell, on two copies of one generated state file.

    python bench/prune_bench.py [--runs 1000000] [--log-lines 2000000]

Goals: the prune takes ≤ 1.5× the plain DELETE, and no write transaction of the prune
holds the lock for 100 ms or more (the daemon keeps firing meanwhile). The baseline runs
in the `sqlite3` shell when it is installed (apt install sqlite3), else through Python's
sqlite3 module (the same library).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gen_runs import generate_runs
from duftui.engine.retention import Retention
from duftui.store import prune as store_prune
from duftui.store.db import Store

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CUT = timedelta(days=90)


def _add_logs(path: Path, runs: int, lines: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        body = "\n".join(f"row {i:03d} copied" for i in range(500))
        picked = random.Random(3).sample(range(1, runs + 1), lines // 500)
        conn.executemany(
            "INSERT INTO log_chunk (run_id, first_seq, line_count, first_ts, last_ts, lines) "
            "VALUES (?, 1, 500, 0, 0, ?)",
            ((run_id, '{"s":"o"}\n' + body) for run_id in picked),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _baseline(path: Path, ids: list[int]) -> float:
    """The same rows deleted in one transaction, timed around the shell or module."""
    id_file = path.with_suffix(".ids")
    id_file.write_text("\n".join(map(str, ids)) + "\n")
    script = (
        "PRAGMA foreign_keys = ON;\n"
        "CREATE TEMP TABLE doomed (id INTEGER PRIMARY KEY);\n"
        f".import {id_file} doomed\n"
        "BEGIN IMMEDIATE;\n"
        "UPDATE run SET retry_of = NULL WHERE retry_of IN (SELECT id FROM doomed);\n"
        "DELETE FROM run WHERE id IN (SELECT id FROM doomed);\n"
        "COMMIT;\n"
    )
    shell = shutil.which("sqlite3")
    if shell:
        started = time.perf_counter()
        subprocess.run([shell, str(path)], input=script, text=True, check=True)
        return time.perf_counter() - started
    conn = sqlite3.connect(path, isolation_level=None)
    started = time.perf_counter()
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TEMP TABLE doomed (id INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO doomed VALUES (?)", ((i,) for i in ids))
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE run SET retry_of = NULL WHERE retry_of IN (SELECT id FROM doomed)")
    conn.execute("DELETE FROM run WHERE id IN (SELECT id FROM doomed)")
    conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--log-lines", type=int, default=2_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="duftui-prune-bench-") as tmp:
        source = Path(tmp) / "source.db"
        generate_runs(source, args.runs)
        _add_logs(source, args.runs, args.log_lines)
        ours, theirs = Path(tmp) / "ours.db", Path(tmp) / "theirs.db"
        shutil.copy(source, ours)
        shutil.copy(source, theirs)

        store = Store(ours)
        retention = Retention(runs=CUT)
        policy = retention.policy(NOW)
        started = time.perf_counter()
        runs, log_runs = store_prune.plan(store, policy)
        ids = [run_id for run_id, _ in runs]
        result = store_prune.delete(store, ids, log_runs, policy.runs_before, audit=None)
        ours_s = time.perf_counter() - started
        store.close()

        base_s = _baseline(theirs, ids)
        print(json.dumps(result.as_dict()))
        print(f"runs removed: {len(ids):,} of {args.runs:,}; log lines {result.log_lines:,}")
        print(f"duftui prune:  {ours_s:7.2f} s in {result.transactions} transactions "
              f"(selection, deletes, incremental vacuum)")
        print(f"one DELETE:    {base_s:7.2f} s ({'sqlite3 shell' if shutil.which('sqlite3') else 'sqlite3 module'})")
        print(f"longest write lock: {result.longest_lock_s * 1000:.1f} ms (goal < 100 ms)")
        print(f"prune ratio: {ours_s / base_s:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
