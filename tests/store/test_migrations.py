"""The schema: versioned migrations that agree with the SQLModel tables, the indexes
history needs, refusal of newer files, safe concurrent creation, and the connection
settings of DESIGN §4."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Boolean, Float, Integer, String, Text
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

import duftui.store.tables  # noqa: F401  (registers the models)
from duftui.store import migrations
from duftui.store.db import ChangeWatcher, Store, connect_raw
from duftui.store.migrations import LATEST, SchemaTooNew
from tests.conftest import REPO, python_env
from tests.store.factories import add_run


def _user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def _affinity(column_type: object) -> str:
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, Boolean | Integer):
        return "INTEGER"
    if isinstance(column_type, Float):
        return "REAL"
    if isinstance(column_type, String | Text):
        return "TEXT"
    raise AssertionError(f"no SQLite affinity known for {column_type!r}")


def _indexes(conn: sqlite3.Connection, table: str) -> dict[str, list[str]]:
    names = [row[1] for row in conn.execute(f"PRAGMA index_list({table})")]
    return {name: [row[2] for row in conn.execute(f"PRAGMA index_info({name})")] for name in names}


def test_a_new_file_reaches_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "state.db"
    store = Store(path)
    store.close()
    assert store.schema_version == LATEST
    assert _user_version(path) == LATEST


def test_a_missing_file_is_not_created_when_asked_not_to(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no state file"):
        Store(tmp_path / "absent.db", create=False)
    assert not (tmp_path / "absent.db").exists()


def test_the_migrated_schema_matches_the_models(store: Store) -> None:
    models = SQLModel.metadata.tables
    with store.raw() as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        assert tables == set(models)
        for name, table in models.items():
            info = conn.execute(f"PRAGMA table_info({name})").fetchall()
            in_db = {
                col_name: (
                    # An INTEGER PRIMARY KEY is the rowid: never NULL, whatever notnull says.
                    bool(notnull) or (pk > 0 and col_type.upper() == "INTEGER"),
                    col_type.upper(),
                )
                for _cid, col_name, col_type, notnull, _default, pk in info
            }
            in_model = {
                column.name: (not column.nullable, _affinity(column.type))
                for column in table.columns
            }
            assert in_db == in_model, f"table {name}: migrations and models disagree"
            keys = {
                (row[3], row[2], row[4]) for row in conn.execute(f"PRAGMA foreign_key_list({name})")
            }
            model_keys = {
                (fk.parent.name, fk.column.table.name, fk.column.name) for fk in table.foreign_keys
            }
            assert keys == model_keys, f"table {name}: foreign keys disagree"
            primary = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
            assert primary == [column.name for column in table.primary_key.columns]


def test_history_queries_have_their_indexes(store: Store) -> None:
    with store.raw() as conn:
        run = list(_indexes(conn, "run").values())
        assert ["task_key", "queued_at"] in [cols[:2] for cols in run]
        assert "status" in [cols[0] for cols in run]
        assert "batch_id" in [cols[0] for cols in run]
        assert ["queued_at"] in run
        assert ["run_id", "first_seq"] in _indexes(conn, "log_chunk").values()
        assert ["run_id"] in _indexes(conn, "output_file").values()
        plans = {
            "SELECT id FROM run WHERE task_key = ? ORDER BY queued_at DESC, id DESC LIMIT 100": (
                "ix_run_task_queued"
            ),
            "SELECT id FROM run WHERE status = ? ORDER BY queued_at DESC, id DESC LIMIT 100": (
                "ix_run_status_queued"
            ),
            "SELECT id FROM run WHERE batch_id = ?": "ix_run_batch",
            "SELECT id FROM run ORDER BY queued_at, id": "ix_run_queued",
        }
        for sql, index in plans.items():
            plan = " | ".join(
                row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, (1,) * sql.count("?"))
            )
            assert index in plan, f"{sql!r} does not use {index}: {plan}"
            assert "TEMP B-TREE" not in plan, f"{sql!r} sorts: {plan}"


def test_a_file_from_a_newer_duftui_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store(path).close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
        conn.commit()
        before = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    with pytest.raises(SchemaTooNew) as refused:
        Store(path)
    message = str(refused.value)
    assert f"schema version {LATEST + 1}" in message
    assert f"only up to {LATEST}" in message
    assert "upgrade duftui" in message and "--db" in message
    assert _user_version(path) == LATEST + 1
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before


def test_a_failed_migration_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    Store(path).close()
    broken = "CREATE TABLE half_done (a INTEGER);\nCREATE TABLE broken (;"
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, (LATEST + 1, broken)])
    monkeypatch.setattr(migrations, "LATEST", LATEST + 1)
    with pytest.raises(sqlite3.OperationalError):
        Store(path)
    assert _user_version(path) == LATEST
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"
        ).fetchone() == (0,)


def test_opening_twice_migrates_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = Store(path)
    with first.write() as conn:
        run_id = add_run(conn)
    second = Store(path)
    assert first.schema_version == second.schema_version == LATEST
    with second.read() as conn:
        assert conn.exec_driver_sql("SELECT id FROM run").scalars().all() == [run_id]
    first.close()
    second.close()


@pytest.mark.parametrize("round_", range(3))
def test_processes_racing_to_create_one_file_all_succeed(tmp_path: Path, round_: int) -> None:
    path = tmp_path / f"new-{round_}.db"
    go = tmp_path / f"go-{round_}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.store.workers", "open", str(path), str(go)],
            cwd=REPO,
            env=python_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert results == [{"version": LATEST}] * 4
    assert _user_version(path) == LATEST


def _pragmas(conn: sqlite3.Connection) -> dict[str, object]:
    return {
        name: conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
    }


def _assert_configured(pragmas: dict[str, object]) -> None:
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 1
    assert isinstance(pragmas["busy_timeout"], int) and pragmas["busy_timeout"] >= 5000
    assert pragmas["foreign_keys"] == 1


def test_every_connection_is_configured(store: Store) -> None:
    with store.read() as a, store.read() as b, store.write() as c:
        for conn in (a, b, c):
            _assert_configured(_pragmas(conn.connection.driver_connection))
    with store.raw() as raw:
        _assert_configured(_pragmas(raw))
    watcher_conn = connect_raw(store.path)
    try:
        _assert_configured(_pragmas(watcher_conn))
    finally:
        watcher_conn.close()
    with closing(sqlite3.connect(store.path)) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent


def test_writes_take_the_lock_up_front_and_reads_do_not(store: Store) -> None:
    with closing(sqlite3.connect(store.path, timeout=0, isolation_level=None)) as other:
        with store.read() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM run").all()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        with store.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(Exception, match="FOREIGN KEY"), store.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO log_chunk (run_id, first_seq, line_count, first_ts, last_ts, lines) "
            "VALUES (999, 1, 1, 0, 0, '')"
        )


def test_a_commit_from_another_connection_is_noticed(store: Store) -> None:
    watcher = ChangeWatcher(store.path)
    try:
        assert watcher.changed() is False
        with store.write() as conn:
            add_run(conn)
        assert watcher.changed() is True
        assert watcher.changed() is False
        with store.read() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM run").all()
        assert watcher.changed() is False
    finally:
        watcher.close()
