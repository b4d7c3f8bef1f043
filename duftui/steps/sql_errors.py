"""Database errors as one sentence each: where in the query the server points (the query
file and line), what it said, and for a refused login or a missing database, which
connection to fix."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import Engine, exc

from duftui.steps.errors import StepError

if TYPE_CHECKING:
    from duftui.steps.sql import Deadline, Query


def server_message(error: BaseException) -> str:
    """The server's own words, first line only (psycopg adds the statement and a caret
    below; pymysql wraps them in a tuple with the error code)."""
    orig = getattr(error, "orig", None)
    if orig is None:
        orig = error
    args = getattr(orig, "args", ())
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text_ = args[1]  # pymysql: (1064, "You have an error …")
    else:
        text_ = str(orig)
    lines = [line.strip() for line in text_.strip().splitlines() if line.strip()]
    message = lines[0] if lines else type(orig).__name__
    return re.sub(r"^(FATAL|ERROR):\s+", "", message)


def error_line(error: BaseException, sql: str) -> int | None:
    """The query line the server points at: psycopg's statement position (characters
    into the statement it sent, which has the query's lines) or MySQL's "at line N"."""
    orig = getattr(error, "orig", None)
    # psycopg quotes the line of the statement it sent (`LINE 3: FORM people`); a
    # server-side cursor sends `DECLARE … CURSOR FOR <query>`, whose lines are the query's
    quoted = re.search(r"^LINE (\d+):", str(orig or ""), re.M)
    if quoted:
        return int(quoted.group(1))
    diag = getattr(orig, "diag", None)
    position = getattr(diag, "statement_position", None) if diag is not None else None
    if position:
        return sql[: int(position) - 1].count("\n") + 1
    found = re.search(r" at line (\d+)\s*$", server_message(error))
    return int(found.group(1)) if found else None


def query_error(
    error: exc.DBAPIError | exc.SQLAlchemyError,
    deadline: Deadline,
    query: Query | None = None,
    engine: Engine | None = None,
) -> StepError:
    """A database error as one sentence: where in the query, and what the server said."""
    if deadline.passed:
        return StepError(f"source: query timed out after {deadline.seconds:g}s (source.timeout)")
    message = server_message(error)
    if getattr(error, "connection_invalidated", False) and engine is not None:
        from duftui.steps.sql import connection_label

        return StepError(
            f"source: the connection to {connection_label(engine)} was lost while the "
            f"query ran ({message}); no file was written, and a retry ([retry]) starts over"
        )
    line = error_line(error, query.sql) if query is not None else None
    where = f" ({query.origin}, line {line})" if query is not None and line else ""
    return StepError(f"source: query failed{where}: {message}")


def connect_error(engine: Engine, error: exc.DBAPIError) -> StepError:
    """A refused login or a missing database, naming the connection to fix."""
    from duftui.steps.sql import _NAMES, connection_label

    message = server_message(error)
    message = re.sub(r"^connection failed:\s*", "", message)
    message = re.sub(r'^connection to server at "[^"]*"(, port \d+)? failed:\s*', "", message)
    message = re.sub(r"^(FATAL|ERROR):\s+", "", message)
    name = _NAMES.get(engine, "")
    if re.search(r"password|access denied", message, re.I):
        hint = f"check the user and password of connection {name} in connections.toml"
    elif re.search(r"database .* does not exist|unknown database", message, re.I):
        hint = f"check the database named in the url of connection {name} in connections.toml"
    else:
        hint = f"check that the server runs and connection {name} in connections.toml"
    return StepError(f"source: connection {connection_label(engine)} failed: {message}; {hint}")
