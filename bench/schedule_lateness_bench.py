"""Fire lateness of every-second schedules: how long after its fire time a fire takes
effect, p50/p99 over 60 s, for `duftui daemon` and for APScheduler 3's
BackgroundScheduler in the same run (goal: p99 < 5 ms and no worse than APScheduler).

duftui: a fire takes effect when its run is queued (the fire row, batch and run are
committed in one transaction); lateness = run.queued_at - fire time, read from the store.
Each fire really runs its task (`true`), so the daemon also spawns N processes a second.
APScheduler: lateness = when the job function starts - its scheduled time.
Both run as subprocesses; the first seconds of each side (start-up) are left out.

APScheduler is a baseline only, not a duftui dependency: `pip install "apscheduler<4"`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine_support import percentile

REPO = Path(__file__).resolve().parent.parent
WARMUP_S = 3.0

APSCHEDULER = textwrap.dedent("""
    import json, sys, threading, time
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    count, duration = int(sys.argv[1]), float(sys.argv[2])
    late, lock = [], threading.Lock()
    def job():
        now = time.time()
        with lock:
            late.append(now - int(now))  # scheduled at the whole second just passed
    scheduler = BackgroundScheduler(timezone="UTC")
    for _ in range(count):
        scheduler.add_job(job, CronTrigger(second="*", timezone="UTC"),
                          misfire_grace_time=30)
    scheduler.start()
    time.sleep(duration)
    scheduler.shutdown(wait=True)
    print(json.dumps(late))
""")


def run_duftui(count: int, duration: float) -> tuple[list[float], int]:
    """(lateness in seconds of fires after the warm-up, fires that did not queue a run)."""
    with tempfile.TemporaryDirectory(prefix="duftui-lateness-bench-") as tmp:
        root = Path(tmp)
        project = root / "tasks" / "b"
        project.mkdir(parents=True)
        for index in range(count):
            (project / f"t{index}.toml").write_text(
                f'name = "t{index}"\n[run]\nkind = "command"\ncommand = ["true"]\n'
                '[[schedule]]\ncron = "* * * * * *"\n'
            )
        env = dict(os.environ, PYTHONPATH=str(REPO), DUFTUI_SECRETS=str(root / "secrets.toml"))
        log_path = root / "daemon.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "duftui",
                    "--workspace",
                    str(root),
                    "daemon",
                    "--max-parallel",
                    str(max(4, count)),
                    "--log-level",
                    "warning",
                ],
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        started = time.time()
        try:
            time.sleep(duration + WARMUP_S)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        conn = sqlite3.connect(root / ".duftui" / "state.db")
        rows = [
            (datetime.fromisoformat(queued) - datetime.fromisoformat(fire)).total_seconds()
            for fire, queued in conn.execute(
                "SELECT f.fire_time, r.queued_at FROM fire f JOIN run r ON r.id = f.run_id "
                "WHERE f.outcome = 'queued' AND f.fire_time >= ?",
                (datetime.fromtimestamp(started + WARMUP_S, UTC).isoformat(),),
            )
        ]
        not_queued = conn.execute("SELECT count(*) FROM fire WHERE outcome != 'queued'").fetchone()[
            0
        ]
        conn.close()
        return rows, not_queued


def run_apscheduler(count: int, duration: float) -> list[float]:
    result = subprocess.run(
        [sys.executable, "-c", APSCHEDULER, str(count), str(duration + WARMUP_S)],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 120,
    )
    late = json.loads(result.stdout)
    return late[int(WARMUP_S) * count :]


def summary(name: str, late: list[float]) -> tuple[float, float]:
    p50, p99 = percentile(late, 50) * 1000, percentile(late, 99) * 1000
    print(f"{name:22}{len(late):8d}{p50:10.2f}{p99:10.2f}{max(late) * 1000:10.2f}")
    return p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured (60)")
    parser.add_argument(
        "--schedules", type=int, default=1, help="every-second schedules firing together (1)"
    )
    args = parser.parse_args()
    try:
        import apscheduler  # noqa: F401
    except ImportError:
        print(
            "SKIPPED: APScheduler 3 is not installed; it is the baseline of this bench. "
            'Install it with: pip install "apscheduler<4"'
        )
        return
    duftui, not_queued = run_duftui(args.schedules, args.duration)
    baseline = run_apscheduler(args.schedules, args.duration)
    print(
        f"{args.schedules} every-second schedule(s) for {args.duration:g}s "
        f"({datetime.now():%Y-%m-%d %H:%M}); lateness in ms"
    )
    print(f"{'':22}{'fires':>8}{'p50':>10}{'p99':>10}{'max':>10}")
    d50, d99 = summary("duftui daemon", duftui)
    a50, a99 = summary("APScheduler 3 (bg)", baseline)
    if not_queued:
        print(f"note: {not_queued} duftui fires did not queue a run (see `duftui schedule fires`)")
    print(f"ratio duftui/APScheduler: p50 {d50 / a50:.2f}x, p99 {d99 / a99:.2f}x")
    verdict = "met" if d99 < 5 and d99 <= a99 else "NOT met"
    print(f"goal: p99 < 5 ms and no worse than APScheduler: {verdict}")


if __name__ == "__main__":
    main()
