"""`[[deliver]] kind = "table"` against real PostgreSQL and MariaDB: database → database
with hostile values, CSV files → table, upsert, replace, and a load that fails halfway."""

from __future__ import annotations

import json
from datetime import UTC, date
from decimal import Decimal

import pytest

from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.dbservers import MariadbServer, PostgresServer
from tests.steps.test_db_extract import BLOB, DOC, HOSTILE, MY_TABLE, PG_TABLE, TS, fill, sentence

Server = PostgresServer | MariadbServer


def table_task(
    ws: StepWorkspace, name: str, run: str, target: str, fmt: str = "csv", extra: str = ""
) -> str:
    return ws.task(
        name,
        f'name = "{name}"\n{run}\n[output]\nname = "{name}.{fmt}"\nformat = "{fmt}"\n'
        f'[[deliver]]\nkind = "table"\nconnection = "dst"\n{target}\n{extra}',
    )


def sql_run(query: str) -> str:
    return f'[run]\nkind = "sql"\n[source]\nconnection = "src"\nquery = \'\'\'{query}\'\'\''


def files_run(pattern: str) -> str:
    return f'[run]\nkind = "files"\n[source]\npath = "{pattern}"'


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
@pytest.mark.parametrize("direction", ["pg-to-maria", "maria-to-pg"])
def test_hostile_values_load_into_the_other_server(
    sws: StepWorkspace, pg: PostgresServer, maria: MariadbServer, direction: str, fmt: str
) -> None:
    source, target = (pg, maria) if direction == "pg-to-maria" else (maria, pg)
    fill(source)
    target.execute(PG_TABLE if target.kind == "postgresql" else MY_TABLE)
    sws.connection("src", source.connection())
    sws.connection("dst", target.connection())
    key = table_task(
        sws, "copy", sql_run("SELECT id, txt, d, ts, amount, bin, doc FROM hostile"),
        'table = "hostile"', fmt,
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    if target.kind == "mysql":
        target.execute("SET time_zone = '+00:00'")
        rows = target.execute(
            "SELECT id, txt, d, CONVERT_TZ(ts, @@time_zone, '+00:00'), amount, bin, doc "
            "FROM hostile ORDER BY id"
        )
    else:
        rows = target.execute("SELECT id, txt, d, ts, amount, bin, doc FROM hostile ORDER BY id")
    assert [row[1] for row in rows] == HOSTILE
    for row in rows:
        assert row[2] == date(2026, 3, 15)
        stamp = row[3] if row[3].tzinfo else row[3].replace(tzinfo=UTC)
        assert stamp == TS
        assert row[4] == Decimal("12.50")
        assert bytes(row[5]) == BLOB
        assert (json.loads(row[6]) if isinstance(row[6], str) else row[6]) == DOC
    text = sws.text(run.id)
    assert f"deliver[0]: {len(HOSTILE)} rows → hostile on dst (append)" in text


@pytest.mark.parametrize("which", ["postgresql", "mariadb"])
def test_csv_files_create_the_table_then_upsert_updates_by_key(
    sws: StepWorkspace, request: pytest.FixtureRequest, which: str
) -> None:
    server: Server = request.getfixturevalue("pg" if which == "postgresql" else "maria")
    sws.connection("dst", server.connection())
    inbox = sws.root / "inbox"
    inbox.mkdir()
    (inbox / "visits.csv").write_text('clinic,day,patients\nnorth,2026-03-14,5\n"south, old",2026-03-14,""\n')
    key = table_task(
        sws, "load", files_run("inbox/*.csv"),
        'table = "visits"\nmode = "upsert"\nkey = ["clinic", "day"]', extra="",
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert "created table visits with 3 columns from visits.csv (primary key clinic, day)" in (
        sws.text(run.id)
    )
    (inbox / "visits.csv").write_text("clinic,day,patients\nnorth,2026-03-14,7\neast,2026-03-15,\n")
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    rows = server.execute("SELECT clinic, day, patients FROM visits ORDER BY clinic")
    assert rows == [
        ("east", "2026-03-15", None),
        ("north", "2026-03-14", "7"),
        ("south, old", "2026-03-14", ""),
    ]


@pytest.mark.parametrize("which", ["postgresql", "mariadb"])
def test_a_load_that_fails_halfway_leaves_the_table_unchanged(
    sws: StepWorkspace, request: pytest.FixtureRequest, which: str
) -> None:
    server: Server = request.getfixturevalue("pg" if which == "postgresql" else "maria")
    server.execute("CREATE TABLE counts (id int PRIMARY KEY, n int NOT NULL)")
    server.execute("INSERT INTO counts VALUES (1, 10), (2, 20)")
    sws.connection("dst", server.connection())
    inbox = sws.root / "inbox"
    inbox.mkdir()
    lines = [f"{i},{i * 2}" for i in range(3, 2003)] + ["2003,not a number"]
    (inbox / "counts.csv").write_text("id,n\n" + "\n".join(lines) + "\n")
    key = table_task(
        sws, "bad", files_run("inbox/*.csv"), 'table = "counts"\nmode = "replace"\nbatch_size = 100'
    )
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    error = sentence(run.error)
    assert error.startswith("deliver[0]: loading counts.csv into counts failed, nothing was loaded"), error
    assert "not a number" in error and "\n" not in error
    if which == "postgresql":
        assert "counts.csv line 2002:" in error
    assert server.execute("SELECT id, n FROM counts ORDER BY id") == [(1, 10), (2, 20)]


def test_replace_swaps_the_rows_and_upsert_without_a_unique_key_is_refused(
    sws: StepWorkspace, pg: PostgresServer
) -> None:
    pg.execute("CREATE TABLE plain (id int, name text)")
    pg.execute("INSERT INTO plain VALUES (1, 'old')")
    sws.connection("dst", pg.connection())
    inbox = sws.root / "inbox"
    inbox.mkdir()
    (inbox / "plain.csv").write_text("id,name\n2,new\n3,newer\n")
    key = table_task(sws, "swap", files_run("inbox/*.csv"), 'table = "plain"\nmode = "replace"')
    assert sws.run(key).status == RunStatus.SUCCEEDED
    assert pg.execute("SELECT id, name FROM plain ORDER BY id") == [(2, "new"), (3, "newer")]
    key = table_task(
        sws, "up", files_run("inbox/*.csv"), 'table = "plain"\nmode = "upsert"\nkey = ["id"]'
    )
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert "no unique or exclusion constraint matching the ON CONFLICT" in (run.error or "")
    assert pg.execute("SELECT count(*) FROM plain") == [(2,)]


def test_a_python_task_hands_a_table_back(sws: StepWorkspace, pg: PostgresServer) -> None:
    sws.connection("dst", pg.connection())
    key = sws.python_task(
        "etl",
        """
        from duftui import task
        path = task.output_dir() / "visits.csv"
        path.write_text("clinic,patients\\nnorth,5\\nsouth,7\\n")
        task.output(path)
        """,
        extra="",
    )
    toml = sws.root / "tasks" / "p" / "etl.toml"
    toml.write_text(
        toml.read_text()
        + '\n[[deliver]]\nkind = "table"\nconnection = "dst"\ntable = "public.visits"\n'
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert pg.execute("SELECT clinic, patients FROM visits ORDER BY clinic") == [
        ("north", "5"), ("south", "7"),
    ]


def test_a_python_task_sends_each_file_to_the_table_it_names(
    sws: StepWorkspace, pg: PostgresServer
) -> None:
    sws.connection("dst", pg.connection())
    key = sws.python_task(
        "multi",
        """
        from duftui import task
        out = task.output_dir()
        (out / "visits.csv").write_text("clinic,patients\\nnorth,5\\n")
        (out / "clinics.csv").write_text("clinic,city\\nnorth,Zürich\\n")
        task.output(out / "visits.csv", load="visits")
        task.output(out / "clinics.csv", load="dst.clinics")
        """,
    )
    toml = sws.root / "tasks" / "p" / "multi.toml"
    toml.write_text(
        toml.read_text()
        + '\n[[deliver]]\nkind = "table"\nconnection = "dst"\ntable = "visits"\n'
        + '\n[[deliver]]\nkind = "table"\nconnection = "dst"\ntable = "clinics"\n'
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert pg.execute("SELECT * FROM visits") == [("north", "5")]
    assert pg.execute("SELECT * FROM clinics") == [("north", "Zürich")]
