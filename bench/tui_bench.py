"""Console benchmarks (DESIGN §8, issue 6).

    python bench/tui_bench.py [--runs 1000000] [--lines 1000000] [--repeat 5]

1. Time to first paint of History on a store of N runs, against the first paint of the
   console on an empty store (goal: less than 0.5 s more). "First paint" is the moment the
   screen has applied its first data and a refresh has completed, in a headless app.
2. Key-press-to-screen latency while a task prints M lines (goal: p99 < 100 ms), with the
   task run by the console's own embedded supervisor (same event loop: the worst case) and
   by a separate `duftui run` process. Latency is measured from the key event entering the
   app to the end of the next screen refresh that shows its effect.
3. The go-anywhere finder (ctrl+k) over 10,000 tasks and N runs: from each typed key to
   the refresh that shows its hits, and from a run id to its run shown (goal p99 < 100 ms).

The store of N runs comes from bench/gen_runs.py and is cached in the temp folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.engine_support import percentile  # noqa: E402
from bench.gen_runs import default_path, generate_runs  # noqa: E402
from duftui.context import Context  # noqa: E402
from duftui.tui.app import create_app  # noqa: E402

FLOOD = """\
import os, sys
write = sys.stdout.write
for i in range(1, int(os.environ.get("lines", "1000000")) + 1):
    write(f"line {i} of a task that floods its log with text\\n")
"""


def workspace() -> Path:
    root = Path(tempfile.mkdtemp(prefix="duftui-tui-bench-")) / "ws"
    (root / "tasks" / "b" / "scripts").mkdir(parents=True)
    (root / "tasks" / "b" / "scripts" / "flood.py").write_text(FLOOD)
    (root / "tasks" / "b" / "flood.toml").write_text(
        'name = "flood"\n[run]\nkind = "python"\nfile = "scripts/flood.py"\n'
        "[params.lines]\ndefault = 1000000\nallow_override = true\n"
    )
    return root


async def _until(predicate: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not met")
        await asyncio.sleep(0.002)


async def _after_refresh(app: Any) -> float:
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    app.call_after_refresh(lambda: done.done() or done.set_result(time.perf_counter()))
    return await done


async def first_paint(root: Path, db: Path | None, mode: str) -> float:
    """Seconds from creating the app to its first data on screen."""
    started = time.perf_counter()
    app = create_app(Context.create(root, db), initial_mode=mode, run_queued=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await _until(lambda: getattr(app.screen, "ready", False))
        painted = await _after_refresh(app)
        await pilot.pause()
    return painted - started


async def key_latency(root: Path, lines: int, embedded: bool) -> tuple[list[float], float]:
    """Press a key every 10 ms while a task floods its log; return the latencies (s) and
    how long the flood took."""
    from textual import events

    from duftui.tui.widgets.log_view import LogView

    app = create_app(Context.create(root), run_queued=embedded)
    samples: list[float] = []
    async with app.run_test(size=(120, 40)):
        await _until(lambda: getattr(app.screen, "ready", False))
        proc = None
        if embedded:
            app.operator.run_task("b/flood", {"lines": str(lines)})
            app.ensure_runner()
        else:
            env = dict(os.environ, PYTHONPATH=str(REPO))
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "duftui",
                    "--workspace",
                    str(root),
                    "run",
                    "b/flood",
                    "-p",
                    f"lines={lines}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        store = app.session.store()

        def current() -> tuple[int, str] | None:
            with store.read() as conn:
                row = conn.exec_driver_sql(
                    "SELECT id, status FROM run ORDER BY id DESC LIMIT 1"
                ).first()
            return (int(row[0]), str(row[1])) if row else None

        await _until(lambda: (c := current()) is not None and c[1] == "running")
        run_id = current()[0]  # type: ignore[index]
        app.open_run(run_id)
        await _until(
            lambda: (
                type(app.screen).__name__ == "RunScreen"
                and app.screen.ready
                and app.screen.query(LogView)
            )
        )
        log = app.screen.query_one(LogView)
        log.focus()
        await _until(lambda: log.total > 1000 and log.has_focus)
        # Measure the flood, not the opening of the screen: let it paint twice first.
        await _after_refresh(app)
        await asyncio.sleep(0.05)
        await _after_refresh(app)
        started = time.perf_counter()
        while True:
            status = await asyncio.to_thread(current)
            if status is None or status[1] != "running":
                break
            before = log.follow
            sent = time.perf_counter()
            # `f` toggles follow: the pane's title changes (and it jumps to the end).
            app._driver.send_message(events.Key("f", "f"))  # type: ignore[union-attr]
            await _until(lambda before=before: log.follow != before, timeout=10)
            samples.append(await _after_refresh(app) - sent)
            await asyncio.sleep(0.01)
        flood_s = time.perf_counter() - started
        if proc is not None:
            proc.wait(timeout=120)
        await _until(lambda: log.total >= lines, timeout=120)
    return samples, flood_s


def finder_workspace(tasks: int = 10_000, per_project: int = 100) -> Path:
    """A workspace of `tasks` small task files in projects of `per_project`."""
    root = Path(tempfile.mkdtemp(prefix="duftui-tui-finder-")) / "ws"
    for p in range(tasks // per_project):
        folder = root / "tasks" / f"proj{p:03d}"
        (folder / "scripts").mkdir(parents=True)
        (folder / "scripts" / "run.py").write_text("print('hi')\n")
        (folder / "project.toml").write_text(f'name = "Project {p}"\n')
        for t in range(per_project):
            (folder / f"task{t:03d}.toml").write_text(
                f'name = "Extract {p}-{t} nightly"\n[run]\nkind = "python"\n'
                'file = "scripts/run.py"\n'
            )
    return root


async def finder_latency(root: Path, db: Path, queries: list[str]) -> list[float]:
    """Seconds from each key typed into the finder to the refresh that shows its hits."""
    from textual import events
    from textual.keys import _character_to_key

    from duftui.tui.screens.finder import FinderScreen

    app = create_app(Context.create(root, db), run_queued=False)
    samples: list[float] = []
    async with app.run_test(size=(120, 40)):
        await _until(lambda: getattr(app.screen, "ready", False), timeout=300)
        for query in queries:
            app.action_find()
            await _until(lambda: isinstance(app.screen, FinderScreen))
            finder = app.screen
            await _after_refresh(app)
            typed = ""
            for char in query:
                typed += char
                sent = time.perf_counter()
                key = _character_to_key(char)
                app._driver.send_message(events.Key(key, char))  # type: ignore[union-attr]
                if query.startswith("#") and typed == query:  # the run, looked up by id
                    await _until(lambda f=finder: f.run_hit is not None, timeout=10)
                else:
                    await _until(lambda f=finder, t=typed: f.query_text == t, timeout=10)
                samples.append(await _after_refresh(app) - sent)
                await asyncio.sleep(0.01)
            finder.dismiss(None)
            await _until(lambda: not isinstance(app.screen, FinderScreen))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--floods", type=int, default=3, help="floods per case (samples pool)")
    parser.add_argument(
        "--only", choices=("paint", "flood", "finder"), help="run one part of the benchmark"
    )
    args = parser.parse_args()

    big = default_path(args.runs)
    if not big.exists():
        big.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.runs:,} runs in {big} (cached for next time)…", flush=True)
        generate_runs(big, args.runs)
    root = workspace()
    empty_db = root / ".duftui" / "state.db"
    try:
        if args.only in (None, "paint"):
            paint(root, empty_db, big, args)
        if args.only in (None, "flood"):
            flood(root, args)
        if args.only in (None, "finder"):
            finder(big, args)
        print(f"(load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


def paint(root: Path, empty_db: Path, big: Path, args: argparse.Namespace) -> None:
    """First paint of History on the big store against an empty console."""
    asyncio.run(first_paint(root, empty_db, "dashboard"))  # warm imports and CSS
    empty = [asyncio.run(first_paint(root, empty_db, "dashboard")) for _ in range(args.repeat)]
    history = [asyncio.run(first_paint(root, big, "history")) for _ in range(args.repeat)]
    empty_s, history_s = statistics.median(empty), statistics.median(history)
    extra = history_s - empty_s
    print(
        f"first paint, empty console (dashboard):  {empty_s * 1000:7.1f} ms (median of "
        f"{args.repeat})"
    )
    print(f"first paint, History on {args.runs:,} runs: {history_s * 1000:7.1f} ms")
    print(
        f"  History costs {extra * 1000:+.1f} ms more "
        f"({history_s / empty_s:.2f}x)  goal < +500 ms: "
        f"{'ok' if extra < 0.5 else 'MISSED'}"
    )


def flood(root: Path, args: argparse.Namespace) -> None:
    """Key latency during floods, by the console's supervisor and by `duftui run`."""
    for embedded in (True, False):
        who = "the console's supervisor" if embedded else "a separate `duftui run`"
        samples: list[float] = []
        took: list[float] = []
        for _ in range(args.floods):
            found, flood_s = asyncio.run(key_latency(root, args.lines, embedded))
            samples += found
            took.append(flood_s)
        p99 = percentile(samples, 99) * 1000
        print(f"key-to-screen while a task prints {args.lines:,} lines, run by {who}:")
        print(
            f"  p50 {percentile(samples, 50) * 1000:.1f} ms, p99 {p99:.1f} ms, "
            f"max {max(samples) * 1000:.1f} ms over {len(samples)} keys in "
            f"{args.floods} floods of {statistics.median(took):.1f} s  goal p99 < 100 ms: "
            f"{'ok' if p99 < 100 else 'MISSED'}"
        )


def finder(big: Path, args: argparse.Namespace) -> None:
    """The go-anywhere finder over 10,000 tasks and the big store."""
    finder_root = finder_workspace()
    try:
        queries = ["proj042task017", "extract 7-3 nightly", "p9t9", "#" + str(args.runs // 2)]
        found = asyncio.run(finder_latency(finder_root, big, queries))
    finally:
        shutil.rmtree(finder_root.parent, ignore_errors=True)
    p99 = percentile(found, 99) * 1000
    print(f"go-anywhere finder over 10,000 tasks and {args.runs:,} runs, key to hits:")
    print(
        f"  p50 {percentile(found, 50) * 1000:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(found) * 1000:.1f} ms over {len(found)} keys  goal p99 < 100 ms: "
        f"{'ok' if p99 < 100 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
