"""Notebook start overhead: a one-cell notebook task against the same code as a Python task.

Both run through the same supervisor process; each figure is the run's own queued → exited
time from the store, so the notebook side includes the step runner, loading the workspace,
starting an ipykernel kernel, running the cell, saving the executed notebook and shutting
the kernel down. The ratio says how much a notebook costs over a script for short tasks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine_support import make_workspace, percentile, start_supervisor, stop

CODE = "total = sum(range(1000))\nprint('total', total)\n"


def add_notebook_task(root: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook(cells=[new_code_cell(CODE)])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, str(root / "tasks" / "b" / "scripts" / "cell.ipynb"))
    (root / "tasks" / "b" / "cell.toml").write_text(
        'name = "cell"\nallow_overlap = true\n[run]\nkind = "notebook"\n'
        'file = "scripts/cell.ipynb"\n'
    )


def timed_runs(root: Path, key: str, n: int) -> list[float]:
    """queued → finished seconds of `n` runs of `key`, one after another."""
    from sqlalchemy import text

    from duftui.definitions.loader import load_workspace
    from duftui.engine.submit import submit_task
    from duftui.engine.wake import poke
    from duftui.store.db import Store

    store = Store(root / ".duftui" / "state.db")
    catalogue = load_workspace(root)
    times = []
    for _ in range(n):
        run_id = submit_task(store, catalogue, key, with_dependants=False).run_ids[0]
        poke(root)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with store.read() as conn:
                row = conn.execute(
                    text(
                        "SELECT status, julianday(finished_at) - julianday(queued_at) "
                        "FROM run WHERE id = :i"
                    ),
                    {"i": run_id},
                ).first()
            if row[0] not in ("queued", "running"):
                assert row[0] == "succeeded", row
                times.append(row[1] * 86400.0)
                break
            time.sleep(0.005)
        else:
            raise SystemExit(f"run {run_id} of {key} did not finish")
    store.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10, help="runs per side (default 10)")
    args = parser.parse_args()
    root = make_workspace({"script": CODE})
    add_notebook_task(root)
    os.environ["DUFTUI_SECRETS"] = str(root / "secrets.toml")
    supervisor = start_supervisor(root, max_parallel=1)
    try:
        timed_runs(root, "b/script", 2)  # warm-up (imports, page cache)
        timed_runs(root, "b/cell", 1)
        script = timed_runs(root, "b/script", args.n)
        notebook = timed_runs(root, "b/cell", args.n)
    finally:
        stop(supervisor)
    med_s, med_n = statistics.median(script), statistics.median(notebook)
    print(
        f"python task, queued → exited     median {med_s * 1000:8.1f} ms   "
        f"p90 {percentile(script, 90) * 1000:8.1f} ms"
    )
    print(
        f"one-cell notebook, queued → exited median {med_n * 1000:8.1f} ms   "
        f"p90 {percentile(notebook, 90) * 1000:8.1f} ms"
    )
    print(
        f"notebook start overhead: +{(med_n - med_s) * 1000:.0f} ms, "
        f"ratio {med_n / med_s:.1f}x (median)"
    )


if __name__ == "__main__":
    main()
