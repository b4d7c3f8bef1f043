"""Log lines stored in chunks (DESIGN §4): many lines per row, seekable by sequence number.

A chunk row holds up to CHUNK_LINES lines or about CHUNK_BYTES of text as a JSON array of
`[ts, stream, level, text]`. The newest chunk of a run stays "open" and is rewritten in
place (upsert on `run_id, first_seq`) at each flush until it is full, so a slow writer does
not produce one row per line and a fast one never pays one transaction per line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, text

from duftui.store.states import Level

CHUNK_LINES = 500
CHUNK_BYTES = 64 * 1024
_STREAM_CODE = {"stdout": "o", "stderr": "e", "event": "v"}
_STREAM_NAME = {v: k for k, v in _STREAM_CODE.items()}


@dataclass(frozen=True, slots=True)
class LogLine:
    """One stored line; `seq` counts from 1 within its run."""

    seq: int
    ts: float
    stream: str
    level: int
    text: str

    @property
    def level_name(self) -> str:
        return Level.name(self.level)


@dataclass
class OpenChunk:
    """The chunk being filled for one run."""

    run_id: int
    first_seq: int
    lines: list[list[object]]
    size: int = 0
    max_level: int = 0

    @property
    def next_seq(self) -> int:
        return self.first_seq + len(self.lines)

    @property
    def full(self) -> bool:
        return len(self.lines) >= CHUNK_LINES or self.size >= CHUNK_BYTES

    def add(self, ts: float, stream: str, level: int, line: str) -> int:
        seq = self.next_seq
        self.lines.append([round(ts, 3), _STREAM_CODE.get(stream, "o"), level, line])
        self.size += len(line) + 24
        self.max_level = max(self.max_level, level)
        return seq


_UPSERT = text(
    "INSERT INTO log_chunk (run_id, first_seq, line_count, first_ts, last_ts, max_level, lines) "
    "VALUES (:run_id, :first_seq, :line_count, :first_ts, :last_ts, :max_level, :lines) "
    "ON CONFLICT (run_id, first_seq) DO UPDATE SET line_count = excluded.line_count, "
    "last_ts = excluded.last_ts, max_level = excluded.max_level, lines = excluded.lines"
)


def write_chunks(conn: Connection, chunks: Iterable[OpenChunk]) -> None:
    """Store (or rewrite) chunks and keep each run's `log_lines` count current."""
    rows = []
    counts: dict[int, int] = {}
    for chunk in chunks:
        if not chunk.lines:
            continue
        rows.append(
            {
                "run_id": chunk.run_id,
                "first_seq": chunk.first_seq,
                "line_count": len(chunk.lines),
                "first_ts": chunk.lines[0][0],
                "last_ts": chunk.lines[-1][0],
                "max_level": chunk.max_level,
                "lines": json.dumps(chunk.lines, ensure_ascii=False, separators=(",", ":")),
            }
        )
        counts[chunk.run_id] = max(counts.get(chunk.run_id, 0), chunk.next_seq - 1)
    if not rows:
        return
    conn.execute(_UPSERT, rows)
    conn.execute(
        text("UPDATE run SET log_lines = :n WHERE id = :id AND log_lines < :n"),
        [{"id": run_id, "n": n} for run_id, n in counts.items()],
    )


def next_seq(conn: Connection, run_id: int) -> int:
    """The sequence number the next line of a run gets."""
    row = conn.execute(
        text(
            "SELECT first_seq + line_count FROM log_chunk WHERE run_id = :r "
            "ORDER BY first_seq DESC LIMIT 1"
        ),
        {"r": run_id},
    ).first()
    return int(row[0]) if row else 1


def _decode(first_seq: int, payload: str) -> Iterator[LogLine]:
    for offset, (ts, stream, level, line) in enumerate(json.loads(payload)):
        yield LogLine(first_seq + offset, ts, _STREAM_NAME.get(stream, "stdout"), level, line)


def read_lines(
    conn: Connection,
    run_id: int,
    start_seq: int = 1,
    limit: int = 1000,
    min_level: int | None = None,
) -> list[LogLine]:
    """Up to `limit` lines with seq >= start_seq (optionally only at or above a level)."""
    out: list[LogLine] = []
    cursor_seq = start_seq
    while len(out) < limit:
        query = (
            "SELECT first_seq, lines, max_level FROM log_chunk WHERE run_id = :r "
            "AND first_seq + line_count > :s"
        )
        if min_level is not None:
            query += " AND max_level >= :lvl"
        query += " ORDER BY first_seq LIMIT 8"
        rows = conn.execute(
            text(query), {"r": run_id, "s": cursor_seq, "lvl": min_level or 0}
        ).all()
        if not rows:
            break
        for first_seq, payload, _max in rows:
            for line in _decode(first_seq, payload):
                if line.seq < cursor_seq:
                    continue
                if min_level is not None and line.level < min_level:
                    continue
                out.append(line)
                if len(out) >= limit:
                    return out
        last_first, last_payload, _ = rows[-1]
        cursor_seq = last_first + len(json.loads(last_payload))
    return out


def lines_after(conn: Connection, run_id: int, after_seq: int, limit: int = 5000) -> list[LogLine]:
    """Lines newer than `after_seq`, for followers that tail a run by sequence number."""
    return read_lines(conn, run_id, after_seq + 1, limit)


def tail(conn: Connection, run_id: int, count: int) -> list[LogLine]:
    """The last `count` lines of a run."""
    total = next_seq(conn, run_id) - 1
    return read_lines(conn, run_id, max(1, total - count + 1), count)


def first_at_level(conn: Connection, run_id: int, level: int) -> int | None:
    """Sequence number of the first line at or above `level` (e.g. jump to first error)."""
    found = read_lines(conn, run_id, 1, 1, min_level=level)
    return found[0].seq if found else None


def search(
    conn: Connection, run_id: int, needle: str, start_seq: int = 1, backwards: bool = False
) -> int | None:
    """Sequence number of the next line containing `needle` (case-insensitive)."""
    lowered = needle.lower()
    if backwards:
        query = (
            "SELECT first_seq, lines FROM log_chunk WHERE run_id = :r AND first_seq <= :s "
            "AND instr(lower(lines), :n) > 0 ORDER BY first_seq DESC"
        )
    else:
        query = (
            "SELECT first_seq, lines FROM log_chunk WHERE run_id = :r "
            "AND first_seq + line_count > :s AND instr(lower(lines), :n) > 0 ORDER BY first_seq"
        )
    for first_seq, payload in conn.execute(
        text(query), {"r": run_id, "s": start_seq, "n": lowered}
    ):
        lines = list(_decode(first_seq, payload))
        if backwards:
            lines.reverse()
        for line in lines:
            before = line.seq <= start_seq if backwards else line.seq >= start_seq
            if before and lowered in line.text.lower():
                return line.seq
    return None
