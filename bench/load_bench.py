"""CSV → table: 1,000,000 rows loaded by duftui's `[[deliver]] kind = "table"` into a
throwaway PostgreSQL, against `psql \\copy t FROM … CSV HEADER` on the same file, in the same
run (goal: ≤ 3×), with the peak memory of each process. Both load into an empty table
with the same primary key; the row counts are checked after each load. A second duftui
figure loads the same rows from JSON lines (the row-by-row COPY path duftui uses for
files PostgreSQL cannot parse itself). Usage: python bench/load_bench.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.sql_export_bench import timed  # noqa: E402

TABLE = (
    "CREATE TABLE t (id int PRIMARY KEY, name text, amount numeric(12,2), day date, note text)"
)
LOAD = """
import sys, time
from pathlib import Path
from duftui.definitions.models import Deliver
from duftui.steps.report import Reporter
from duftui.steps.table_load import load_table
url, password, path = sys.argv[1:4]
target = Deliver(kind="table", connection="bench", table="t", batch_size=10_000)
started = time.perf_counter()
load_table(0, target, [Path(path)], {"bench": {"type": "sql", "url": url, "password": password}},
           Reporter())
print(time.perf_counter() - started)
"""


def write_files(csv_path: Path, jsonl_path: Path, rows: int) -> None:
    import json

    with open(csv_path, "w", encoding="utf-8", newline="") as csv_file, open(
        jsonl_path, "w", encoding="utf-8"
    ) as jsonl_file:
        csv_file.write("id,name,amount,day,note\n")
        for x in range(rows):
            note = '"a, b ""quoted"""' if x % 10 == 0 else "plain note"
            day = f"2025-01-{x % 28 + 1:02d}"
            csv_file.write(f"{x},name {x},{x * 0.25:.2f},{day},{note}\n")
            jsonl_file.write(
                json.dumps(
                    {"id": x, "name": f"name {x}", "amount": f"{x * 0.25:.2f}", "day": day,
                     "note": 'a, b "quoted"' if x % 10 == 0 else "plain note"}
                )
                + "\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for each figure")
    args = parser.parse_args()
    from tests.steps.dbservers import PASSWORD, PostgresServer, make_base, postgres_missing

    missing = postgres_missing() or (None if shutil.which("psql") else "psql is missing")
    if missing:
        sys.exit(missing)
    root = Path(tempfile.mkdtemp(prefix="duftui-loadbench-"))
    base = make_base("duftui-pgload-")
    server = PostgresServer(base)
    try:
        csv_path, jsonl_path = root / "rows.csv", root / "rows.jsonl"
        write_files(csv_path, jsonl_path, args.rows)
        env = dict(os.environ, PYTHONPATH=str(REPO), PGPASSWORD=PASSWORD)

        def fresh() -> None:
            server.execute("DROP TABLE IF EXISTS t")
            server.execute(TABLE)

        def count() -> int:
            return server.execute("SELECT count(*) FROM t")[0][0]

        copy = f"\\copy t FROM '{csv_path}' CSV HEADER"
        baseline = []
        for _ in range(args.repeat):
            fresh()
            baseline.append(timed(["psql", server.dsn(), "-q", "-c", copy], root / "p.txt", env))
            assert count() == args.rows
        base_t = min(baseline)

        def ours(path: Path) -> tuple[float, float, int]:
            figures = []
            for _ in range(args.repeat):
                fresh()
                inner = root / "inner.txt"
                whole, rss = timed(
                    [sys.executable, "-c", LOAD, server.url(), PASSWORD, str(path)], inner, env
                )
                assert count() == args.rows
                figures.append((float(inner.read_text().split()[-1]), whole, rss))
            return min(figures)

        csv_load, jsonl_load = ours(csv_path), ours(jsonl_path)
        size = csv_path.stat().st_size / 1e6
        print(f"CSV → table, {args.rows:,} rows, {size:.0f} MB (best of {args.repeat})")
        print(f"  psql \\copy FROM ... CSV {base_t[0]:6.2f} s   peak {base_t[1] / 1024:6.1f} MiB")
        print(
            f"  duftui table (csv)     {csv_load[0]:6.2f} s   peak {csv_load[2] / 1024:6.1f} MiB"
            f"   ratio {csv_load[0] / base_t[0]:.2f}x (goal <= 3x)"
        )
        print(f"    + Python start-up    {csv_load[1]:6.2f} s{'':22}ratio {csv_load[1] / base_t[0]:.2f}x")
        print(
            f"  duftui table (jsonl)   {jsonl_load[0]:6.2f} s   peak {jsonl_load[2] / 1024:6.1f} MiB"
            f"   ratio {jsonl_load[0] / base_t[0]:.2f}x"
        )
    finally:
        server.close()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
