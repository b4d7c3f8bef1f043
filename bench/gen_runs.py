"""Generate a state file with N runs of realistic history, fast.

    python bench/gen_runs.py [--runs 1000000] [--seed 7] [FILE]

The schema comes from `Store` (so the file is a real, migrated state file); rows go in
through one raw `executemany` with the indexes dropped and rebuilt afterwards, which takes
a million runs in seconds instead of minutes. Values look like a busy installation: about
60 tasks in 8 projects, mostly scheduled, mostly successful, with failures whose error text
has commas, quotes, newlines and non-ASCII characters (the cases CSV export must quote).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from duftui.store.db import Store

PROJECTS = {
    "clinic": ["extract", "load-patients", "visits", "labs", "referrals", "nightly-summary"],
    "finance": ["ledger", "invoices", "payroll-sync", "budget", "fx-rates"],
    "hr": ["staff", "leave", "training", "roster"],
    "lab": ["results", "qc", "instruments", "samples", "export-lims"],
    "pharmacy": ["stock", "dispensing", "orders", "expiry-report"],
    "registry": ["births", "deaths", "migration", "dedupe", "geo-codes", "publish"],
    "reporting": ["daily", "weekly", "monthly", "dashboard", "dhis2-push", "kpi"],
    "sync": ["sftp-pull", "sftp-push", "smb-archive", "api-fetch", "mirror"],
}
TASKS = [f"{project}/{task}" for project, tasks in PROJECTS.items() for task in tasks]
STATUSES = (
    ["succeeded"] * 850
    + ["failed"] * 70
    + ["timed_out"] * 10
    + ["cancelled"] * 20
    + ["skipped"] * 30
    + ["lost"] * 5
)
TRIGGERS = ["schedule"] * 80 + ["manual"] * 8 + ["dependency"] * 7 + ["cli"] * 5
USERS = ["alice", "bob", "ops", "jürgen", "mary-ann"]
ERRORS = [
    'psycopg.errors.UndefinedTable: relation "patients" does not exist\n'
    "LINE 1: SELECT id, name, dob FROM patients WHERE visit_date >= '2024-01-01'",
    "Timeout after 30m, process killed (SIGKILL)",
    'Verbindung fehlgeschlagen: Zeitüberschreitung bei "sftp.example.org", Port 22',
    "KeyError: 'visit_date'",
    'ValueError: could not convert string to float: "1,5"',
    "exit code 2: No such file or directory, 'input/2024-01-01.csv'",
    "échec de l'export : « disque plein », 0 octets écrits",
    'SMB error: STATUS_ACCESS_DENIED, share "\\\\fs01\\reports"',
]
EXIT_CODES = [1, 1, 1, 2, 137, 143]
START = datetime(2023, 1, 1, tzinfo=UTC)

COLUMNS = (
    "id, task_key, project, batch_id, attempt, max_attempts, retry_of, trigger, requested_by, "
    "schedule_key, params, status, queued_at, started_at, finished_at, exit_code, error, pid, "
    "host, cpu_user_s, cpu_sys_s, max_rss_kb, definition_hash, dead, acknowledged_at, "
    "acknowledged_by, log_lines"
)


def _rows(count: int, seed: int, first_id: int) -> Iterator[tuple[object, ...]]:
    rng = random.Random(seed)
    rand = rng.random
    hashes = {task: f"{rng.getrandbits(64):016x}" for task in TASKS}
    at = START.replace(tzinfo=None)
    for offset in range(count):
        run_id = first_id + offset
        task_key = TASKS[int(rand() * len(TASKS))]
        project = task_key.split("/", 1)[0]
        trigger = TRIGGERS[int(rand() * len(TRIGGERS))]
        status = STATUSES[int(rand() * len(STATUSES))]
        at += timedelta(microseconds=int(rand() * 60_000_000) + 1)
        queued = at.isoformat(timespec="microseconds") + "+00:00"
        attempt, retry_of = 1, None
        if status != "succeeded" and rand() < 0.3 and run_id > 50:
            trigger, attempt, retry_of = "retry", 2 + int(rand() * 2), run_id - 1 - int(rand() * 49)
        started = finished = None
        exit_code = error = pid = cpu_user = cpu_sys = rss = None
        if status != "skipped":
            begin = at + timedelta(microseconds=int(rand() * 5_000_000))
            end = begin + timedelta(seconds=rng.lognormvariate(3.0, 1.5))
            started = begin.isoformat(timespec="microseconds") + "+00:00"
            finished = end.isoformat(timespec="microseconds") + "+00:00"
            pid = 1000 + int(rand() * 4_000_000)
            cpu_user = round(0.05 + rand() * 300.0, 3)
            cpu_sys = round(0.01 + rand() * 20.0, 3)
            rss = 20_000 + int(rand() * 4_000_000)
            exit_code = 0 if status == "succeeded" else EXIT_CODES[int(rand() * len(EXIT_CODES))]
        if status in ("failed", "timed_out", "lost"):
            error = ERRORS[int(rand() * len(ERRORS))]
        elif status == "skipped":
            error = "needs clinic/load-patients, which failed"
        elif status == "cancelled":
            exit_code, error = -15, f"cancelled by {USERS[int(rand() * len(USERS))]}"
        if trigger in ("schedule", "dependency", "retry"):
            user = ""
        else:
            user = USERS[int(rand() * len(USERS))]
        dead = int(status in ("failed", "timed_out", "lost") and attempt >= 3)
        acked = (finished or queued) if dead and rand() < 0.8 else None
        yield (
            run_id,
            task_key,
            project,
            None,
            attempt,
            3,
            retry_of,
            trigger,
            user,
            f"{task_key}#0" if trigger == "schedule" else None,
            f'{{"limit": {1 + int(rand() * 9)}, "start_date": "{queued[:10]}"}}',
            status,
            queued,
            started,
            finished,
            exit_code,
            error,
            pid,
            "etl01" if run_id % 3 else "etl02",
            cpu_user,
            cpu_sys,
            rss,
            hashes[task_key],
            dead,
            acked,
            "ops" if acked else None,
            int(rand() * 5000),
        )


def generate_runs(path: Path, runs: int = 1_000_000, seed: int = 7) -> Path:
    """Create (or extend) a state file at `path` with `runs` more runs; returns the path."""
    Store(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -200000")
        first_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM run").fetchone()[0]
        conn.execute("BEGIN IMMEDIATE")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'run' "
            "AND sql IS NOT NULL"
        ).fetchall()
        for name, _sql in indexes:
            conn.execute(f"DROP INDEX {name}")
        placeholders = ", ".join("?" * len(COLUMNS.split(",")))
        conn.executemany(
            f"INSERT INTO run ({COLUMNS}) VALUES ({placeholders})",
            _rows(runs, seed, first_id),
        )
        for _name, sql in indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path


def default_path(runs: int) -> Path:
    return Path(tempfile.gettempdir()) / "duftui-bench" / f"runs-{runs}.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="state file (default: a temp path)")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    path = args.file or default_path(args.runs)
    if path.exists():
        sys.exit(f"{path} exists; remove it first (or give another FILE)")
    started = time.perf_counter()
    generate_runs(path, args.runs, args.seed)
    took = time.perf_counter() - started
    print(f"wrote {args.runs:,} runs to {path} in {took:.1f} s ({path.stat().st_size >> 20} MiB)")


if __name__ == "__main__":
    main()
