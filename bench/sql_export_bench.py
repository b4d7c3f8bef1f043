"""SQL → CSV: 1,000,000 rows from SQLite through duftui against `sqlite3 -csv` on the same
query, measured in the same run (goal: ≤ 2×), with the peak memory of each process; then the
same from a throwaway PostgreSQL against `psql \\copy (…) TO … CSV` (goal: ≤ 2×, and a peak
memory that does not grow with the row count: a tenth of the rows is measured too).

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

PG_QUERY = "SELECT id, name, amount, day, note FROM t ORDER BY id"
PG_EXPORT = EXPORT.replace(
    'sql.make_engine("bench", {"type": "sqlite", "path": db})',
    'sql.make_engine("bench", {"type": "sql", "url": db, "password": sys.argv[4]})',
)


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


# A child's peak RSS starts at its parent's size (Linux carries the high-water mark over
# fork and exec), and this script grows as it imports duftui: each measured command is
# started by a small launcher, which reports its child's figure on a pipe.
LAUNCH = """import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
os.write(int(sys.argv[1]), str(usage.ru_maxrss).encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed(
    argv: list[str],
    stdout_path: Path,
    env: dict[str, str] | None = None,
) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one child process writing to `stdout_path`."""
    read, write = os.pipe()
    with open(stdout_path, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", LAUNCH, str(write), *argv], stdout=out, env=env, pass_fds=(write,)
        )
        os.close(write)
        _pid, status, _usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    with os.fdopen(read) as report:
        peak = int(report.read() or 0)
    assert os.waitstatus_to_exitcode(status) == 0, argv
    return elapsed, peak


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
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
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
        if not args.no_postgres:
            postgres_part(args.rows, args.repeat, root, env)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def postgres_part(rows: int, repeat: int, root: Path, env: dict[str, str]) -> None:
    """The same export from PostgreSQL (a throwaway server, see tests/steps/dbservers.py)."""
    from tests.steps.dbservers import PASSWORD, PostgresServer, make_base, postgres_missing

    missing = postgres_missing() or (None if shutil.which("psql") else "psql is missing")
    if missing:
        print(f"PostgreSQL part skipped: {missing}")
        return
    base = make_base("duftui-pgbench-")
    server = PostgresServer(base)
    try:
        server.execute(
            "CREATE TABLE t (id int PRIMARY KEY, name text, amount numeric(12,2), day date, "
            "note text)"
        )
        server.execute(
            "INSERT INTO t SELECT x, 'name ' || x, x * 0.25, "
            "date '2025-01-01' + (x %% 28), "
            "CASE WHEN x %% 10 = 0 THEN 'a, b \"quoted\"' ELSE 'plain note' END "
            "FROM generate_series(0, %s) AS x",
            (rows - 1,),
        )
        server.execute("VACUUM ANALYZE t")
        psql_env = dict(env, PGPASSWORD=PASSWORD)
        cli_out, ours_out = root / "psql.csv", root / "duftui-pg.csv"
        copy = f"\\copy ({PG_QUERY}) TO '{cli_out}' CSV HEADER"
        base_t = min(
            timed(["psql", server.dsn(), "-q", "-c", copy], root / "psql.txt", psql_env)
            for _ in range(repeat)
        )
        inner = root / "inner-pg.txt"

        def ours(query: str) -> tuple[float, float, int]:
            whole, rss = timed(
                [sys.executable, "-c", PG_EXPORT, server.url(), str(ours_out), query, PASSWORD],
                inner,
                env,
            )
            return float(inner.read_text()), whole, rss

        tenth = min(ours(f"{PG_QUERY} LIMIT {rows // 10}") for _ in range(repeat))
        export = min(ours(PG_QUERY) for _ in range(repeat))
        assert same_rows(cli_out, ours_out), "duftui's CSV differs from psql's"
        print(f"PostgreSQL → CSV, {rows:,} rows (best of {repeat}; rows identical after parsing)")
        print(f"  psql \\copy ... CSV     {base_t[0]:6.2f} s   peak {base_t[1] / 1024:6.1f} MiB")
        print(
            f"  duftui export         {export[0]:6.2f} s   peak {export[2] / 1024:6.1f} MiB"
            f"   ratio {export[0] / base_t[0]:.2f}x (goal <= 2x)"
        )
        print(f"    + Python start-up   {export[1]:6.2f} s{'':22}ratio {export[1] / base_t[0]:.2f}x")
        print(
            f"  peak memory, {rows // 10:,} rows {tenth[2] / 1024:6.1f} MiB → {rows:,} rows "
            f"{export[2] / 1024:6.1f} MiB (flat: server-side cursor)"
        )
    finally:
        server.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
