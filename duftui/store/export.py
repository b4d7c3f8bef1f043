"""Streaming history export to CSV (RFC 4180, UTF-8) or JSON, in constant memory.

It bypasses the ORM: one SQL statement computes every column (task from the key, duration
from the two timestamps, CPU as user + system), and rows are fetched in blocks and handed
straight to the csv writer, so a million runs never sit in memory at once.
"""

from __future__ import annotations

import csv
import json
from typing import TextIO

from duftui.store.db import Store
from duftui.store.runs import RunFilter

COLUMNS = (
    "run_id",
    "project",
    "task",
    "status",
    "trigger",
    "attempt",
    "requested_by",
    "queued_at",
    "started_at",
    "finished_at",
    "duration_s",
    "exit_code",
    "error",
    "cpu_s",
    "max_rss_kb",
)

_SELECT = """
SELECT run.id, run.project, substr(run.task_key, length(run.project) + 2), run.status,
       run.trigger, run.attempt, run.requested_by, run.queued_at, run.started_at,
       run.finished_at,
       CASE WHEN run.started_at IS NOT NULL AND run.finished_at IS NOT NULL
            THEN round((julianday(run.finished_at) - julianday(run.started_at)) * 86400.0, 3)
       END,
       run.exit_code, run.error,
       CASE WHEN run.cpu_user_s IS NOT NULL OR run.cpu_sys_s IS NOT NULL
            THEN round(coalesce(run.cpu_user_s, 0) + coalesce(run.cpu_sys_s, 0), 3)
       END,
       run.max_rss_kb
FROM run WHERE {where} ORDER BY run.queued_at, run.id
"""

BLOCK = 20_000


def export_sql(flt: RunFilter | None = None) -> tuple[str, list[object]]:
    where, params = (flt or RunFilter()).raw_where()
    return _SELECT.format(where=where), params


def _rows(store: Store, flt: RunFilter | None):
    sql, params = export_sql(flt)
    with store.raw() as conn:
        conn.execute("BEGIN")
        try:
            cursor = conn.execute(sql, params)
            while block := cursor.fetchmany(BLOCK):
                yield block
        finally:
            conn.execute("COMMIT")


def export_csv(store: Store, out: TextIO, flt: RunFilter | None = None) -> int:
    """Write a header and one line per run; returns the number of runs written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for block in _rows(store, flt):
        writer.writerows(block)
        count += len(block)
    return count


def export_json(store: Store, out: TextIO, flt: RunFilter | None = None) -> int:
    """Write a JSON array of objects with the CSV's columns; returns the count."""
    count = 0
    out.write("[")
    for block in _rows(store, flt):
        for row in block:
            out.write(",\n" if count else "\n")
            out.write(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False))
            count += 1
    out.write("\n]\n" if count else "]\n")
    return count
