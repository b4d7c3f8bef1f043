"""History export: exact columns, RFC 4180 CSV that reads back identical, ISO-8601 times
with their offset, exact durations, the same filters as the History screen, JSON that
matches, and memory that stays flat however long the history."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bench.gen_runs import generate_runs
from duftui.store.db import Store
from duftui.store.export import COLUMNS, export_csv, export_json
from duftui.store.runs import RunFilter, list_runs
from duftui.store.states import RunStatus, Trigger
from tests.conftest import REPO, python_env
from tests.store.factories import T0, add_run, finished_run

REQUIRED = [
    "run_id", "project", "task", "status", "trigger", "attempt", "requested_by", "queued_at",
    "started_at", "finished_at", "duration_s", "exit_code", "error", "cpu_s", "max_rss_kb",
    "logical_time", "batch_id", "schedule_key", "params", "host", "worker", "result", "outputs",
]  # fmt: skip

NASTY_ERRORS = [
    'psycopg.errors.UndefinedTable: relation "patients" does not exist\n'
    "LINE 1: SELECT id, name FROM patients",
    "a, b, c",
    'quote " inside',
    '"quoted from start to end"',
    "windows\r\nline break",
    "carriage\rreturn only",
    "Verbindung fehlgeschlagen: Zeitüberschreitung – 日本語 👋",
    "  padded  ",
    "",
    None,
]


def csv_text(store: Store, flt: RunFilter | None = None) -> str:
    out = io.StringIO(newline="")
    export_csv(store, out, flt)
    return out.getvalue()


def csv_rows(store: Store, flt: RunFilter | None = None) -> list[dict[str, str]]:
    text = csv_text(store, flt)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert header == REQUIRED
    return [dict(zip(header, row, strict=True)) for row in reader]


def json_rows(store: Store, flt: RunFilter | None = None) -> list[dict[str, object]]:
    out = io.StringIO()
    count = export_json(store, out, flt)
    rows = json.loads(out.getvalue())
    assert len(rows) == count
    return rows


def test_the_columns_are_exactly_these(store: Store) -> None:
    assert list(COLUMNS) == REQUIRED
    assert csv_text(store) == ",".join(REQUIRED) + "\r\n"
    assert json_rows(store) == []


def test_text_with_commas_quotes_newlines_and_unicode_reads_back_identical(store: Store) -> None:
    with store.write() as conn:
        for n, error in enumerate(NASTY_ERRORS):
            finished_run(
                conn,
                queued_at=T0 + timedelta(seconds=n),
                status=RunStatus.FAILED,
                error=error,
                exit_code=1,
                requested_by="doe, john" if n % 2 else 'the "operator"',
            )
    text = csv_text(store)
    assert text.endswith("\r\n")
    assert text.split("\r\n", 1)[0] == ",".join(REQUIRED)
    assert '"quote "" inside"' in text
    rows = csv_rows(store)
    assert [row["error"] for row in rows] == [e or "" for e in NASTY_ERRORS]
    assert [row["requested_by"] for row in rows] == [
        "doe, john" if n % 2 else 'the "operator"' for n in range(len(NASTY_ERRORS))
    ]
    assert {row["status"] for row in rows} == {"failed"}


def test_values_times_and_durations(store: Store) -> None:
    cases = [
        timedelta(seconds=1.5),
        timedelta(microseconds=1),
        timedelta(days=3, seconds=59, microseconds=999_999),
        timedelta(milliseconds=1, microseconds=200),
        timedelta(0),
    ]
    with store.write() as conn:
        timed = [
            finished_run(conn, "clinic/load", queued_at=T0 + timedelta(minutes=n), took=took,
                         cpu_user_s=1.25, cpu_sys_s=0.5, max_rss_kb=20480, attempt=2)
            for n, took in enumerate(cases)
        ]  # fmt: skip
        # Half a microsecond either side of a second boundary.
        edge = add_run(conn, "clinic/edge", queued_at=T0 + timedelta(hours=1),
                       started_at=datetime.fromisoformat("2026-11-23T09:00:00.999999+00:00"),
                       finished_at=datetime.fromisoformat("2026-11-23T09:00:01.000001+00:00"),
                       cpu_user_s=0.1234)  # fmt: skip
        queued = add_run(conn, "finance/ledger", status=RunStatus.QUEUED, trigger=Trigger.MANUAL,
                         requested_by="alice", queued_at=T0 + timedelta(hours=2))  # fmt: skip
        never_started = add_run(conn, "finance/ledger", status=RunStatus.CANCELLED,
                                queued_at=T0 + timedelta(hours=3), finished_at=T0,
                                cpu_sys_s=2.0)  # fmt: skip
    rows = {int(row["run_id"]): row for row in csv_rows(store)}
    with store.read() as conn:
        runs = {run.id: run for run in list_runs(conn, limit=100)}
    for run_id in timed:
        row, run = rows[run_id], runs[run_id]
        assert (row["project"], row["task"], row["status"]) == ("clinic", "load", "succeeded")
        assert (row["trigger"], row["attempt"], row["exit_code"]) == ("schedule", "2", "0")
        assert row["max_rss_kb"] == "20480" and float(row["cpu_s"]) == 1.75
        assert float(row["duration_s"]) == run.duration_s
        for column in ("queued_at", "started_at", "finished_at"):
            parsed = datetime.fromisoformat(row[column])
            assert parsed.utcoffset() == timedelta(0)
            assert parsed == getattr(run, column)
    assert [float(rows[r]["duration_s"]) for r in timed] == [t.total_seconds() for t in cases]
    assert float(rows[edge]["duration_s"]) == 0.000002
    assert rows[edge]["cpu_s"] == "0.123" and rows[edge]["exit_code"] == ""
    assert rows[queued]["duration_s"] == rows[queued]["started_at"] == ""
    assert rows[queued]["finished_at"] == rows[queued]["cpu_s"] == ""
    assert (rows[queued]["trigger"], rows[queued]["requested_by"]) == ("manual", "alice")
    assert rows[never_started]["duration_s"] == "" and rows[never_started]["cpu_s"] == "2.0"
    assert [int(r) for r in rows] == sorted(rows, key=lambda r: runs[r].queued_at)


def test_filters_and_json_match_the_history_screen(store: Store) -> None:
    with store.write() as conn:
        for n in range(60):
            finished_run(
                conn,
                ["clinic/extract", "clinic/load", "finance/ledger"][n % 3],
                queued_at=T0 + timedelta(minutes=n),
                status=[RunStatus.SUCCEEDED, RunStatus.FAILED][n % 2],
                trigger=[Trigger.SCHEDULE, Trigger.MANUAL, Trigger.RETRY, Trigger.CLI][n % 4],
                error="boom, again" if n % 2 else None,
                dead=n % 10 == 1,
            )
    filters = [
        None,
        RunFilter(task_key="clinic/load"),
        RunFilter(project="clinic", statuses=[RunStatus.FAILED]),
        RunFilter(triggers=["manual", "retry"], since=T0 + timedelta(minutes=15)),
        RunFilter(until=T0 + timedelta(minutes=7)),
        RunFilter(dead=True),
        RunFilter(run_ids=[3, 4, 5, 999]),
        RunFilter(project="nobody"),
    ]
    for flt in filters:
        with store.read() as conn:
            expected = [run.id for run in reversed(list_runs(conn, flt, limit=1000))]
        rows = csv_rows(store, flt)
        assert [int(row["run_id"]) for row in rows] == expected, flt
        objects = json_rows(store, flt)
        assert [obj["run_id"] for obj in objects] == expected
        for row, obj in zip(rows, objects, strict=True):
            assert list(obj) == REQUIRED
            for column in REQUIRED:
                value = obj[column]
                if value is None:
                    assert row[column] == ""
                elif isinstance(value, float):
                    assert float(row[column]) == value
                else:
                    assert row[column] == str(value)


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_runs(tmp_path_factory.mktemp("big") / "state.db", runs=200_000)


def _export_rss(db: Path, mode: str, target: Path) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.store.workers", "export-rss", str(db), mode, str(target)],
        cwd=REPO,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout)


def test_a_big_export_keeps_memory_flat(big_store: Path, tmp_path: Path) -> None:
    holding = _export_rss(big_store, "fetchall", tmp_path / "unused")
    assert holding["count"] == 200_000
    for mode in ("csv", "json"):
        target = tmp_path / f"runs.{mode}"
        streamed = _export_rss(big_store, mode, target)
        assert streamed["count"] == 200_000
        assert streamed["growth_kb"] < 20 * 1024, streamed
        assert streamed["growth_kb"] < holding["growth_kb"] / 5, (streamed, holding)
    with open(tmp_path / "runs.csv", newline="", encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.reader(handle))
    assert rows == 200_001
    with open(tmp_path / "runs.json", encoding="utf-8") as handle:
        assert len(json.load(handle)) == 200_000
