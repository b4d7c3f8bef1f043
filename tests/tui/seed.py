"""A fixed history for console tests and snapshots: every timestamp is pinned, so the
screens look the same on every machine and every day."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from duftui.store.db import Store
from duftui.store.logs import OpenChunk, write_chunks
from duftui.store.outputs import record_output
from duftui.store.runs import insert_batch, insert_run
from duftui.store.states import Level

FIXED_NOW = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
IDS: dict[str, int] = {}


def at(hours: float = 0.0, *, days: float = 0.0) -> datetime:
    """A time relative to the pinned "now" (negative = in the past)."""
    return FIXED_NOW + timedelta(hours=hours, days=days)


def _run(
    conn,
    name: str,
    task: str,
    status: str,
    queued: datetime,
    *,
    took: float | None = 2.5,
    trigger: str = "schedule",
    by: str = "",
    attempt: int = 1,
    max_attempts: int = 1,
    exit_code: int | None = None,
    error: str | None = None,
    **extra: object,
) -> int:
    batch = insert_batch(conn, project=task.split("/")[0], trigger=trigger, requested_by=by)
    run_id = insert_run(
        conn,
        task_key=task,
        trigger=trigger,
        requested_by=by,
        batch_id=batch,
        attempt=attempt,
        max_attempts=max_attempts,
        params={"greeting": "Hello"} if task.startswith("demo/") else {},
    )
    started = queued + timedelta(seconds=1) if status not in ("queued", "skipped") else None
    finished = (
        started + timedelta(seconds=took)
        if started and took is not None and status != "running"
        else None
    )
    values = {
        "id": run_id,
        "status": status,
        "queued_at": queued.isoformat(timespec="microseconds"),
        "started_at": started.isoformat(timespec="microseconds") if started else None,
        "finished_at": finished.isoformat(timespec="microseconds") if finished else None,
        "exit_code": exit_code if exit_code is not None else (0 if status == "succeeded" else None),
        "error": error,
        "host": "etl01",
        "logical_time": queued.isoformat(timespec="seconds"),
        "cpu_user_s": 0.42 if finished else None,
        "cpu_sys_s": 0.08 if finished else None,
        "max_rss_kb": 30_720 if finished else None,
    }
    values.update(extra)
    sets = ", ".join(f"{k} = :{k}" for k in values if k != "id")
    conn.execute(text(f"UPDATE run SET {sets} WHERE id = :id"), values)
    IDS[name] = run_id
    return run_id


def _log(conn, run_id: int, start: datetime, lines: list[tuple[str, int, str]]) -> None:
    chunk = OpenChunk(run_id, 1, [])
    for offset, (stream, level, line) in enumerate(lines):
        chunk.add(start.timestamp() + offset * 0.25, stream, level, line)
        if chunk.full:
            write_chunks(conn, [chunk])
            chunk = OpenChunk(run_id, chunk.next_seq, [])
    write_chunks(conn, [chunk])


def seed_history(store: Store, workspace: Path) -> dict[str, int]:
    """Insert the fixed history; returns run ids by name."""
    with store.write() as conn:
        for day in range(1, 7):
            _run(
                conn,
                f"hello-{day}",
                "demo/hello",
                "succeeded",
                at(-2, days=-day),
                trigger="manual",
                by="alice",
            )
        _run(conn, "visits", "clinic/daily-visits", "succeeded", at(-3.75, days=-1))
        _run(
            conn,
            "greet",
            "demo/greet",
            "cancelled",
            at(-5, days=-2),
            trigger="manual",
            by="bob",
            error="cancelled: by bob",
            exit_code=-15,
        )
        _run(
            conn,
            "dead",
            "pipeline/extract",
            "failed",
            at(-8),
            attempt=3,
            max_attempts=3,
            exit_code=1,
            dead=1,
            error="FileNotFoundError: tasks/clinic/data/clinic.db\n(exit code 1)",
        )
        flaky = _run(
            conn,
            "flaky",
            "demo/flaky",
            "failed",
            at(-0.5),
            trigger="manual",
            by="alice",
            max_attempts=3,
            exit_code=3,
            error="ERROR: upstream answered 503 Service Unavailable\n(exit code 3)",
        )
        _run(
            conn,
            "flaky-retry",
            "demo/flaky",
            "queued",
            at(-0.5),
            took=None,
            trigger="retry",
            by="alice",
            attempt=2,
            max_attempts=3,
            retry_of=flaky,
            not_before="2099-01-01T00:00:00.000000+00:00",
        )  # never due while tests run
        _run(conn, "hello", "demo/hello", "succeeded", at(-1), trigger="manual", by="alice")
        _run(
            conn,
            "heartbeat",
            "demo/heartbeat",
            "running",
            at(-0.01),
            took=None,
            supervisor="etl01:4242:1.00",
            pid=4242,
        )
        _log(
            conn,
            IDS["hello"],
            at(-1),
            [
                ("event", Level.INFO, "starting python scripts/hello.py in tasks/demo"),
                ("stdout", Level.INFO, "hello from run 42 of demo/hello"),
                ("stdout", Level.INFO, "step 1 of 3"),
                ("stdout", Level.INFO, "step 2 of 3"),
                ("stdout", Level.INFO, "step 3 of 3"),
                ("stdout", Level.INFO, "done"),
                ("event", Level.INFO, "finished: succeeded"),
            ],
        )
        _log(
            conn,
            flaky,
            at(-0.5),
            [
                ("event", Level.INFO, "attempt 1 of 3: starting python scripts/fail.py"),
                ("stdout", Level.INFO, "connecting to the upstream system…"),
                ("stdout", Level.WARNING, "WARNING: slow answer from upstream (2.1 s)"),
                ("stderr", Level.ERROR, "ERROR: upstream answered 503 Service Unavailable"),
                ("event", Level.ERROR, "finished: failed, exit code 3"),
            ],
        )
        _log(
            conn,
            IDS["heartbeat"],
            at(-0.01),
            [
                ("event", Level.INFO, "starting python3 -c …"),
                ("stdout", Level.INFO, "alive at 2026-03-02T09:59:25"),
            ],
        )
        out_dir = workspace / ".duftui" / "runs" / str(IDS["visits"])
        record_output(
            conn,
            IDS["visits"],
            out_dir / "visits_20260301.csv",
            "output",
            size=48_213,
            md5="9e107d9d372bb6826bd81d3542a419d6",
        )
        record_output(
            conn,
            IDS["visits"],
            out_dir / "visits_20260301.csv.zip",
            "output",
            size=9_871,
            md5="e4d909c290d0fb1ca068ffaddf22cbd0",
        )
        conn.execute(
            text("UPDATE output_file SET created_at = :t, delivered_to = :d"),
            {"t": at(-3.7, days=-1).isoformat(), "d": json.dumps(["local:exports"])},
        )
        conn.execute(text("UPDATE batch SET created_at = :t"), {"t": at(-48).isoformat()})
    return dict(IDS)
