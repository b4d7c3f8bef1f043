"""The `table` delivery: load the run's data files into a database table.

    [[deliver]]
    kind = "table"
    connection = "analysis"
    table = "public.visits"
    mode = "upsert"          # append (default) | replace | upsert
    key = ["clinic", "day"]  # upsert only

All files of one target load in one transaction: a bad row anywhere leaves the table as
it was. A missing table is created from the file's columns (parquet keeps its types,
text files make text columns; an upsert key becomes the primary key). `replace` deletes
the rows first, in the same transaction. PostgreSQL loads through `COPY … FROM STDIN`
(a CSV file is handed to the server as it is; an upsert goes through a temporary table);
other databases get batched INSERTs (`batch_size` rows each). Row counts are logged as
the load goes.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Table, exc, inspect
from sqlalchemy.dialects import mysql

from duftui.definitions.models import Deliver
from duftui.steps import sql
from duftui.steps.errors import StepError
from duftui.steps.report import Reporter
from duftui.steps.table_read import DELIMITED, RowSource, loadable, open_rows
from duftui.steps.table_types import apply, column_type, converters, json_text
from duftui.task import LOADS_FILE

COUNT_EVERY_S = 2.0
COPY_CHUNK = 1 << 20
Recorder = Callable[[Path, str], Any]


def load_table(
    index: int,
    target: Deliver,
    files: list[Path],
    connections: dict[str, dict[str, Any]],
    reporter: Reporter,
    record: Recorder | None = None,
) -> list[str]:
    """Load every data file into `target.table`; returns one label per file."""
    name = f"deliver[{index}]"
    assert target.connection and target.table
    data = [path for path in files if loadable(path) and _meant_for(path, target)]
    if not data:
        listed = ", ".join(p.name for p in files) or "none"
        raise StepError(
            f"{name}: no data file to load into {target.table} (files: {listed}); a table "
            "loads csv, tsv, psv, txt, jsonl, json or parquet, before zip or gpg"
        )
    values = connections.get(target.connection)
    if values is None:
        raise StepError(
            f"{name}: connection {target.connection!r} was not handed to this run "
            "(is it defined in connections.toml without errors?)"
        )
    try:
        engine = sql.make_engine(target.connection, values)
    except StepError as error:
        raise StepError(re.sub(r"^source: ", f"{name}: ", str(error))) from None
    label = f"table:{target.connection}:{target.table}"
    started = time.monotonic()
    try:
        try:
            conn = engine.connect()
        except exc.DBAPIError as error:
            raise StepError(
                re.sub(r"^source: ", f"{name}: ", str(sql.connect_error(engine, error)))
            ) from None
        with conn:
            loader = _Loader(conn, target, name, reporter)
            with conn.begin():
                sql.prepare_session(conn)
                counts = [loader.load(path) for path in data]
    finally:
        engine.dispose()
    total = sum(counts)
    took = time.monotonic() - started
    reporter.info(
        f"{name}: {total:,} rows → {target.table} on {target.connection} ({target.mode}) "
        f"in {took:.2f}s, committed"
    )
    labels = []
    for path in data:
        labels.append(label)
        if record is not None:
            record(path, label)
    return labels


def _meant_for(path: Path, target: Deliver) -> bool:
    """A file a python task reported with `task.output(path, load=…)` goes only to the
    table it names (`visits` or `connection.visits`); other files go to every target."""
    wanted = _load_tags().get(str(path.resolve()))
    return wanted is None or wanted in (target.table, f"{target.connection}.{target.table}")


def _load_tags() -> dict[str, str]:
    folder = os.environ.get("DUFTUI_OUTPUT_DIR")
    tags: dict[str, str] = {}
    if not folder:
        return tags
    try:
        lines = (Path(folder) / LOADS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return tags
    for line in lines:
        try:
            item = json.loads(line)
            tags[str(item["path"])] = str(item["load"])
        except (ValueError, KeyError, TypeError):
            continue
    return tags


class _Loader:
    """One target's table inside the open transaction."""

    def __init__(self, conn: Connection, target: Deliver, name: str, reporter: Reporter) -> None:
        self.conn = conn
        self.target = target
        self.name = name
        self.reporter = reporter
        self.dialect = conn.dialect.name
        self.driver_error: type[Exception] = getattr(conn.dialect.dbapi, "Error", exc.DBAPIError)
        schema, _, table = (target.table or "").rpartition(".")
        self.schema = schema or None
        self.table_name = table
        self.table: Table | None = None
        self.cleared = False

    def load(self, path: Path) -> int:
        source = open_rows(path, self.target.batch_size)
        try:
            table = self._table(source, path)
            if self.target.mode == "replace" and not self.cleared:
                self.conn.execute(table.delete())
                self.cleared = True
            columns = self._columns(table, source.columns, path)
            if self.dialect == "postgresql":
                rows = _PgCopy(self, table, columns).load(path, source)
            else:
                rows = self._insert(table, columns, source, path)
        except (exc.DBAPIError, self.driver_error) as error:  # COPY runs on the driver
            raise StepError(
                f"{self.name}: loading {path.name} into {self.target.table} failed, nothing "
                f"was loaded: {_located(error, path)}"
            ) from None
        except StepError as error:
            message = str(error)
            raise StepError(
                f"{self.name}: {message}; nothing was loaded into {self.target.table}"
            ) from None
        self.reporter.info(f"{self.name}: {path.name}: {rows:,} rows into {self.target.table}")
        return rows

    def _table(self, source: RowSource, path: Path) -> Table:
        if self.table is not None:
            return self.table
        if inspect(self.conn).has_table(self.table_name, schema=self.schema):
            self.table = Table(
                self.table_name, MetaData(), schema=self.schema, autoload_with=self.conn
            )
            return self.table
        if not source.columns:
            raise StepError(f"{path.name} has no columns to create table {self.target.table} from")
        key = set(self.target.key)
        missing = key.difference(source.columns)
        if missing:
            raise StepError(f"key column {sorted(missing)[0]!r} is not a column of {path.name}")
        arrow = source.arrow_schema
        columns = [
            Column(
                name,
                column_type(arrow.field(name).type if arrow is not None else None, name in key),
                primary_key=name in key,
                nullable=name not in key,
            )
            for name in source.columns
        ]
        self.table = Table(self.table_name, MetaData(), *columns, schema=self.schema)
        self.table.create(self.conn)
        self.reporter.info(
            f"{self.name}: created table {self.target.table} with {len(columns)} columns "
            f"from {path.name}" + (f" (primary key {', '.join(self.target.key)})" if key else "")
        )
        return self.table

    def _columns(self, table: Table, names: list[str], path: Path) -> list[Column[Any]]:
        known = {column.name: column for column in table.columns}
        for name in names:
            if name not in known:
                raise StepError(
                    f"column {name!r} of {path.name} is not in table {self.target.table} "
                    f"(its columns: {', '.join(known)})"
                )
        for name in self.target.key:
            if name not in names:
                raise StepError(f"key column {name!r} is not a column of {path.name}")
        return [known[name] for name in names]

    def _insert(
        self, table: Table, columns: list[Column[Any]], source: RowSource, path: Path
    ) -> int:
        names = [c.name for c in columns]
        convert = converters(columns, self.dialect)
        statement: Any = table.insert()
        if self.target.mode == "upsert":
            statement = _upsert(table, names, self.target.key, self.dialect)
        counter = _Counter(self.reporter, self.name, path)
        for block in source.blocks:
            rows = [dict(zip(names, apply(convert, row), strict=True)) for row in block]
            if rows:
                self.conn.execute(statement, rows)
            counter.add(len(rows))
        return counter.rows


def _upsert(table: Table, names: list[str], key: list[str], dialect: str) -> Any:
    update = [n for n in names if n not in key]
    if dialect == "mysql":
        statement = mysql.insert(table)
        return statement.on_duplicate_key_update(
            {n: statement.inserted[n] for n in update or key[:1]}
        )
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table)
        if not update:
            return statement.on_conflict_do_nothing(index_elements=key)
        return statement.on_conflict_do_update(
            index_elements=key, set_={n: statement.excluded[n] for n in update}
        )
    raise StepError(f"mode = \"upsert\" is not supported on {dialect}; use append or replace")


class _PgCopy:
    """COPY into the table (or, for an upsert, a temporary copy of it, merged after)."""

    def __init__(self, loader: _Loader, table: Table, columns: list[Column[Any]]) -> None:
        self.loader = loader
        self.table = table
        self.columns = columns
        self.prep = loader.conn.dialect.identifier_preparer
        self.raw: Any = loader.conn.connection.driver_connection

    def load(self, path: Path, source: RowSource) -> int:
        target = self.prep.format_table(self.table)
        into = target
        if self.loader.target.mode == "upsert":
            into = self.prep.quote("duftui_load")
            self.raw.execute(
                f"CREATE TEMP TABLE {into} (LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
        names = ", ".join(self.prep.quote(c.name) for c in self.columns)
        convert = converters(self.columns, "postgresql")
        counter = _Counter(self.loader.reporter, self.loader.name, path)
        suffix = path.suffix.lower()
        with self.raw.cursor() as cursor:
            as_text = [fn for fn in convert if fn not in (None, json_text)]
            if suffix in DELIMITED and suffix != ".txt" and not as_text:
                delimiter = DELIMITED[suffix].replace("'", "''")
                statement = (
                    f"COPY {into} ({names}) FROM STDIN "
                    f"(FORMAT csv, HEADER true, DELIMITER E'{_escape(delimiter)}')"
                )
                with cursor.copy(statement) as copy, open(path, "rb") as handle:
                    while chunk := handle.read(COPY_CHUNK):
                        copy.write(chunk)
                counter.add(max(cursor.rowcount, 0))
            else:
                with cursor.copy(f"COPY {into} ({names}) FROM STDIN") as copy:
                    for block in source.blocks:
                        for row in block:
                            copy.write_row(apply(convert, row))
                        counter.add(len(block))
            if into != target:
                self._merge(cursor, into, target)
                cursor.execute(f"DROP TABLE {into}")
        return counter.rows

    def _merge(self, cursor: Any, into: str, target: str) -> None:
        quote = self.prep.quote
        names = [c.name for c in self.columns]
        key = self.loader.target.key
        columns = ", ".join(quote(n) for n in names)
        update = [n for n in names if n not in key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{quote(n)} = EXCLUDED.{quote(n)}" for n in update)
            if update
            else "DO NOTHING"
        )
        cursor.execute(
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {into} "
            f"ON CONFLICT ({', '.join(quote(k) for k in key)}) {action}"
        )


def _escape(delimiter: str) -> str:
    return {"\t": "\\t"}.get(delimiter, delimiter)


class _Counter:
    def __init__(self, reporter: Reporter, name: str, path: Path) -> None:
        self.reporter, self.name, self.path = reporter, name, path
        self.rows = 0
        self.started = self.logged = time.monotonic()

    def add(self, rows: int) -> None:
        self.rows += rows
        self.reporter.progress(self.rows, None, "rows")
        now = time.monotonic()
        if now - self.logged >= COUNT_EVERY_S:
            self.logged = now
            rate = self.rows / max(now - self.started, 1e-9)
            self.reporter.info(
                f"{self.name}: {self.path.name}: {self.rows:,} rows so far ({rate:,.0f} rows/s)"
            )


def _located(error: Exception, path: Path) -> str:
    """The server's message, with the file line COPY names (`COPY t, line 5, column n`)."""
    message = sql.server_message(error)
    orig = getattr(error, "orig", None) or error
    context = str(getattr(getattr(orig, "diag", None), "context", "") or "")
    found = re.search(r"line (\d+)", context)
    if found:
        return f"{path.name} line {found.group(1)}: {message}"
    return message
