"""Dispatch overhead: a no-op Python task through a running supervisor, queued → exited,
against a bare `python -c pass` spawn measured in the same run (goal: ratio ≤ 1.15).

The duftui figure comes from the store's own timestamps (queued_at to the process's exit
time), so the measuring side adds nothing to it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine_support import (
    make_workspace,
    percentile,
    queued_to_exited,
    start_supervisor,
    stop,
)


def bare_spawn(n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return times


def interleaved(root: Path, n: int) -> tuple[list[float], list[float]]:
    """One bare spawn, then one run through duftui, `n` times: both sides see the same
    machine (the supervisor is idle while the bare spawn runs), so drift cancels out."""
    from duftui.definitions.loader import load_workspace
    from duftui.store.db import ChangeWatcher, Store

    store = Store(root / ".duftui" / "state.db")
    catalogue = load_workspace(root)
    watcher = ChangeWatcher(store.path)
    times: list[float] = []
    bare: list[float] = []
    for _ in range(n):
        bare.extend(bare_spawn(1))
        time.sleep(0.02)
        times.append(queued_to_exited(store, catalogue, watcher, root, "b/noop"))
    watcher.close()
    store.close()
    return times, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=150, help="runs per side (default 150)")
    args = parser.parse_args()
    root = make_workspace({"noop": ""})
    os.environ["DUFTUI_SECRETS"] = str(root / "secrets.toml")
    supervisor = start_supervisor(root, max_parallel=2)
    try:
        interleaved(root, 5)  # warm-up
        duftui, bare = interleaved(root, args.n)
    finally:
        stop(supervisor)
    med_d, med_b = statistics.median(duftui), statistics.median(bare)
    print(f"bare `python -c pass` spawn   median {med_b * 1000:7.2f} ms   "
          f"p90 {percentile(bare, 90) * 1000:7.2f} ms")
    print(f"duftui queued → exited        median {med_d * 1000:7.2f} ms   "
          f"p90 {percentile(duftui, 90) * 1000:7.2f} ms")
    print(f"dispatch overhead ratio (median): {med_d / med_b:.3f}x  (goal <= 1.15x)")


if __name__ == "__main__":
    main()
