"""SQL → CSV: 1,000,000 rows from SQLite through duftui against `sqlite3 -csv` on the same
query, measured in the same run (goal: ≤ 2×), with the peak memory of each process.

Two duftui figures: the export alone (SQLAlchemy + the CSV writer, in a fresh process) and a
whole run (`duftui run`-style: supervisor, step-runner process start-up, row counting,
output file recorded with its md5). Usage: python bench/sql_export_bench.py [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

QUERY = "SELECT id, name, amount, day, note FROM t ORDER BY id"

EXPORT = """
import sys, time
from pathlib import Path
from duftui.definitions.models import Output, Source
from duftui.steps import sql
from duftui.steps.output import write_rows
from duftui.steps.report import Reporter
db, out, query = sys.argv[1:4]
started = time.perf_counter()
engine = sql.make_engine("bench", {"type": "sqlite", "path": db})
built = sql.Query(sql=query, bind={}, origin="bench")
counter = sql.RowCounter(Reporter())
rows = sql.export(engine, built, 10_000, sql.Deadline(None, lambda: False),
                  lambda columns, blocks: write_rows(Path(out), Output(), columns, blocks))
print(time.perf_counter() - started)
"""


def make_db(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (id INTEGER, name TEXT, amount REAL, day TEXT, note TEXT)")
        db.execute(
            "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c LIMIT ?) "
            "INSERT INTO t SELECT x, 'name ' || x, x * 0.25, "
            "'2025-01-' || printf('%02d', x % 28 + 1), "
            "CASE WHEN x % 10 = 0 THEN 'a, b \"quoted\"' ELSE 'plain note' END FROM c",
            (rows,),
        )
    db.close()


def timed(
    argv: list[str],
    stdout_path: Path,
    env: dict[str, str] | None = None,
) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one child process writing to `stdout_path`."""
    with open(stdout_path, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    assert os.waitstatus_to_exitcode(status) == 0, argv
    return elapsed, usage.ru_maxrss


def whole_run(root: Path, db: Path) -> tuple[float, int, Path]:
    """A real run through the supervisor; returns its duration, step RSS and output file."""
    import anyio

    from duftui.definitions.loader import load_workspace
    from duftui.definitions.secrets import SecretStore
    from duftui.engine.submit import submit_task
    from duftui.engine.supervisor import Supervisor
    from duftui.store.db import Store
    from duftui.store.outputs import outputs_of
    from duftui.store.runs import get_run

    (root / "tasks" / "b").mkdir(parents=True)
    (root / "connections.toml").write_text(f'[bench]\ntype = "sqlite"\npath = "{db}"\n')
    (root / "tasks" / "b" / "export.toml").write_text(
        'name = "export"\n[run]\nkind = "sql"\n[source]\nconnection = "bench"\n'
        f'query = "{QUERY}"\n[output]\nname = "export.csv"\nmd5 = false\n'
    )
    store = Store(root / ".duftui" / "state.db")
    catalogue = load_workspace(root)
    submitted = submit_task(store, catalogue, "b/export")
    supervisor = Supervisor(
        store,
        catalogue,
        SecretStore(root / "secrets.toml"),
        batch_id=submitted.batch_id,
        poll_interval=0.05,
    )
    start = time.perf_counter()
    anyio.run(supervisor.run, True)
    elapsed = time.perf_counter() - start
    with store.read() as conn:
        run = get_run(conn, submitted.run_ids[0])
        files = outputs_of(conn, submitted.run_ids[0])
    store.close()
    assert run is not None and run.status == "succeeded", run
    return elapsed, run.max_rss_kb or 0, Path(files[0].path)


def same_rows(left: Path, right: Path) -> bool:
    with open(left, newline="") as a, open(right, newline="") as b:
        return all(x == y for x, y in zip(csv.reader(a), csv.reader(b), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for each figure")
    args = parser.parse_args()
    if shutil.which("sqlite3") is None:
        sys.exit("sqlite3 (the command-line shell) is needed for the baseline")
    root = Path(tempfile.mkdtemp(prefix="duftui-sqlbench-"))
    try:
        db = root / "bench.db"
        make_db(db, args.rows)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        cli_out, ours_out = root / "sqlite3.csv", root / "duftui.csv"
        base = min(
            timed(["sqlite3", "-csv", "-header", str(db), QUERY], cli_out)
            for _ in range(args.repeat)
        )
        inner = root / "inner.txt"
        exports = []
        for _ in range(args.repeat):
            whole, rss = timed(
                [sys.executable, "-c", EXPORT, str(db), str(ours_out), QUERY], inner, env
            )
            exports.append((float(inner.read_text()), whole, rss))
        export = min(exports)
        assert same_rows(cli_out, ours_out), "duftui's CSV differs from sqlite3's"
        runs = []
        for index in range(args.repeat):
            runs.append(whole_run(root / f"ws{index}", db)[:2])
        run = min(runs)
        size = ours_out.stat().st_size / 1e6
        print(
            f"SQL → CSV, {args.rows:,} rows, {size:.0f} MB (best of {args.repeat}; rows "
            "identical after parsing)"
        )
        print(f"  sqlite3 -csv          {base[0]:6.2f} s   peak {base[1] / 1024:6.1f} MiB")
        print(
            f"  duftui export         {export[0]:6.2f} s   peak {export[2] / 1024:6.1f} MiB"
            f"   ratio {export[0] / base[0]:.2f}x (goal <= 2x)"
        )
        print(f"    + Python start-up   {export[1]:6.2f} s{'':22}ratio {export[1] / base[0]:.2f}x")
        print(
            f"  duftui run (whole)    {run[0]:6.2f} s   peak {run[1] / 1024:6.1f} MiB"
            f"   ratio {run[0] / base[0]:.2f}x"
        )
        print(
            f"  rows/s: sqlite3 {args.rows / base[0]:,.0f}, duftui export "
            f"{args.rows / export[0]:,.0f}"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
