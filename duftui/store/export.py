"""Streaming history export to CSV (RFC 4180, UTF-8) or JSON, in constant memory.

It bypasses the ORM: one SQL statement computes every column (task from the key, duration
from the two timestamps, CPU as user + system) and rows are fetched in small blocks, so a
million runs never sit in memory at once.

For CSV, SQLite also formats each line (`printf` with `%w`, which doubles `"`), and Python
only joins the lines: building a tuple of fifteen values per run and passing it through
`csv.writer` costs more than twice what `sqlite3 -csv` takes for the same query. Numbers
are written bare and every text field is quoted (the `csv.QUOTE_NONNUMERIC` style), so a
comma, quote or line break inside any value is always safe, without testing each value.
"""

from __future__ import annotations

import json
from operator import itemgetter
from typing import TextIO

from duftui.store.db import Store
from duftui.store.runs import RunFilter

_S, _F = "run.started_at", "run.finished_at"

# Exact to the microsecond for the fixed-width UTC text that `to_iso` writes: whole seconds
# from julianday (exact for whole seconds), plus the difference of the microsecond digits.
# julianday alone rounds each time to the millisecond. Other text falls back to it.
_DURATION = (
    f"CASE WHEN {_S} IS NULL OR {_F} IS NULL THEN NULL "
    f"WHEN length({_S}) = 32 AND length({_F}) = 32 "
    f"AND substr({_S}, 27) = '+00:00' AND substr({_F}, 27) = '+00:00' "
    f"THEN (round((julianday(substr({_F}, 1, 19)) - julianday(substr({_S}, 1, 19))) * 86400.0)"
    f" * 1000000 + (substr({_F}, 21, 6) - substr({_S}, 21, 6))) / 1000000.0 "
    f"ELSE round((julianday({_F}) - julianday({_S})) * 86400.0, 3) END"
)
_CPU = (
    "CASE WHEN run.cpu_user_s IS NOT NULL OR run.cpu_sys_s IS NOT NULL "
    "THEN round(coalesce(run.cpu_user_s, 0) + coalesce(run.cpu_sys_s, 0), 3) END"
)

# The run's output files (stage "output"), one path per line, in the order recorded.
_OUTPUTS = (
    "(SELECT group_concat(path, char(10)) FROM (SELECT path FROM output_file "
    "WHERE output_file.run_id = run.id AND stage = 'output' ORDER BY id))"
)

_NUMBER, _TEXT, _NULLABLE_TEXT = range(3)

_SPEC: tuple[tuple[str, str, int], ...] = (
    ("run_id", "run.id", _NUMBER),
    ("project", "run.project", _TEXT),
    ("task", "substr(run.task_key, length(run.project) + 2)", _TEXT),
    ("status", "run.status", _TEXT),
    ("trigger", "run.trigger", _TEXT),
    ("attempt", "run.attempt", _NUMBER),
    ("requested_by", "run.requested_by", _TEXT),
    ("queued_at", "run.queued_at", _TEXT),
    ("started_at", _S, _NULLABLE_TEXT),
    ("finished_at", _F, _NULLABLE_TEXT),
    ("duration_s", _DURATION, _NUMBER),
    ("exit_code", "run.exit_code", _NUMBER),
    ("error", "run.error", _NULLABLE_TEXT),
    ("cpu_s", _CPU, _NUMBER),
    ("max_rss_kb", "run.max_rss_kb", _NUMBER),
    ("logical_time", "run.logical_time", _NULLABLE_TEXT),
    ("batch_id", "run.batch_id", _NUMBER),
    ("schedule_key", "run.schedule_key", _NULLABLE_TEXT),
    ("params", "run.params", _TEXT),  # secrets are stored masked
    ("host", "run.host", _NULLABLE_TEXT),
    ("worker", "''", _TEXT),  # the worker host of a remote run; empty for local runs
    ("result", "run.result", _NULLABLE_TEXT),
    ("outputs", _OUTPUTS, _NULLABLE_TEXT),
)

COLUMNS = tuple(name for name, _expr, _kind in _SPEC)

_ORDER = " ORDER BY run.queued_at, run.id"
_SELECT = "SELECT " + ", ".join(expr for _n, expr, _k in _SPEC) + " FROM run WHERE {where}" + _ORDER
# `%w` of NULL prints "(NULL)", hence the coalesce; `%s` of NULL prints nothing.
_LINE_FORMAT = ",".join("%s" if kind == _NUMBER else '"%w"' for _n, _e, kind in _SPEC) + "\r\n"
_SELECT_LINES = (
    f"SELECT printf('{_LINE_FORMAT}', "
    + ", ".join(
        f"coalesce({expr}, '')" if kind == _NULLABLE_TEXT else expr for _n, expr, kind in _SPEC
    )
    + ") FROM run WHERE {where}"
    + _ORDER
)
_LINE = itemgetter(0)

BLOCK = 1_000


def export_sql(flt: RunFilter | None = None) -> tuple[str, list[object]]:
    """The export query with one column per CSV column (what `sqlite3 -csv` would run)."""
    where, params = (flt or RunFilter()).raw_where()
    return _SELECT.format(where=where), params


def _blocks(store: Store, sql: str, params: list[object]):
    """Rows in blocks of BLOCK, all from one read snapshot."""
    with store.raw() as conn:
        conn.execute("BEGIN")
        try:
            cursor = conn.execute(sql, params)
            while block := cursor.fetchmany(BLOCK):
                yield block
        finally:
            conn.execute("COMMIT")


def export_csv(store: Store, out: TextIO, flt: RunFilter | None = None) -> int:
    """Write a header and one CRLF-terminated line per run; returns the number of runs."""
    where, params = (flt or RunFilter()).raw_where()
    out.write(",".join(COLUMNS) + "\r\n")
    count = 0
    for block in _blocks(store, _SELECT_LINES.format(where=where), params):
        out.write("".join(map(_LINE, block)))
        count += len(block)
    return count


def export_json(store: Store, out: TextIO, flt: RunFilter | None = None) -> int:
    """Write a JSON array of objects with the CSV's columns; returns the count."""
    sql, params = export_sql(flt)
    count = 0
    out.write("[")
    for block in _blocks(store, sql, params):
        for row in block:
            out.write(",\n" if count else "\n")
            out.write(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False))
            count += 1
    out.write("\n]\n" if count else "]\n")
    return count
