"""Idle cost of the daemon: CPU % and RSS of `duftui daemon` holding 10,000 schedules
for 60 s, next to APScheduler 3's BackgroundScheduler holding the same 10,000 cron jobs,
measured in the same run (goals: < 0.1 % CPU, < 100 MB).

Every schedule is a yearly cron at a time far from now, so nothing fires while measuring:
what is left is the daemon's own housekeeping (heartbeat, supervisor, watcher). Both sides
run as subprocesses and are sampled with psutil after they report ready and settle.

APScheduler is a baseline only, not a duftui dependency: `pip install "apscheduler<4"`.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent

APSCHEDULER = textwrap.dedent("""
    import json, sys, time
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    specs = json.load(open(sys.argv[1]))
    scheduler = BackgroundScheduler(timezone="UTC")
    def job():
        pass
    for month, day, hour, minute in specs:
        scheduler.add_job(job, CronTrigger(month=month, day=day, hour=hour, minute=minute,
                                           timezone="UTC"))
    scheduler.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)
""")


def specs(count: int, seed: int = 7) -> list[tuple[int, int, int, int]]:
    """Yearly (month, day, hour, minute) at least two months away from now."""
    rng = random.Random(seed)
    now = datetime.now()
    out = []
    for _ in range(count):
        month = (now.month + rng.randint(2, 10) - 1) % 12 + 1
        out.append((month, rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59)))
    return out


def make_workspace(root: Path, schedules: list[tuple[int, int, int, int]], per_task: int) -> None:
    for index in range(0, len(schedules), per_task):
        project = root / "tasks" / f"p{index // per_task // 500:03d}"
        project.mkdir(parents=True, exist_ok=True)
        lines = [f'name = "t{index}"', "[run]", 'kind = "command"', 'command = ["true"]']
        for month, day, hour, minute in schedules[index : index + per_task]:
            lines += [
                "[[schedule]]",
                f'cron = "{minute} {hour} {day} {month} *"',
                'timezone = "UTC"',
            ]
        (project / f"t{index}.toml").write_text("\n".join(lines) + "\n")


def thread_cpu_ns(pid: int) -> dict[int, int]:
    """CPU time of each live thread in nanoseconds (/proc/PID/task/TID/schedstat), far
    finer than the 10 ms ticks of /proc/PID/stat."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            pass
    return found


def measure(pid: int, seconds: float) -> tuple[float, float, float]:
    """(CPU % of one core, RSS MB at the end, peak RSS MB) over `seconds`.

    CPU is summed per thread from samples every second, so threads that come and go
    (worker threads) are counted up to their last sample.
    """
    import psutil

    process = psutil.Process(pid)
    first = thread_cpu_ns(pid)
    last = dict(first)
    start = time.monotonic()
    peak = 0.0
    while time.monotonic() - start < seconds:
        time.sleep(min(1.0, seconds - (time.monotonic() - start)))
        for tid, ns in thread_cpu_ns(pid).items():
            first.setdefault(tid, 0)  # a thread born during the window: all of it
            last[tid] = ns
        peak = max(peak, process.memory_info().rss / 2**20)
    wall = time.monotonic() - start
    cpu_s = sum(last[tid] - first.get(tid, 0) for tid in last) / 1e9
    rss = process.memory_info().rss / 2**20
    return cpu_s / wall * 100, rss, max(peak, rss)


def run_duftui(root: Path, seconds: float, settle: float) -> tuple[float, float, float, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO), DUFTUI_SECRETS=str(root / "secrets.toml"))
    log = (root / "daemon.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "duftui", "--workspace", str(root), "daemon"],
        stdout=log,
        stderr=log,
        env=env,
        start_new_session=True,
    )
    try:
        while b"daemon started" not in (root / "daemon.log").read_bytes():
            if proc.poll() is not None:
                raise SystemExit((root / "daemon.log").read_text())
            time.sleep(0.1)
        ready = time.monotonic() - started
        time.sleep(settle)
        return (*measure(proc.pid, seconds), ready)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def run_apscheduler(
    spec_file: Path, seconds: float, settle: float
) -> tuple[float, float, float, float]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", APSCHEDULER, str(spec_file)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("APScheduler did not start")
        ready = time.monotonic() - started
        time.sleep(settle)
        return (*measure(proc.pid, seconds), ready)
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    import json

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured (60)")
    parser.add_argument("--schedules", type=int, default=10_000, help="schedules (10,000)")
    parser.add_argument(
        "--per-task", type=int, default=1, help="schedules per task file (1: 10,000 task files)"
    )
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before measuring")
    args = parser.parse_args()
    try:
        import apscheduler  # noqa: F401
    except ImportError:
        print(
            "SKIPPED: APScheduler 3 is not installed; it is the baseline of this bench. "
            'Install it with: pip install "apscheduler<4"'
        )
        return
    schedules = specs(args.schedules)
    with tempfile.TemporaryDirectory(prefix="duftui-daemon-bench-") as tmp:
        root = Path(tmp)
        make_workspace(root, schedules, args.per_task)
        spec_file = root / "specs.json"
        spec_file.write_text(json.dumps(schedules))
        d_cpu, d_rss, d_peak, d_ready = run_duftui(root, args.duration, args.settle)
        a_cpu, a_rss, a_peak, a_ready = run_apscheduler(spec_file, args.duration, args.settle)
    files = -(-args.schedules // args.per_task)
    print(f"{args.schedules} schedules in {files} task files, idle for {args.duration:g}s")
    print(f"{'':24}{'CPU %':>8}{'RSS MB':>9}{'peak MB':>9}{'ready s':>9}")
    print(f"{'duftui daemon':24}{d_cpu:8.4f}{d_rss:9.1f}{d_peak:9.1f}{d_ready:9.1f}")
    print(f"{'APScheduler 3 (bg)':24}{a_cpu:8.4f}{a_rss:9.1f}{a_peak:9.1f}{a_ready:9.1f}")
    cpu_ratio = f"{d_cpu / a_cpu:.1f}x" if a_cpu >= 0.0001 else "n/a (APScheduler: no wake-ups)"
    print(f"ratio duftui/APScheduler: CPU {cpu_ratio}, RSS {d_rss / a_rss:.2f}x")
    print(
        f"goals: CPU < 0.1 % ({'met' if d_cpu < 0.1 else 'NOT met'}), "
        f"RSS < 100 MB ({'met' if d_rss < 100 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
