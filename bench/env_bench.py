"""Task environments: uv against the pip path it replaced, and the dispatch cost of a task
in a ready environment, all in the same run.

1. Build, cold (empty package cache) and warm (cache filled, new environment), for one
   fixed requirement set: duftui's uv build (`duftui.envs.build.ensure`: lock, venv, sync)
   against the old pip build (`python -m venv --without-pip`, then
   `pip --python VENV install -r`). Goals: warm ≤ 0.1× pip, cold ≤ 0.3× pip.
2. Dispatch, queued → exited from the store's timestamps, of a no-op task in a ready
   environment against the same no-op task without one, interleaved. Goal ≤ 1.15×.

Both builders get the same package indexes (pip's configuration; uv is handed the same).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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

REQUIREMENTS = ["six==1.16.0", "toolz==0.12.1", "attrs==23.2.0", "python-dateutil==2.9.0.post0",
                "idna==3.7", "tomli==2.0.1"]


def pip_build(folder: Path, requirements: Path, cache: Path) -> float:
    """The replaced path (duftui/steps/venvs.py): venv without pip, then the running
    interpreter's pip installs into it."""
    start = time.perf_counter()
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = dict(os.environ, PIP_CACHE_DIR=str(cache))
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "--disable-pip-version-check", "--no-input", "-q", "-r",
                    str(requirements)], check=True, env=env)
    return time.perf_counter() - start


def uv_build(folder: Path, cache: Path, lock: Path | None = None) -> float:
    """duftui's build in a fresh workspace: lock (resolve), venv, sync; with `lock` (a
    committed lock from an earlier build) no resolution."""
    from duftui.envs.build import ensure
    from duftui.envs.request import EnvRequest

    os.environ["UV_CACHE_DIR"] = str(cache)
    workspace = folder / "ws"
    (workspace / "tasks").mkdir(parents=True)
    request = EnvRequest(tuple(REQUIREMENTS), None, "bench", workspace / "tasks" / "req.lock",
                         workspace / "tasks")
    if lock is not None:
        shutil.copy(lock, request.lock_path)
    start = time.perf_counter()
    found = ensure(request, workspace, "b/bench")
    elapsed = time.perf_counter() - start
    assert found.ready
    shutil.copy(request.lock_path, folder.parent / "committed.lock")
    return elapsed


def builds(rounds: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="duftui-env-bench-"))
    try:
        requirements = scratch / "requirements.txt"
        requirements.write_text("\n".join(REQUIREMENTS) + "\n")
        figures: dict[str, list[float]] = {"pip cold": [], "pip warm": [], "uv cold": [],
                                           "uv warm": [], "uv warm, committed lock": []}
        for round_ in range(rounds):
            pip_cache, uv_cache = scratch / f"pip-cache-{round_}", scratch / f"uv-cache-{round_}"
            for tool, build in (("pip", lambda d, c: pip_build(d, requirements, c)),
                                ("uv", uv_build)):
                cache = pip_cache if tool == "pip" else uv_cache
                for kind in ("cold", "warm"):
                    folder = scratch / f"{tool}-{kind}-{round_}"
                    folder.mkdir()
                    figures[f"{tool} {kind}"].append(build(folder, cache))
                    shutil.rmtree(folder)
            folder = scratch / f"uv-locked-{round_}"
            folder.mkdir()
            figures["uv warm, committed lock"].append(
                uv_build(folder, uv_cache, scratch / "committed.lock"))
            shutil.rmtree(folder)
        for name, values in figures.items():
            print(f"{name:<23} median {statistics.median(values):6.2f} s   "
                  f"({', '.join(f'{v:.2f}' for v in values)})")
        for kind, goal in (("cold", 0.3), ("warm", 0.1)):
            ratio = statistics.median(figures[f"uv {kind}"]) / statistics.median(
                figures[f"pip {kind}"])
            print(f"{kind} build ratio uv/pip: {ratio:.3f}x  (goal <= {goal}x)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def dispatch(n: int) -> None:
    from duftui.definitions.loader import load_workspace
    from duftui.envs.manage import build_for_task
    from duftui.store.db import ChangeWatcher, Store

    root = make_workspace({"noop": "", "envnoop": ""})
    with (root / "tasks" / "b" / "envnoop.toml").open("a") as handle:
        handle.write('requirements = ["six==1.16.0"]\n')
    os.environ["DUFTUI_SECRETS"] = str(root / "secrets.toml")
    catalogue = load_workspace(root)
    build_for_task(catalogue, catalogue.tasks["b/envnoop"], lambda _line: None)
    supervisor = start_supervisor(root, max_parallel=2)
    store = Store(root / ".duftui" / "state.db")
    watcher = ChangeWatcher(store.path)
    times: dict[str, list[float]] = {"b/noop": [], "b/envnoop": []}

    def one(key: str) -> float:
        return queued_to_exited(store, catalogue, watcher, root, key)

    try:
        for _ in range(3):  # warm-up
            one("b/noop"), one("b/envnoop")
        for index in range(n):
            order = ("b/noop", "b/envnoop") if index % 2 == 0 else ("b/envnoop", "b/noop")
            for key in order:
                times[key].append(one(key))
    finally:
        watcher.close()
        store.close()
        stop(supervisor)
        shutil.rmtree(root, ignore_errors=True)
    plain, own = statistics.median(times["b/noop"]), statistics.median(times["b/envnoop"])
    print(f"no environment      median {plain * 1000:7.2f} ms   "
          f"p90 {percentile(times['b/noop'], 90) * 1000:7.2f} ms")
    print(f"ready environment   median {own * 1000:7.2f} ms   "
          f"p90 {percentile(times['b/envnoop'], 90) * 1000:7.2f} ms")
    print(f"dispatch ratio (median): {own / plain:.3f}x  (goal <= 1.15x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="builds of each kind (default 3)")
    parser.add_argument("-n", type=int, default=60, help="dispatches per side (default 60)")
    args = parser.parse_args()
    builds(args.rounds)
    dispatch(args.n)


if __name__ == "__main__":
    main()
