"""Removing old history (`duftui prune`, the daemon's daily prune): which runs may go, and
deleting them in short write transactions so the daemon keeps firing on time meanwhile.

A run never goes while it or its batch is unfinished, while a waiting retry points at it,
while it is dead and nobody acknowledged it, or while it is the newest run of its task.
Its log chunks and output records go with it (ON DELETE CASCADE); fires that name it keep
their row with the run forgotten; a batch goes when its last run has gone.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from duftui.store.db import Store
from duftui.store.timestamps import from_iso, to_iso

ENDED = ("succeeded", "failed", "cancelled", "timed_out", "skipped", "lost")
_ENDED_SQL = ", ".join(f"'{status}'" for status in ENDED)

# Conditions under which a run must stay (checked again, in `_still_may_go`, inside each
# deleting transaction).
_MAY_GO = f"""
    status IN ({_ENDED_SQL})
    AND NOT (dead = 1 AND acknowledged_at IS NULL)
    AND id NOT IN (SELECT retry_of FROM run
                   WHERE status IN ('queued', 'running') AND retry_of IS NOT NULL)
    AND (batch_id IS NULL OR batch_id NOT IN (
            SELECT batch_id FROM run
            WHERE status IN ('queued', 'running') AND batch_id IS NOT NULL))
"""

_CANDIDATES = f"""
SELECT id, output_dir FROM (
    SELECT id, output_dir, status, dead, acknowledged_at, retry_of, batch_id, queued_at,
           ROW_NUMBER() OVER (PARTITION BY task_key ORDER BY id DESC) AS newest
    FROM run
)
WHERE newest > :keep AND (:before IS NULL OR queued_at < :before) AND {_MAY_GO}
ORDER BY id
"""

_LOG_CANDIDATES = f"""
SELECT r.id FROM (
    SELECT id, task_key, status, dead, acknowledged_at, retry_of, batch_id, queued_at,
           ROW_NUMBER() OVER (PARTITION BY task_key ORDER BY id DESC) AS newest
    FROM run
) AS r
WHERE newest > 1 AND queued_at < :before AND {_MAY_GO}
  AND EXISTS (SELECT 1 FROM log_chunk AS c WHERE c.run_id = r.id)
ORDER BY r.id
"""

TARGET_HOLD_S = 0.05  # each deleting transaction aims to hold the write lock this long
MIN_SLICE = 250
VACUUM_PAGES = 128  # pages given back per transaction (half a MiB, about 50 ms)
# Writers in other processes (the daemon's fires) wait for the lock in SQLite's busy
# handler, which sleeps up to 100 ms between tries: back-to-back transactions would starve
# them. So after every WORK_S of holding the lock, the prune stands aside for PAUSE_S.
WORK_S = 0.4
PAUSE_S = 0.12


@dataclass(frozen=True)
class PrunePolicy:
    """What to remove: runs queued before `runs_before` (all but the newest `keep_last`
    of each task, when set), and the log lines of runs queued before `logs_before`."""

    runs_before: datetime | None = None
    keep_last: int | None = None
    logs_before: datetime | None = None

    @property
    def prunes_runs(self) -> bool:
        return self.runs_before is not None or self.keep_last is not None


@dataclass
class PruneResult:
    """What a prune removed (or, on a dry run, would remove)."""

    runs: int = 0
    log_chunks: int = 0
    log_lines: int = 0
    output_files: int = 0
    fires: int = 0
    batches: int = 0
    logs_of_kept_runs: int = 0
    run_folders: list[str] = field(default_factory=list)
    pages_freed: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    longest_lock_s: float = 0.0
    last_lock_s: float = 0.0
    held_since_pause_s: float = 0.0
    transactions: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "runs": self.runs,
            "log_chunks": self.log_chunks,
            "log_lines": self.log_lines,
            "output_files": self.output_files,
            "fires": self.fires,
            "batches": self.batches,
            "logs_of_kept_runs": self.logs_of_kept_runs,
            "run_folders": len(self.run_folders),
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "longest_lock_ms": round(self.longest_lock_s * 1000, 1),
        }


def plan(store: Store, policy: PrunePolicy) -> tuple[list[tuple[int, str | None]], list[int]]:
    """The runs that would go (id, run folder) and the runs that would lose their logs."""
    db = store.connect()
    try:
        runs: list[tuple[int, str | None]] = []
        if policy.prunes_runs:
            keep = max(policy.keep_last or 1, 1)
            before = to_iso(policy.runs_before) if policy.runs_before else None
            runs = [
                (row[0], row[1])
                for row in db.execute(_CANDIDATES, {"keep": keep, "before": before})
            ]
        logs: list[int] = []
        if policy.logs_before is not None:
            going = {run_id for run_id, _ in runs}
            rows = db.execute(_LOG_CANDIDATES, {"before": to_iso(policy.logs_before)})
            logs = [row[0] for row in rows if row[0] not in going]
        return runs, logs
    finally:
        db.close()


def count(store: Store, run_ids: list[int], log_runs: list[int]) -> PruneResult:
    """What deleting these would remove, for `--dry-run`."""
    result = PruneResult(runs=len(run_ids))
    db = store.connect()
    try:
        for ids in _slices(run_ids + log_runs, 500):
            chunks, lines = _log_counts(db, ids)
            result.log_chunks += chunks
            result.log_lines += lines
        for ids in _slices(run_ids, 500):
            marks = ",".join("?" * len(ids))
            result.output_files += db.execute(
                f"SELECT count(*) FROM output_file WHERE run_id IN ({marks})", ids
            ).fetchone()[0]
        result.logs_of_kept_runs = len(log_runs)
        return result
    finally:
        db.close()


def delete(
    store: Store,
    run_ids: list[int],
    log_runs: list[int],
    fires_before: datetime | None,
    audit: tuple[str, str] | None = None,
) -> PruneResult:
    """Delete in transactions sized to hold the write lock about TARGET_HOLD_S each."""
    result = PruneResult()
    db = store.connect()
    try:
        result.bytes_before = _file_bytes(db)
        for ids in _adaptive(run_ids, result):
            with _timed(store, db, result):
                _delete_runs(db, ids, result)
        for ids in _adaptive(log_runs, result):
            with _timed(store, db, result):
                _delete_logs(db, ids, result)
        if fires_before is not None:
            while True:
                with _timed(store, db, result):
                    gone = db.execute(
                        "DELETE FROM fire WHERE id IN (SELECT id FROM fire "
                        "WHERE fire_time < ? ORDER BY fire_time LIMIT 5000)",
                        (to_iso(fires_before),),
                    ).rowcount
                result.fires += gone
                if gone < 5000:
                    break
        result.pages_freed = _reclaim(store, db, result)
        result.bytes_after = _file_bytes(db)
        if audit is not None:
            with _timed(store, db, result):
                db.execute(
                    "INSERT INTO audit (ts, user, action, target, detail) "
                    "VALUES (?, ?, 'prune', ?, ?)",
                    (to_iso(_now()), audit[0], audit[1], json.dumps(result.as_dict())),
                )
        return result
    finally:
        db.close()


def _delete_runs(db: sqlite3.Connection, ids: list[int], result: PruneResult) -> None:
    still = _still_may_go(db, ids)
    if not still:
        return
    marks = ",".join("?" * len(still))
    chunks, lines = _log_counts(db, still)
    outputs = db.execute(
        f"SELECT count(*) FROM output_file WHERE run_id IN ({marks})", still
    ).fetchone()[0]
    batches = [
        row[0]
        for row in db.execute(
            f"SELECT DISTINCT batch_id FROM run WHERE id IN ({marks}) AND batch_id IS NOT NULL",
            still,
        )
    ]
    db.execute(f"UPDATE run SET retry_of = NULL WHERE retry_of IN ({marks})", still)
    db.execute(f"UPDATE fire SET run_id = NULL WHERE run_id IN ({marks})", still)
    result.runs += db.execute(f"DELETE FROM run WHERE id IN ({marks})", still).rowcount
    result.log_chunks += chunks
    result.log_lines += lines
    result.output_files += outputs
    if batches:
        marks = ",".join("?" * len(batches))
        db.execute(f"UPDATE fire SET batch_id = NULL WHERE batch_id IN ({marks})", batches)
        result.batches += db.execute(
            f"DELETE FROM batch WHERE id IN ({marks}) "
            "AND NOT EXISTS (SELECT 1 FROM run WHERE run.batch_id = batch.id)",
            batches,
        ).rowcount


def _delete_logs(db: sqlite3.Connection, ids: list[int], result: PruneResult) -> None:
    still = _still_may_go(db, ids)
    if not still:
        return
    marks = ",".join("?" * len(still))
    chunks, lines = _log_counts(db, still)
    db.execute(f"DELETE FROM log_chunk WHERE run_id IN ({marks})", still)
    result.log_chunks += chunks
    result.log_lines += lines
    result.logs_of_kept_runs += len(still)


def _log_counts(db: sqlite3.Connection, ids: list[int]) -> tuple[int, int]:
    """Chunks and lines of these runs' logs."""
    marks = ",".join("?" * len(ids))
    chunks, lines = db.execute(
        f"SELECT count(*), coalesce(sum(line_count), 0) FROM log_chunk WHERE run_id IN ({marks})",
        ids,
    ).fetchone()
    return int(chunks), int(lines)


def _still_may_go(db: sqlite3.Connection, ids: list[int]) -> list[int]:
    """`ids` less those that must stay now (checked under the write lock: a run may have
    been retried or acknowledged, or its batch moved on, since the plan was made). The few
    unfinished runs are read once, rather than once per candidate."""
    unfinished = db.execute(
        "SELECT retry_of, batch_id FROM run WHERE status IN ('queued', 'running')"
    ).fetchall()
    awaited = {retry_of for retry_of, _ in unfinished if retry_of is not None}
    busy = {batch for _, batch in unfinished if batch is not None}
    marks = ",".join("?" * len(ids))
    return [
        run_id
        for run_id, status, dead, acknowledged, batch in db.execute(
            f"SELECT id, status, dead, acknowledged_at, batch_id FROM run WHERE id IN ({marks})",
            ids,
        )
        if status in ENDED
        and not (dead and acknowledged is None)
        and run_id not in awaited
        and batch not in busy
    ]


def _reclaim(store: Store, db: sqlite3.Connection, result: PruneResult) -> int:
    """Give free pages back to the file system a few megabytes at a time (only a file with
    auto_vacuum = INCREMENTAL can; older files reuse the pages for new rows instead)."""
    if db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
        return 0
    freed = 0
    while True:
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        if not free:
            break
        step = min(free, VACUUM_PAGES)
        with _timed(store, db, result):
            # The sqlite3 module steps a pragma once, and each step of incremental_vacuum
            # frees one page: so one statement per page, VACUUM_PAGES per transaction.
            for _ in range(step):
                db.execute("PRAGMA incremental_vacuum(1)")
        freed += step
    # The file shrinks when the WAL is copied back. A passive checkpoint never blocks the
    # daemon's writers (TRUNCATE would, while it waits for readers); what it cannot copy
    # now, the next checkpoint does.
    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return freed


def last_prune(store: Store) -> datetime | None:
    """When the audit last recorded a prune."""
    db = store.connect()
    try:
        row = db.execute(
            "SELECT ts FROM audit WHERE action = 'prune' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    finally:
        db.close()
    return from_iso(row[0]) if row else None


def vacuum(store: Store) -> None:
    """Once, for a state file made before prunes could shrink it: rewrite it with
    auto_vacuum = INCREMENTAL. Holds the write lock for the whole rewrite."""
    db = store.connect()
    try:
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def can_shrink(store: Store) -> bool:
    db = store.connect()
    try:
        return db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    finally:
        db.close()


class _timed:
    """One write transaction on `db`, queued behind this process's writers, timed."""

    def __init__(self, store: Store, db: sqlite3.Connection, result: PruneResult) -> None:
        self._cm = store.write_on(db)
        self._result = result
        self._started = 0.0

    def __enter__(self) -> sqlite3.Connection:
        conn = self._cm.__enter__()
        self._started = time.perf_counter()
        return conn

    def __exit__(self, *exc: object) -> None:
        try:
            self._cm.__exit__(*exc)  # type: ignore[arg-type]
        finally:
            held = time.perf_counter() - self._started
            result = self._result
            result.longest_lock_s = max(result.longest_lock_s, held)
            result.last_lock_s = held
            result.transactions += 1
            result.held_since_pause_s += held
            if result.held_since_pause_s >= WORK_S:
                time.sleep(PAUSE_S)  # let another process's waiting writer in
                result.held_since_pause_s = 0.0


def _adaptive(ids: list[int], result: PruneResult) -> Iterator[list[int]]:
    """Slices of `ids` that grow or shrink so each transaction holds about TARGET_HOLD_S."""
    size, start = MIN_SLICE, 0
    while start < len(ids):
        piece = ids[start : start + size]
        start += len(piece)
        yield piece
        held = result.last_lock_s
        if held > 0:
            # Each transaction has a fixed cost (its commit, the checks), so slices never
            # shrink below MIN_SLICE: on a busy machine that would only add transactions.
            size = int(min(max(size * TARGET_HOLD_S / held, MIN_SLICE), 5000, size * 2))


def _slices(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _file_bytes(db: sqlite3.Connection) -> int:
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    return int(pages) * int(db.execute("PRAGMA page_size").fetchone()[0])


def _now() -> datetime:
    from duftui.store.timestamps import utcnow

    return utcnow()
