"""The SQL source (`run.kind = "sql"`): SQLAlchemy Core, bound parameters, streamed rows.

The query comes inline, from a file in the project, or from a URL (cached under
`.duftui/cache/queries/`, used with a warning when the URL cannot be reached). Date
templates (`parse(…)`) are expanded in the SQL text first; values then travel as bound
parameters (`:day`), never pasted into the SQL. Rows are fetched in blocks of
`fetch_size` and handed to the output writer, so memory stays flat however many rows come
back. The timeout covers the query and the fetching: SQLite checks it from a progress
handler, PostgreSQL and MySQL get a statement timeout, and every block checks it too.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from sqlalchemy import Connection, Engine, create_engine, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from duftui import locations
from duftui.definitions.models import Source
from duftui.engine.templates import TemplateError, expand
from duftui.steps.errors import StepError
from duftui.steps.formats import Rows
from duftui.steps.report import Reporter
from duftui.steps.sql_errors import connect_error, query_error, server_message
from duftui.steps.sql_values import TEXT_FORMATS, ValueMapper, instant_columns

__all__ = ["connect_error", "query_error", "server_message"]

URL_TIMEOUT_S = 30.0
COUNT_EVERY_S = 2.0
DRIVER_EXTRAS = {"postgresql": "postgres", "mysql": "mysql", "mssql": "mssql"}
_NAMES: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


@dataclass
class Query:
    """A query ready to run: final SQL text and the parameter values it binds."""

    sql: str
    bind: dict[str, Any]
    origin: str


def cache_dir(workspace: Path) -> Path:
    return locations.state_dir(workspace) / "cache" / "queries"


def query_headers(source: Source, params: dict[str, Any]) -> dict[str, str]:
    """`query_headers = { Authorization = "Bearer {token}" }`: `{name}` is a parameter, so
    a token comes from a secret parameter (resolved at launch, masked in every log)."""
    headers = {}
    for header, template in source.query_headers.items():

        def value(found: re.Match[str], header: str = header) -> str:
            name = found.group(1)
            if name not in params:
                raise StepError(
                    f"source: query_headers.{header} uses {{{name}}} but the task has no "
                    f"parameter {name!r}"
                )
            return str(params[name])

        headers[header] = re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", value, template)
    return headers


def fetch_query(
    url: str,
    cache: Path,
    reporter: Reporter,
    timeout: float = URL_TIMEOUT_S,
    headers: dict[str, str] | None = None,
) -> str:
    """The query at `url`; the cached copy (with a warning) when the URL is unreachable.

    A 4xx answer is an error, not a reason to use the cache: the server was reached and
    said the query is gone or forbidden. Header values (tokens) are never logged.
    """
    if urlsplit(url).scheme not in ("http", "https", "file"):
        raise StepError(f"source: query_url must be http(s):// or file://, got {url!r}")
    cached = cache / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".sql")
    try:
        with urlopen(Request(url, headers=headers or {}), timeout=timeout) as answer:
            charset = answer.headers.get_content_charset() or "utf-8"
            body = answer.read().decode(charset)
    except HTTPError as error:
        if error.code < 500:
            raise StepError(f"source: {url} answered {error.code} {error.reason}") from None
        reason = f"{error.code} {error.reason}"
    except (URLError, OSError, UnicodeDecodeError) as error:
        reason = str(getattr(error, "reason", None) or error)
    else:
        cache.mkdir(parents=True, exist_ok=True)
        part = cached.with_suffix(".part")
        part.write_text(body, encoding="utf-8")
        os.replace(part, cached)
        reporter.info(f"source: fetched the query from {url} ({len(body)} characters)")
        return body
    if not cached.exists():
        raise StepError(
            f"source: cannot fetch the query from {url} ({reason}) and there is "
            "no cached copy from an earlier run"
        )
    when = datetime.fromtimestamp(cached.stat().st_mtime).astimezone()
    reporter.warning(
        f"source: cannot fetch the query from {url} ({reason}); using the "
        f"cached copy from {when:%Y-%m-%d %H:%M:%S %z}"
    )
    return cached.read_text(encoding="utf-8")


def remote_query(
    source: Source,
    connections: dict[str, dict[str, Any]],
    workspace: Path,
    at: datetime,
    reporter: Reporter,
) -> str:
    """`query_file` read from an SFTP, FTP or SMB connection (`query_connection`); the
    path may hold date templates. Fetched into memory through a temporary file."""
    import tempfile

    from duftui.engine.templates import expand_name
    from duftui.steps.errors import TransferError
    from duftui.steps.remote import open_remote

    assert source.query_file and source.query_connection
    try:
        path = expand_name(source.query_file, at)
    except TemplateError as error:
        raise StepError(f"source: query_file {source.query_file!r}: {error}") from None
    with tempfile.TemporaryDirectory(prefix="duftui-query-") as folder:
        local = Path(folder) / "query.sql"
        try:
            with (
                open_remote("files", source.query_connection, connections, workspace) as remote,
                open(local, "xb") as handle,
            ):
                remote.download(path, handle)
                where = remote.label
        except TransferError as error:
            raise StepError(f"source: query_file {path}: {error}") from None
        try:
            text_ = local.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise StepError(f"source: query_file {path} on {where} is not UTF-8 text") from None
    reporter.info(f"source: fetched the query {path} from {where} ({len(text_)} characters)")
    return text_


def build_query(
    source: Source,
    folder: Path,
    workspace: Path,
    params: dict[str, Any],
    at: datetime,
    reporter: Reporter,
    connections: dict[str, dict[str, Any]] | None = None,
) -> Query:
    """Read the SQL, expand templates, and pick the parameters it binds."""
    if source.query is not None:
        raw, origin = source.query, "inline query"
    elif source.query_file and source.query_connection:
        raw = remote_query(source, connections or {}, workspace, at, reporter)
        origin = f"{source.query_connection}:{source.query_file}"
    elif source.query_file:
        path = folder / source.query_file
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as error:
            raise StepError(f"source: cannot read {source.query_file}: {error.strerror}") from None
        origin = source.query_file
    elif source.query_url:
        headers = query_headers(source, params)
        raw, origin = (
            fetch_query(source.query_url, cache_dir(workspace), reporter, headers=headers),
            source.query_url,
        )
    else:
        raise StepError("source: no query, query_file or query_url")
    try:
        sql = expand(raw, at)
    except TemplateError as error:
        raise StepError(f"source: {origin}: {error}") from None
    sql = protect_literals(sql)
    names = list(text(sql).compile().params)
    missing = [name for name in names if name not in params]
    if missing:
        known = ", ".join(sorted(params)) or "none"
        raise StepError(
            f"source: the query binds :{missing[0]} but the task has no parameter "
            f"{missing[0]!r} (parameters: {known})"
        )
    return Query(sql=sql, bind={name: params[name] for name in names}, origin=origin)


def protect_literals(sql: str) -> str:
    """Escape colons inside comments, string literals and quoted names (`\\:`), so that
    only real `:name` placeholders become bound parameters: `-- uses :day` in a comment
    or `'12:30'` in a literal stays text."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
        elif char == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
        elif char in "'\"`":
            end = i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:  # doubled quote: still inside
                        end += 2
                        continue
                    end += 1
                    break
                end += 1
        else:
            out.append(char)
            i += 1
            continue
        out.append(re.sub(r"(?<!\\):", r"\\:", sql[i:end]))
        i = end
    return "".join(out)


def make_engine(name: str, values: dict[str, Any]) -> Engine:
    """An engine for a `sqlite` or `sql` connection (the password is set on the URL object,
    never formatted into a string)."""
    kind = values.get("type")
    connect_args: dict[str, Any] = {}
    if kind == "sqlite":
        if not Path(str(values["path"])).is_file():  # sqlite would create an empty one
            raise StepError(
                f"source: connection {name}: SQLite database {values['path']} does not exist"
            )
        url: URL = URL.create("sqlite", database=str(values["path"]))
    elif kind == "sql":
        try:
            url = make_url(str(values["url"]))
        except exc.ArgumentError as error:
            raise StepError(f"source: connection {name}: {error}") from None
        if values.get("password"):
            url = url.set(password=str(values["password"]))
        connect_args = dict(values.get("options") or {})
    else:
        raise StepError(
            f"source: connection {name} is a {kind} connection; a SQL source "
            "needs type sqlite or sql"
        )
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (ImportError, exc.NoSuchModuleError) as error:
        extra = DRIVER_EXTRAS.get(url.get_backend_name())
        hint = f"; install it with pip install 'duftui[{extra}]'" if extra else ""
        raise StepError(
            f"source: connection {name}: database driver missing ({error}){hint}"
        ) from None
    _NAMES[engine] = name
    return engine


def connection_label(engine: Engine) -> str:
    """`ana (postgresql://duftui@127.0.0.1:5432/ana)`: the name and where it points."""
    where = engine.url.render_as_string(hide_password=True).replace(":***@", "@", 1)
    name = _NAMES.get(engine)
    return f"{name} ({where})" if name else where


def prepare_session(conn: Connection, fmt: str | None = None) -> None:
    """Timestamps with a zone come back in UTC from every server, so the files a task
    writes do not depend on the server's or the machine's time zone. For text outputs,
    PostgreSQL's own text of numerics and dates is what the file holds (`12.50`,
    `2026-03-15`, also `infinity`), so psycopg hands it over as it is instead of parsing
    it into a Decimal or a date that the writer turns back into the same text."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.exec_driver_sql("SET TIME ZONE 'UTC'")
        if fmt in TEXT_FORMATS and conn.dialect.driver == "psycopg":
            conn.exec_driver_sql("SET DateStyle = 'ISO, YMD'")
            from psycopg.types.string import TextLoader

            adapters = conn.connection.driver_connection.adapters  # type: ignore[union-attr]
            for name in ("numeric", "date"):
                adapters.register_loader(name, TextLoader)
    elif dialect == "mysql":
        conn.exec_driver_sql("SET time_zone = '+00:00'")


class Deadline:
    """The query timeout, armed the way each database understands best."""

    def __init__(self, seconds: float | None, stop: Callable[[], bool]) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds if seconds else None
        self.stop = stop

    @property
    def passed(self) -> bool:
        return self.at is not None and time.monotonic() > self.at

    def arm(self, conn: Connection) -> None:
        dialect = conn.dialect.name
        raw: Any = conn.connection.driver_connection
        if dialect == "sqlite":
            raw.set_progress_handler(lambda: 1 if self.passed or self.stop() else 0, 20_000)
        if not self.seconds:
            return
        millis = int(self.seconds * 1000)
        if dialect == "postgresql":
            conn.exec_driver_sql(f"SET statement_timeout = {millis}")
        elif dialect == "mysql" and getattr(conn.dialect, "is_mariadb", False):
            conn.exec_driver_sql(f"SET SESSION max_statement_time = {self.seconds:g}")
        elif dialect == "mysql":
            conn.exec_driver_sql(f"SET SESSION max_execution_time = {millis}")
        elif dialect == "mssql" and hasattr(raw, "timeout"):
            raw.timeout = max(1, int(self.seconds))


Sink = Callable[[list[str], Iterator[Rows]], int]


def export(
    engine: Engine,
    query: Query,
    fetch_size: int,
    deadline: Deadline,
    sink: Sink,
    fmt: str = "csv",
) -> int:
    """Run the query and hand its columns and row blocks to `sink`; returns its count.

    `stream_results` makes the driver use a server-side cursor (a named cursor on
    PostgreSQL, an unbuffered one on MySQL/MariaDB), so only one block is ever in memory;
    values are mapped for the output format `fmt` (see sql_values)."""
    try:
        conn = engine.connect()
    except exc.DBAPIError as error:
        raise connect_error(engine, error) from None
    try:
        with conn:
            prepare_session(conn, fmt)
            deadline.arm(conn)
            result = conn.execution_options(stream_results=True, yield_per=fetch_size).execute(
                text(query.sql), query.bind
            )
            if not result.returns_rows:
                raise StepError("source: the query returned no result set (is it a SELECT?)")
            names = result.keys()  # a Result is not a dict: iterating it reads rows
            columns = [str(name) for name in names]
            cursor = getattr(result, "cursor", None)
            instants = instant_columns(conn.dialect.name, getattr(cursor, "description", None))
            mapper = ValueMapper(len(columns), fmt, instants)
            try:
                return sink(columns, mapper.blocks(_blocks(result, fetch_size, deadline)))
            finally:
                result.close()
    except exc.SQLAlchemyError as error:
        raise query_error(error, deadline, query, engine) from None


def _blocks(result: Any, size: int, deadline: Deadline) -> Iterator[Rows]:
    # The cursor strategy hands out the driver's plain tuples: the same rows that
    # `partitions()` wraps in Row objects, at a third of the cost per row.
    strategy, cursor = getattr(result, "cursor_strategy", None), getattr(result, "cursor", None)
    if strategy is None or cursor is None:
        for part in result.partitions(size):
            yield part
            deadline_check(deadline)
        return
    # A short block means the driver's cursor is used up, and the strategy has closed it
    # (a server-side cursor must not be read again once closed).
    while rows := strategy.fetchmany(result, cursor, size):
        yield rows
        deadline_check(deadline)
        if len(rows) < size:
            break


def deadline_check(deadline: Deadline) -> None:
    if deadline.passed:
        raise StepError(f"source: query timed out after {deadline.seconds:g}s (source.timeout)")


class RowCounter:
    """Logs the row count every few seconds and reports progress for each block."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.started = time.monotonic()
        self.logged = self.started

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        self.reporter.progress(rows, None, "rows")
        if now - self.logged >= COUNT_EVERY_S:
            self.logged = now
            rate = rows / max(now - self.started, 1e-9)
            self.reporter.info(f"source: {rows:,} rows so far ({rate:,.0f} rows/s)")
