"""The SQL source end to end: real supervisor, real step process, SQLite."""

from __future__ import annotations

import csv
import hashlib
import io
import sqlite3
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from duftui.store.states import RunStatus
from tests.engine.conftest import duftui
from tests.steps.conftest import StepWorkspace
from tests.steps.servers import HttpServer, free_port

AT = datetime(2026, 3, 15, 6, 15, tzinfo=UTC)


def make_db(path: Path) -> Path:
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE people (name TEXT, city TEXT, born TEXT)")
        db.executemany(
            "INSERT INTO people VALUES (?, ?, ?)",
            [
                ("Ada", "London", "2026-03-14"),
                ("Bob, Jr.", 'Says "hi"', "2026-03-14"),
                ("Zoë", "Zürich\nSüd", "2026-03-13"),
                ("x' OR '1'='1", "Nowhere", "2026-03-14"),
            ],
        )
    db.close()
    return path


def sql_task(ws: StepWorkspace, name: str, source: str, extra: str = "") -> str:
    make_db(ws.root / "data" / "people.db")
    ws.connection("db", {"type": "sqlite", "path": "data/people.db"})
    return ws.task(
        name,
        f'name = "{name}"\n[run]\nkind = "sql"\n[source]\nconnection = "db"\n{source}\n{extra}',
    )


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_example_task_writes_csv_md5_zip_and_delivers(example_workspace: Path) -> None:
    workspace = SimpleNamespace(root=example_workspace)
    result = duftui(workspace, "run", "clinic/daily-visits", "-p", "day=2025-03-01")  # type: ignore[arg-type]
    assert result.returncode == 0, result.stdout + result.stderr
    [archive] = (example_workspace / "exports" / "clinic").glob("visits_*.csv.zip")
    with zipfile.ZipFile(archive) as opened:
        names = sorted(opened.namelist())
        data = opened.read(names[0])
        checksum = opened.read(names[1]).decode()
    assert names[1] == names[0] + ".md5"
    assert checksum == f"{hashlib.md5(data).hexdigest()}  {names[0]}\n"
    rows = list(csv.reader(io.StringIO(data.decode())))
    with sqlite3.connect(example_workspace / "tasks/clinic/data/clinic.db") as db:
        expected = db.execute(
            "SELECT clinic, visit_date, patients, notes FROM visits WHERE "
            "visit_date = '2025-03-01' ORDER BY clinic"
        ).fetchall()
    assert rows[0] == ["clinic", "visit_date", "patients", "notes"]
    assert rows[1:] == [[str(v) for v in row] for row in expected]
    assert any("Zürich Süd" in row for row in rows)
    outputs = duftui(workspace, "outputs", "1")  # type: ignore[arg-type]
    assert outputs.returncode == 0
    assert "local:" in outputs.stdout and archive.name in outputs.stdout


def test_parameters_are_bound_never_pasted(sws: StepWorkspace) -> None:
    key = sql_task(
        sws,
        "bound",
        'query = "SELECT name, city FROM people WHERE name = :who"',
        "[params.who]\ndefault = \"x' OR '1'='1\"\n[output]\nname = \"who.csv\"\nmd5 = false\n",
    )
    run = sws.run(key, at=AT)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert read_csv(sws.run_dir(run.id) / "who.csv") == [
        ["name", "city"],
        ["x' OR '1'='1", "Nowhere"],
    ]
    assert "(:who)" in sws.text(run.id)


def test_templates_resolve_in_sql_and_file_name_at_logical_time(sws: StepWorkspace) -> None:
    sws.root.joinpath("tasks/p/sql").mkdir(parents=True)
    sws.root.joinpath("tasks/p/sql/born.sql").write_text(
        "-- people born yesterday; ':' in comments and '12:30' literals stay text\n"
        "SELECT name, '12:30' AS t FROM people WHERE born = 'parse(%Y-%m-%d-1)' ORDER BY name"
    )
    key = sql_task(
        sws,
        "dated",
        'query_file = "sql/born.sql"',
        '[output]\nname = "born_parse(%Y%m%d-1)_%H%M"\nformat = "tsv"\nmd5 = false\n',
    )
    run = sws.run(key, at=AT)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    path = sws.run_dir(run.id) / "born_20260314_0615.tsv"
    assert path.read_text() == (
        "name\tt\nAda\t12:30\n\"Bob, Jr.\"\t12:30\nx' OR '1'='1\t12:30\n"
    ).replace('"Bob, Jr."', "Bob, Jr.")
    [row] = sws.outputs(run.id)
    assert row.stage == "output" and row.size == path.stat().st_size
    assert row.md5 == hashlib.md5(path.read_bytes()).hexdigest()


def test_query_error_fails_with_the_database_message_and_keeps_the_log(sws: StepWorkspace) -> None:
    key = sql_task(sws, "broken", 'query = "SELECT * FROM no_such_table"')
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert "source: query failed: no such table: no_such_table" in (run.error or "")
    lines = sws.lines(run.id)
    assert "source: sql: started" in lines
    assert any("source: query failed" in line for line in lines)
    assert sws.outputs(run.id) == []
    assert not any(p.name.endswith(".part") for p in sws.run_dir(run.id).iterdir())


def test_missing_parameter_and_non_select_are_clear_errors(sws: StepWorkspace) -> None:
    key = sql_task(sws, "unbound", 'query = "SELECT * FROM people WHERE name = :nobody"')
    run = sws.run(key)
    assert "the query binds :nobody but the task has no parameter 'nobody'" in (run.error or "")
    key = sql_task(sws, "update", "query = \"UPDATE people SET city = 'x'\"")
    run = sws.run(key)
    assert "returned no result set (is it a SELECT?)" in (run.error or "")


def test_query_timeout_interrupts_sqlite(sws: StepWorkspace) -> None:
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    key = sql_task(sws, "slow", f'query = "{endless}"\ntimeout = "300ms"')
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert "source: query timed out after 0.3s (source.timeout)" in (run.error or "")
    assert run.finished_at and run.started_at
    assert (run.finished_at - run.started_at).total_seconds() < 10


def test_skip_empty_writes_nothing_and_empty_result_otherwise_has_headers(
    sws: StepWorkspace,
) -> None:
    none = "SELECT name FROM people WHERE 1 = 0"
    key = sql_task(
        sws,
        "skip",
        f'query = "{none}"',
        '[output]\nname = "e.csv"\nskip_empty = true\n[[deliver]]\nkind = "local"\npath = "out"\n',
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED
    assert sws.outputs(run.id) == [] and not (sws.root / "out").exists()
    assert any("skip_empty = true" in line for line in sws.lines(run.id))
    key = sql_task(
        sws,
        "keep",
        f'query = "{none}"',
        '[output]\nname = "e.csv"\nmd5 = false\n[[deliver]]\nkind = "local"\npath = "out"\n',
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED
    assert (sws.root / "out" / "e.csv").read_text() == "name\n"


def test_query_url_is_cached_and_used_with_a_warning_when_unreachable(
    sws: StepWorkspace, httpd: HttpServer
) -> None:
    (httpd.root / "q.sql").write_text("SELECT name FROM people WHERE born = :day ORDER BY name")
    key = sql_task(
        sws,
        "remote",
        f'query_url = "{httpd.url("q.sql")}"',
        '[params]\nday = "2026-03-13"\n[output]\nname = "r.csv"\nmd5 = false\n',
    )
    first = sws.run(key)
    assert first.status == RunStatus.SUCCEEDED, sws.text(first.id)
    assert any("fetched the query from" in line for line in sws.lines(first.id))
    httpd.close()
    second = sws.run(key)
    assert second.status == RunStatus.SUCCEEDED, sws.text(second.id)
    assert read_csv(sws.run_dir(second.id) / "r.csv") == [["name"], ["Zoë"]]
    warning = next(line for line in sws.lines(second.id) if "cannot fetch the query" in line)
    assert "using the cached copy from" in warning
    key = sql_task(sws, "never", f'query_url = "http://127.0.0.1:{free_port()}/x.sql"')
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    assert "no cached copy from an earlier run" in (run.error or "")


def test_rows_stream_with_flat_memory_and_counts_in_the_log(sws: StepWorkspace) -> None:
    def task(name: str, rows: int) -> str:
        query = (
            f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT {rows}) "
            "SELECT x AS id, 'name ' || x AS name, x * 0.5 AS amount, "
            "'a,b \"quoted\"' AS note FROM c"
        )
        return sql_task(
            sws,
            name,
            f"query = '''{query}'''\nfetch_size = 5000",
            '[output]\nname = "big.csv"\nmd5 = false\n',
        )

    small = sws.run(task("small", 20_000))
    big = sws.run(task("big", 2_000_000))
    assert small.status == big.status == RunStatus.SUCCEEDED
    text = sws.text(big.id)
    assert "source: sql: done in" in text and "(2,000,000 rows," in text
    assert "rows so far" in text
    with open(sws.run_dir(big.id) / "big.csv", "rb") as handle:
        assert sum(1 for _ in handle) == 2_000_001
    assert small.max_rss_kb and big.max_rss_kb
    grew_mb = (big.max_rss_kb - small.max_rss_kb) / 1024
    assert grew_mb < 40, f"peak RSS grew {grew_mb:.0f} MB from 20k to 2M rows"
