"""The SQL source against real PostgreSQL and MariaDB servers (throwaway instances, see
dbservers.py): hostile values through every output format, bound parameters, located
server errors, refused logins, a server restart mid-extract, and flat memory."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from duftui.store.states import RunStatus
from tests.steps.conftest import StepWorkspace
from tests.steps.dbservers import MariadbServer, PostgresServer

BLOB = b'\x00\xff,"\n\r'
DOC = {"a": [1, "x,y"], "q": 'say "hi"'}
HOSTILE: list[str | None] = [
    "comma, inside",
    'quote " inside and ""doubled""',
    "CR\rLF\r\nand LF\n",
    "Zoë ünïcödé 日本語 ✓",
    None,
    "",
    "   leading spaces",
    "x' OR '1'='1",
]
TEXT_FORMATS = ("csv", "tsv", "psv")
FORMATS = (*TEXT_FORMATS, "json", "jsonl", "xlsx", "parquet")

PG_TABLE = (
    "CREATE TABLE hostile (id int PRIMARY KEY, txt text, d date, ts timestamptz, "
    "amount numeric(12,2), bin bytea, doc jsonb)"
)
MY_TABLE = (
    "CREATE TABLE hostile (id int PRIMARY KEY, txt longtext, d date, ts timestamp NULL, "
    "amount decimal(12,2), bin longblob, doc json)"
)
TS = datetime(2026, 3, 15, 6, 15, 30, tzinfo=UTC)


def fill(server: PostgresServer | MariadbServer) -> None:
    server.execute(PG_TABLE if server.kind == "postgresql" else MY_TABLE)
    if server.kind == "mysql":
        server.execute("SET time_zone = '+00:00'")
    for index, value in enumerate(HOSTILE, 1):
        stamp = TS if server.kind == "postgresql" else TS.replace(tzinfo=None)
        server.execute(
            "INSERT INTO hostile VALUES (%s, %s, %s, %s, %s, %s, %s)"
            if server.kind == "postgresql"
            else "INSERT INTO hostile VALUES (%s, %s, %s, CONVERT_TZ(%s, '+00:00', @@time_zone), %s, %s, %s)",
            (index, value, date(2026, 3, 15), stamp, Decimal("12.50"), BLOB,
             json.dumps(DOC, separators=(",", ":"))),
        )


def sql_task(
    ws: StepWorkspace, server: PostgresServer | MariadbServer, name: str, query: str,
    extra: str = "", connection: dict[str, Any] | None = None,
) -> str:
    ws.connection("src", connection or server.connection())
    return ws.task(
        name,
        f'name = "{name}"\n[run]\nkind = "sql"\n[source]\nconnection = "src"\n'
        f"query = '''{query}'''\n{extra}",
    )


def sentence(error: str | None) -> str:
    """The step's message in a run's error summary (the supervisor adds the exit code)."""
    return (error or "").removesuffix("\n(exit code 1)")


def read_back(path: Path, fmt: str) -> list[dict[str, Any]]:
    """The file as dicts, read with the standard parser of its format."""
    if fmt in TEXT_FORMATS:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        delimiter = {"csv": ",", "tsv": "\t", "psv": "|"}[fmt]
        names = ["id", "txt", "d", "ts", "amount", "bin", "doc"]
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=False,
            ),
        )
        return table.to_pylist()
    if fmt == "json":
        return json.loads(path.read_text(encoding="utf-8"))
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if fmt == "xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def expected(fmt: str) -> list[dict[str, Any]]:
    """What each format holds for the hostile rows (duftui/steps/sql_values.py's table)."""
    b64 = base64.b64encode(BLOB).decode()
    doc = json.dumps(DOC, separators=(",", ":"), ensure_ascii=False)
    rows = []
    for index, value in enumerate(HOSTILE, 1):
        if fmt in TEXT_FORMATS:
            row = {"id": str(index), "txt": value, "d": "2026-03-15",
                   "ts": "2026-03-15T06:15:30+00:00", "amount": "12.50", "bin": b64}
        elif fmt in ("json", "jsonl"):
            row = {"id": index, "txt": value, "d": "2026-03-15",
                   "ts": "2026-03-15T06:15:30+00:00", "amount": 12.5, "bin": b64}
        elif fmt == "xlsx":
            # A CR is kept (written as a character reference); an empty string reads back
            # as an empty cell
            text = value or None
            row = {"id": index, "txt": text,
                   "d": datetime(2026, 3, 15), "ts": datetime(2026, 3, 15, 6, 15, 30),
                   "amount": 12.5, "bin": b64}
        else:
            row = {"id": index, "txt": value, "d": date(2026, 3, 15), "ts": TS,
                   "amount": Decimal("12.50"), "bin": BLOB}
        row["doc"] = doc
        rows.append(row)
    return rows


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest) -> PostgresServer | MariadbServer:
    return request.getfixturevalue("pg" if request.param == "postgresql" else "maria")


def test_hostile_values_round_trip_through_every_output_format(
    sws: StepWorkspace, server: PostgresServer | MariadbServer
) -> None:
    fill(server)
    for fmt in FORMATS:
        key = sql_task(
            sws, server, f"hostile-{fmt}",
            "SELECT id, txt, d, ts, amount, bin, doc FROM hostile ORDER BY id",
            f'[output]\nname = "h.{fmt}"\nformat = "{fmt}"\nmd5 = false\n',
        )
        run = sws.run(key)
        assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
        got = read_back(sws.run_dir(run.id) / f"h.{fmt}", fmt)
        for row in got:
            if fmt in ("json", "jsonl", "xlsx", "parquet"):
                row["amount"] = row["amount"] if fmt == "parquet" else float(row["amount"])
        assert got == expected(fmt), fmt


def test_parameters_bind_in_each_drivers_style(
    sws: StepWorkspace, server: PostgresServer | MariadbServer
) -> None:
    fill(server)
    key = sql_task(
        sws, server, "bound",
        "SELECT id FROM hostile WHERE txt = :who OR txt LIKE 'comma%' -- not :this\nORDER BY id",
        "[params.who]\ndefault = \"x' OR '1'='1\"\n[output]\nname = \"b.csv\"\nmd5 = false\n",
    )
    run = sws.run(key)
    assert run.status == RunStatus.SUCCEEDED, sws.text(run.id)
    assert (sws.run_dir(run.id) / "b.csv").read_text() == "id\n1\n8\n"


@pytest.mark.parametrize(
    ("which", "query", "line", "words"),
    [
        ("postgresql", "SELECT id,\n  txt\nFORM hostile", 3, 'syntax error at or near "hostile"'),
        ("postgresql", "SELECT id,\n  nope\nFROM hostile", 2, 'column "nope" does not exist'),
        ("mariadb", "SELECT id,\n  txt\nFORM hostile", 3, "You have an error in your SQL syntax"),
    ],
)
def test_server_errors_name_the_query_file_and_line(
    sws: StepWorkspace, request: pytest.FixtureRequest, which: str, query: str, line: int,
    words: str,
) -> None:
    server = request.getfixturevalue("pg" if which == "postgresql" else "maria")
    fill(server)
    folder = sws.root / "tasks" / "p" / "sql"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bad.sql").write_text(query)
    sws.connection("src", server.connection())
    key = sws.task(
        "bad", 'name = "bad"\n[run]\nkind = "sql"\n[source]\nconnection = "src"\n'
        'query_file = "sql/bad.sql"\n',
    )
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    error = sentence(run.error)
    assert error.startswith(f"source: query failed (sql/bad.sql, line {line}): "), error
    assert words in error and "\n" not in error


@pytest.mark.parametrize("problem", ["password", "database"])
def test_a_wrong_password_or_unknown_database_is_one_located_sentence(
    sws: StepWorkspace, server: PostgresServer | MariadbServer, problem: str
) -> None:
    connection = (
        server.connection(password="wrong-pw") if problem == "password"
        else server.connection(database="no_such_db")
    )
    key = sql_task(sws, server, "refused", "SELECT 1 AS one", connection=connection)
    run = sws.run(key)
    assert run.status == RunStatus.FAILED
    error = sentence(run.error)
    assert error.startswith("source: connection src (") and "\n" not in error, error
    assert "wrong-pw" not in sws.text(run.id) and "wrong-pw" not in error
    if problem == "password":
        assert ("password authentication failed" in error) or ("Access denied" in error)
        assert "check the user and password of connection src in connections.toml" in error
    else:
        assert ('database "no_such_db" does not exist' in error) or (
            "Unknown database 'no_such_db'" in error
        )
        assert "check the database named in the url of connection src" in error


def test_a_server_restart_mid_extract_fails_clearly_and_the_retry_succeeds(
    sws: StepWorkspace, pg: PostgresServer
) -> None:
    query = (
        "SELECT g AS n, CASE WHEN g % 1000 = 0 THEN pg_sleep(0.05)::text END AS s "
        "FROM generate_series(1, 40000) AS g"
    )
    key = sql_task(
        sws, pg, "restart", query,
        'fetch_size = 500\n[retry]\nattempts = 3\ndelay = "1s"\njitter = false\n'
        '[output]\nname = "r.csv"\nmd5 = false\n',
    )
    restarted = threading.Event()

    def restart_when_running() -> None:
        import time

        import psycopg

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not restarted.is_set():
            with psycopg.connect(pg.dsn(), autocommit=True) as conn:
                busy = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                    "AND datname = current_database() AND state <> 'idle' "
                    "AND (query LIKE 'FETCH%' OR query LIKE '%generate_series%')"
                ).fetchone()
            if busy and busy[0]:
                pg.restart()
                restarted.set()
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=restart_when_running, daemon=True)
    watcher.start()
    first = sws.run(key)
    watcher.join(70)
    assert restarted.is_set(), "the extract never showed up in pg_stat_activity"
    runs = sws.runs()
    assert runs[0][2] == "failed"
    error = sentence(runs[0][6])
    assert error.startswith("source: the connection to src (postgresql+psycopg://"), error
    assert "was lost while the query ran" in error and "a retry ([retry]) starts over" in error
    final = sws.get(runs[-1][0])
    assert final.status == RunStatus.SUCCEEDED and final.retry_of is not None, runs
    with open(sws.run_dir(final.id) / "r.csv", "rb") as handle:
        assert sum(1 for _ in handle) == 40_001
    assert first.id == runs[0][0]


def test_extract_memory_stays_flat_with_server_side_cursors(
    sws: StepWorkspace, server: PostgresServer | MariadbServer
) -> None:
    if server.kind == "postgresql":
        rows = "SELECT g AS id, repeat('x', 100) AS pad, now() AS at FROM generate_series(1, {n}) g"
    else:
        rows = (
            "WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < {n}) "
            "SELECT g AS id, repeat('x', 100) AS pad, now() AS at FROM c"
        )
        server.execute("SET GLOBAL max_recursive_iterations = 1000000")
    small = sws.run(sql_task(sws, server, "small", rows.format(n=2_000),
                             '[output]\nname = "s.csv"\nmd5 = false\n'))
    big = sws.run(sql_task(sws, server, "big", rows.format(n=200_000),
                           'fetch_size = 2000\n[output]\nname = "b.csv"\nmd5 = false\n'))
    assert small.status == big.status == RunStatus.SUCCEEDED, sws.text(big.id)
    with open(sws.run_dir(big.id) / "b.csv", "rb") as handle:
        assert sum(1 for _ in handle) == 200_001
    assert small.max_rss_kb and big.max_rss_kb
    grew_mb = (big.max_rss_kb - small.max_rss_kb) / 1024
    # 200,000 rows of ~140 bytes are ~28 MB as Python tuples; a buffered fetch holds them all
    assert grew_mb < 12, f"peak RSS grew {grew_mb:.1f} MB from 2,000 to 200,000 rows"
