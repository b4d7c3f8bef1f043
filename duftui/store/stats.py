"""Per-task statistics of the history (`duftui stats`, the console's sparklines): counts,
success rate, duration percentiles, CPU and memory, from the `run` table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from duftui.store.timestamps import from_iso, to_iso

# Runs that ended with an outcome of their own; cancelled and skipped runs are counted
# apart, as they say nothing about whether the task works.
OUTCOMES = ("succeeded", "failed", "timed_out", "lost")
SPARK = "▁▂▃▄▅▆▇█"


@dataclass
class TaskStats:
    task: str
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0
    durations: list[float] = field(default_factory=list)  # seconds, oldest first
    cpu_s: list[float] = field(default_factory=list)
    peak_rss_kb: int | None = None
    last_success: datetime | None = None
    recent: list[float] = field(default_factory=list)  # the last 30 durations, oldest first

    @property
    def success_rate(self) -> float | None:
        decided = self.succeeded + self.failed
        return self.succeeded / decided if decided else None

    def percentile(self, q: float) -> float | None:
        return percentile(self.durations, q)

    @property
    def mean_cpu_s(self) -> float | None:
        return sum(self.cpu_s) / len(self.cpu_s) if self.cpu_s else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "runs": self.runs,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "skipped": self.skipped,
            "success_rate": self.success_rate,
            "p50_s": self.percentile(50),
            "p95_s": self.percentile(95),
            "max_s": max(self.durations) if self.durations else None,
            "mean_cpu_s": self.mean_cpu_s,
            "peak_rss_kb": self.peak_rss_kb,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "sparkline": sparkline(self.recent),
            "recent_durations_s": self.recent,
        }


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile by linear interpolation between closest ranks (numpy's
    default), so small samples give the values people compute by hand."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def sparkline(values: list[float]) -> str:
    """One block character per value, scaled from the smallest to the largest."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high - low < 1e-9:
        return SPARK[len(SPARK) // 2 - 1] * len(values)
    return "".join(SPARK[round((v - low) / (high - low) * (len(SPARK) - 1))] for v in values)


_ROWS = """
SELECT task_key, status, started_at, finished_at, cpu_user_s, cpu_sys_s, max_rss_kb
FROM run
WHERE status NOT IN ('queued', 'running') AND queued_at >= :since {task}
ORDER BY task_key, id
"""

_RECENT = """
SELECT started_at, finished_at FROM run
WHERE task_key = :t AND status IN ('succeeded', 'failed', 'timed_out')
  AND started_at IS NOT NULL AND finished_at IS NOT NULL
ORDER BY id DESC LIMIT :n
"""

_LAST_SUCCESS = (
    "SELECT max(finished_at) FROM run WHERE task_key = :t AND status = 'succeeded'"
)


def task_stats(
    conn: Connection, since: datetime, task: str | None = None, recent: int = 30
) -> list[TaskStats]:
    """Statistics of every task (or one) over runs queued since `since`."""
    params: dict[str, Any] = {"since": to_iso(since)}
    clause = ""
    if task is not None:
        clause, params["t"] = "AND task_key = :t", task
    found: dict[str, TaskStats] = {}
    for key, status, started, finished, cpu_user, cpu_sys, rss in conn.execute(
        text(_ROWS.format(task=clause)), params
    ):
        stats = found.get(key)
        if stats is None:
            stats = found[key] = TaskStats(key)
        stats.runs += 1
        if status == "succeeded":
            stats.succeeded += 1
        elif status in OUTCOMES:
            stats.failed += 1
        elif status == "cancelled":
            stats.cancelled += 1
        elif status == "skipped":
            stats.skipped += 1
        if status in OUTCOMES and started and finished:
            stats.durations.append(_seconds(started, finished))
        if cpu_user is not None or cpu_sys is not None:
            stats.cpu_s.append((cpu_user or 0.0) + (cpu_sys or 0.0))
        if rss is not None:
            stats.peak_rss_kb = max(stats.peak_rss_kb or 0, int(rss))
    if task is not None and task not in found:
        found[task] = TaskStats(task)
    for key, stats in found.items():
        last = conn.execute(text(_LAST_SUCCESS), {"t": key}).scalar()
        stats.last_success = from_iso(last) if last else None
        rows = conn.execute(text(_RECENT), {"t": key, "n": recent}).fetchall()
        stats.recent = [_seconds(s, f) for s, f in reversed(rows)]
    return [found[key] for key in sorted(found)]


def _seconds(started: str, finished: str) -> float:
    start, end = from_iso(started), from_iso(finished)
    assert start is not None and end is not None
    return round((end - start).total_seconds(), 3)
