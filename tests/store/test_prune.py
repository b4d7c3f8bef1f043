"""Retention: which runs a prune removes and which it must keep, on a real state file."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from duftui.engine.retention import Retention, next_daily_prune, prune
from duftui.store.db import Store
from duftui.store.timestamps import to_iso

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class History:
    """Rows written straight into a real state file, the way the engine leaves them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = Store(root / ".duftui" / "state.db")
        self.db = self.store.connect()
        self.runs_dir = root / ".duftui" / "runs"

    def batch(self, project: str = "p") -> int:
        cur = self.db.execute(
            "INSERT INTO batch (project, trigger, created_at) VALUES (?, 'schedule', ?)",
            (project, to_iso(NOW)),
        )
        return int(cur.lastrowid or 0)

    def run(
        self,
        task: str,
        days_ago: float,
        status: str = "succeeded",
        *,
        dead: bool = False,
        acknowledged: bool = False,
        retry_of: int | None = None,
        batch: int | None = None,
        lines: int = 3,
        folder: bool = True,
    ) -> int:
        at = to_iso(NOW - timedelta(days=days_ago))
        cur = self.db.execute(
            "INSERT INTO run (task_key, project, trigger, status, queued_at, finished_at, dead, "
            "acknowledged_at, retry_of, batch_id, log_lines) "
            "VALUES (?, ?, 'schedule', ?, ?, ?, ?, ?, ?, ?, ?)",
            (task, task.split("/")[0], status, at, at if status not in ("queued", "running")
             else None, int(dead), at if acknowledged else None, retry_of, batch, lines),
        )
        run_id = int(cur.lastrowid or 0)
        if lines:
            text = json.dumps({"n": lines}) + "\n" + "\n".join(f"line {i}" for i in range(lines))
            self.db.execute(
                "INSERT INTO log_chunk (run_id, first_seq, line_count, first_ts, last_ts, lines) "
                "VALUES (?, 1, ?, 0, 0, ?)",
                (run_id, lines, text),
            )
        self.db.execute(
            "INSERT INTO output_file (run_id, path, stage, created_at) VALUES (?, 'x.csv', "
            "'output', ?)",
            (run_id, at),
        )
        if folder:
            path = self.runs_dir / str(run_id)
            path.mkdir(parents=True)
            (path / "x.csv").write_text("a,b\n")
            self.db.execute("UPDATE run SET output_dir = ? WHERE id = ?", (str(path), run_id))
        return run_id

    def fire(self, key: str, days_ago: float, run_id: int | None, batch: int | None) -> None:
        at = to_iso(NOW - timedelta(days=days_ago))
        self.db.execute(
            "INSERT INTO fire (schedule_key, fire_time, outcome, run_id, batch_id, created_at) "
            "VALUES (?, ?, 'queued', ?, ?, ?)",
            (key, at, run_id, batch, at),
        )

    def ids(self) -> set[int]:
        return {row[0] for row in self.db.execute("SELECT id FROM run")}

    def scalar(self, sql: str) -> int:
        return int(self.db.execute(sql).fetchone()[0])

    def close(self) -> None:
        self.db.close()
        self.store.close()


@pytest.fixture
def history(tmp_path: Path):
    made = History(tmp_path / "ws")
    yield made
    made.close()


def test_prune_keeps_what_must_stay_and_removes_the_rest(history: History) -> None:
    old = [history.run("p/a", 200 - i) for i in range(5)]
    newest_a = history.run("p/a", 150)  # old, but the newest of its task
    dead = history.run("p/b", 300, "failed", dead=True)  # nobody acknowledged it
    acked = history.run("p/b", 299, "failed", dead=True, acknowledged=True)
    failed = history.run("p/b", 298, "failed")
    waiting = history.run("p/b", 1, "queued", retry_of=failed)  # a retry still waits on it
    busy = history.batch()
    in_busy = history.run("p/c", 250, batch=busy)
    history.run("p/c", 0.5, "running", batch=busy)
    done = history.batch()
    in_done = history.run("p/d", 250, batch=done)
    history.run("p/d", 1)
    history.fire("p/d#0", 250, in_done, done)
    history.fire("p/a#0", 1, None, None)
    recent = history.run("p/e", 2)

    result = prune(history.store, history.root, Retention(runs=timedelta(days=90)), now=NOW)

    gone = {*old, acked, in_done}
    assert history.ids().isdisjoint(gone)
    assert {newest_a, dead, failed, waiting, in_busy, recent} <= history.ids()
    assert result.runs == len(gone)
    assert result.log_lines == 3 * len(gone) and result.output_files == len(gone)
    assert history.scalar(f"SELECT count(*) FROM log_chunk WHERE run_id IN "
                          f"({','.join(map(str, gone))})") == 0
    assert result.batches == 1 and history.scalar(
        f"SELECT count(*) FROM batch WHERE id = {done}") == 0
    assert history.scalar(f"SELECT count(*) FROM batch WHERE id = {busy}") == 1
    # The old fire goes (older than the cut); the recent one stays.
    assert history.scalar("SELECT count(*) FROM fire") == 1 and result.fires == 1
    assert {p.name for p in history.runs_dir.iterdir()} == {str(i) for i in history.ids()}
    assert not any((history.runs_dir / str(i)).exists() for i in gone)
    assert len(result.run_folders) == len(gone)
    audit = history.db.execute("SELECT user, action, target, detail FROM audit").fetchall()
    assert [(a[1], a[2]) for a in audit] == [("prune", "runs older than 90d")]
    assert json.loads(audit[0][3])["runs"] == len(gone)


def test_keep_last_keeps_that_many_of_each_task(history: History) -> None:
    a = [history.run("p/a", 10 - i) for i in range(6)]
    b = [history.run("p/b", 10 - i) for i in range(2)]
    result = prune(history.store, history.root, Retention(keep_last=3), now=NOW)
    assert history.ids() == {*a[-3:], *b}
    assert result.runs == 3


def test_keep_last_and_age_together_keep_the_union(history: History) -> None:
    a = [history.run("p/a", 100 - i * 30) for i in range(4)]  # 100, 70, 40, 10 days ago
    prune(history.store, history.root, Retention(runs=timedelta(days=50), keep_last=3), now=NOW)
    # 100 days ago is old and not among the last 3; 70 is old but among the last 3.
    assert history.ids() == set(a[1:])


def test_logs_can_go_before_their_runs(history: History) -> None:
    old = history.run("p/a", 40)
    newest = history.run("p/a", 35)
    young = history.run("p/b", 5)
    history.run("p/b", 4)
    result = prune(history.store, history.root, Retention(logs=timedelta(days=30)), now=NOW)
    assert history.ids() == {old, newest, young, young + 1}
    assert history.scalar(f"SELECT count(*) FROM log_chunk WHERE run_id = {old}") == 0
    assert history.scalar(f"SELECT count(*) FROM log_chunk WHERE run_id = {newest}") == 1
    assert history.scalar(f"SELECT count(*) FROM log_chunk WHERE run_id = {young}") == 1
    assert result.logs_of_kept_runs == 1 and result.log_lines == 3 and result.runs == 0


def test_a_dry_run_counts_and_removes_nothing(history: History) -> None:
    for i in range(4):
        history.run("p/a", 100 - i)
    before = history.ids()
    result = prune(
        history.store, history.root, Retention(runs=timedelta(days=10)), dry_run=True, now=NOW
    )
    assert result.runs == 3 and result.log_lines == 9 and result.output_files == 3
    assert len(result.run_folders) == 3
    assert history.ids() == before
    assert history.scalar("SELECT count(*) FROM audit") == 0


def test_a_run_folder_outside_the_state_folder_is_never_removed(
    history: History, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "precious"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("x")
    run_id = history.run("p/a", 100, folder=False)
    history.db.execute("UPDATE run SET output_dir = ? WHERE id = ?", (str(elsewhere), run_id))
    history.run("p/a", 1)
    prune(history.store, history.root, Retention(runs=timedelta(days=10)), now=NOW)
    assert run_id not in history.ids()
    assert (elsewhere / "keep.txt").exists()


def test_pruning_gives_the_space_back(history: History) -> None:
    for i in range(400):
        history.run("p/a", 400 - i, lines=400, folder=False)
    history.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = (history.store.path).stat().st_size
    result = prune(history.store, history.root, Retention(runs=timedelta(days=10)), now=NOW)
    assert result.runs == 390
    assert result.bytes_after < result.bytes_before / 4
    assert history.store.path.stat().st_size < size / 4
    assert history.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_daemon_prunes_a_day_after_the_last_prune(history: History) -> None:
    assert next_daily_prune(history.store, NOW) == NOW + timedelta(minutes=1)
    history.run("p/a", 100)
    history.run("p/a", 1)
    prune(history.store, history.root, Retention(runs=timedelta(days=10)))
    last = history.db.execute("SELECT ts FROM audit WHERE action = 'prune'").fetchone()[0]
    expected = datetime.fromisoformat(last) + timedelta(days=1)
    assert next_daily_prune(history.store, datetime.fromisoformat(last)) == expected


def test_an_older_state_file_is_told_to_vacuum_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("CREATE TABLE placeholder (x)")
    raw.close()
    store = Store(path)
    try:
        from duftui.store.prune import can_shrink, vacuum

        assert not can_shrink(store)
        vacuum(store)
        assert can_shrink(store)
    finally:
        store.close()
