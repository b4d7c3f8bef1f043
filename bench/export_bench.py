"""History export of a million runs: `duftui history export --csv` against `sqlite3 -csv`
of the same columns (the same SQL), measured in the same run (goal: ≤ 1.5×).

    python bench/export_bench.py [--runs 1000000] [--db FILE] [--rounds 3]

Three contenders, each a separate process, interleaved over the rounds; the best round of
each counts. `export_csv()` is timed around the call (the library cost, without Python's
start-up); the CLI and sqlite3 from process start to exit. Wall time is what a user waits for; CPU time (user +
system, from wait4) is steadier on a busy machine. Peak RSS is sampled with psutil.
The state file is generated once (bench/gen_runs.py) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gen_runs import default_path, generate_runs

GOAL = 1.5

FUNCTION = """
import json, sys, time
from pathlib import Path
from duftui.store.db import Store
from duftui.store.export import export_csv
store = Store(Path(sys.argv[1]), create=False)
start, cpu = time.perf_counter(), time.process_time()
with open(sys.argv[2], "w", encoding="utf-8", newline="") as out:
    count = export_csv(store, out)
print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                  "count": count}))
"""


@dataclass
class Measure:
    wall: float
    cpu: float
    peak_mib: float
    output: str = ""


def measure(cmd: list[str], stdout_path: Path | None = None) -> Measure:
    """Run `cmd`, sampling its RSS; CPU time comes from wait4 (this child only)."""
    sink = open(stdout_path, "wb") if stdout_path else subprocess.PIPE  # noqa: SIM115
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE)
    watched = psutil.Process(proc.pid)
    peak = 0
    while True:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            pass
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.005)
    wall = time.perf_counter() - started
    output = b""
    if stdout_path:
        sink.close()  # type: ignore[union-attr]
    elif proc.stdout is not None:
        output = proc.stdout.read()
    errors = proc.stderr.read() if proc.stderr else b""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {errors.decode(errors='replace')}")
    return Measure(wall, usage.ru_utime + usage.ru_stime, peak / 2**20, output.decode())


def count_runs(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM run").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="state file (default: a reused temp file)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    db = args.db or default_path(args.runs)
    if not db.exists():
        print(f"generating {args.runs:,} runs in {db} …", flush=True)
        started = time.perf_counter()
        generate_runs(db, args.runs)
        print(f"  took {time.perf_counter() - started:.1f} s")
    runs = count_runs(db)
    print(f"state file {db}: {runs:,} runs, {db.stat().st_size / 2**20:.0f} MiB")

    from duftui.store.export import export_sql

    sql, params = export_sql()
    assert not params
    sqlite_cli = shutil.which("sqlite3") or (
        "/usr/bin/sqlite3" if Path("/usr/bin/sqlite3").exists() else None
    )
    if sqlite_cli is None:
        print("sqlite3 command-line shell not found: skipping the comparison (apt install sqlite3)")

    out_dir = Path(tempfile.mkdtemp(prefix="duftui-export-bench-"))
    contenders = {
        "export_csv()": lambda: measure(
            [sys.executable, "-c", FUNCTION, str(db), str(out_dir / "function.csv")]
        ),
        "duftui CLI": lambda: measure(
            [
                sys.executable,
                "-m",
                "duftui",
                "--db",
                str(db),
                "history",
                "export",
                "--csv",
                str(out_dir / "cli.csv"),
            ]
        ),
    }
    if sqlite_cli:
        contenders["sqlite3 -csv"] = lambda: measure(
            [sqlite_cli, "-csv", "-header", str(db), sql], out_dir / "sqlite3.csv"
        )
    best: dict[str, Measure] = {}
    for round_ in range(1, args.rounds + 1):
        for name, run in contenders.items():
            result = run()
            if name == "export_csv()":
                inner = json.loads(result.output)
                assert inner["count"] == runs, inner
                result.wall, result.cpu = inner["seconds"], inner["cpu"]
            print(f"  round {round_}: {name:13s} wall {result.wall:6.2f} s  cpu {result.cpu:6.2f} s"
                  f"  peak {result.peak_mib:6.1f} MiB", flush=True)  # fmt: skip
            kept = best.get(name)
            best[name] = Measure(
                min(result.wall, kept.wall) if kept else result.wall,
                min(result.cpu, kept.cpu) if kept else result.cpu,
                max(result.peak_mib, kept.peak_mib) if kept else result.peak_mib,
            )

    print(f"\nbest of {args.rounds} rounds, {runs:,} runs:")
    base = best.get("sqlite3 -csv")
    for name, result in best.items():
        line = f"  {name:13s} wall {result.wall:6.2f} s  cpu {result.cpu:6.2f} s  peak {result.peak_mib:6.1f} MiB"
        if base and name != "sqlite3 -csv":
            line += f"  ratio wall {result.wall / base.wall:.2f}x  cpu {result.cpu / base.cpu:.2f}x"
        print(line)
    if base:
        worst = max(best[name].wall / base.wall for name in best if name != "sqlite3 -csv")
        verdict = "meets" if worst <= GOAL else "misses"
        print(f"\nworst wall ratio {worst:.2f}x: {verdict} the goal of ≤ {GOAL}x")
    sizes = {path.name: path.stat().st_size for path in out_dir.iterdir()}
    print(
        "output sizes: "
        + ", ".join(f"{name} {size / 2**20:.0f} MiB" for name, size in sizes.items())
    )
    shutil.rmtree(out_dir)


if __name__ == "__main__":
    main()
