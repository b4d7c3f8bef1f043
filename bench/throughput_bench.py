"""Throughput: 500 no-op tasks through a supervisor at max_parallel=2, against a bare anyio
loop spawning the same 500 processes with the same parallelism (goal: ratio ≥ 0.8)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine_support import make_workspace


async def bare(n: int, parallel: int, script: Path) -> float:
    limiter = anyio.CapacityLimiter(parallel)

    async def one() -> None:
        async with limiter:
            await anyio.run_process([sys.executable, "-u", str(script)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(one)
    return time.perf_counter() - start


def through_duftui(root: Path, n: int, parallel: int) -> float:
    from duftui.definitions.loader import load_workspace
    from duftui.definitions.secrets import SecretStore
    from duftui.engine.supervisor import Supervisor
    from duftui.store.db import Store
    from duftui.store.runs import insert_run

    store = Store(root / ".duftui" / "state.db")
    catalogue = load_workspace(root)
    with store.write() as conn:
        for _ in range(n):
            insert_run(conn, task_key="b/noop", trigger="cli")
    supervisor = Supervisor(store, catalogue, SecretStore(root / "secrets.toml"),
                            max_parallel=parallel, poll_interval=0.25)
    start = time.perf_counter()
    anyio.run(supervisor.run, True)
    elapsed = time.perf_counter() - start
    from sqlalchemy import text

    with store.read() as conn:
        done = conn.execute(text("SELECT count(*) FROM run WHERE status = 'succeeded'")).scalar()
    assert done == n, f"only {done} of {n} runs succeeded"
    store.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    root = make_workspace({"noop": ""})
    os.environ["DUFTUI_SECRETS"] = str(root / "secrets.toml")
    script = root / "tasks" / "b" / "scripts" / "noop.py"
    base = anyio.run(bare, args.n, args.parallel, script)
    ours = through_duftui(root, args.n, args.parallel)
    print(f"bare anyio loop   {args.n} processes at parallel={args.parallel}: {base:6.2f} s "
          f"({args.n / base:6.1f}/s)")
    print(f"duftui supervisor {args.n} runs      at parallel={args.parallel}: {ours:6.2f} s "
          f"({args.n / ours:6.1f}/s)")
    print(f"throughput ratio: {base / ours:.3f}  (goal >= 0.8)")


if __name__ == "__main__":
    main()
