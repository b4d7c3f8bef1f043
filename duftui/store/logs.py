"""Log lines stored in chunks (DESIGN §4): many lines per row, seekable by sequence number.

A chunk row holds up to CHUNK_LINES lines or about CHUNK_BYTES of text. Its `lines` column
is one line of JSON metadata followed by the texts themselves, one per line (a stored line
never contains a newline, since output is split on newlines):

    {"l": "2224…", "s": "ooe…", "t": [[offset, ts], …]}\n<text 1>\n<text 2>…

`l` is the level // 10 of each line, `s` its stream (o = stdout, e = stderr, v = event)
and `t` a timestamp for each run of lines that arrived together. Encoding and decoding a
block of thousands of lines is then a join and a split, with no Python object per line.

The newest chunk of a run stays "open" and is rewritten in place (upsert on
`run_id, first_seq`) at each flush until it is full, so a slow writer does not produce one
row per line and a fast one never pays one transaction per line.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from duftui.store.db import driver
from duftui.store.states import Level

CHUNK_LINES = 500
CHUNK_BYTES = 64 * 1024
_STREAM_CODE = {"stdout": "o", "stderr": "e", "event": "v"}
_STREAM_NAME = {v: k for k, v in _STREAM_CODE.items()}
_LEVEL_CHAR = {level: str(level // 10) for level in (10, 20, 30, 40, 50)}
_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_OVERHEAD = 8


def _utf8_size(lines: list[str]) -> int:
    """Bytes the lines take in the row (CHUNK_BYTES counts bytes, not characters)."""
    joined = "".join(lines)
    if joined.isascii():
        return len(joined) + _LINE_OVERHEAD * len(lines)
    return len(joined.encode("utf-8", "surrogatepass")) + _LINE_OVERHEAD * len(lines)


def level_chars(levels: Iterable[int]) -> str:
    """Levels as one character each ("1" debug … "5" critical)."""
    return "".join(_LEVEL_CHAR.get(level) or str(min(9, max(0, level // 10))) for level in levels)


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
    """The chunk being filled for one run (columnar, see the module docstring)."""

    run_id: int
    first_seq: int
    texts: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    times: list[list[float]] = field(default_factory=list)
    size: int = 0
    max_level: int = 0

    @property
    def count(self) -> int:
        return len(self.texts)

    @property
    def next_seq(self) -> int:
        return self.first_seq + len(self.texts)

    @property
    def full(self) -> bool:
        return len(self.texts) >= CHUNK_LINES or self.size >= CHUNK_BYTES

    @property
    def first_ts(self) -> float:
        return self.times[0][1] if self.times else 0.0

    @property
    def last_ts(self) -> float:
        return self.times[-1][1] if self.times else 0.0

    def add(self, ts: float, stream: str, level: int, line: str) -> int:
        """Append one line; returns its sequence number."""
        return self.add_block(ts, stream, level_chars((level,)), [line], level)

    def add_block(
        self, ts: float, stream: str, levels: str, lines: list[str], max_level: int
    ) -> int:
        """Append lines that arrived together; returns the first one's sequence number.

        `levels` has one character per line (see level_chars). Use `room()` first to know
        how many lines fit; the rest belong in the next chunk.
        """
        seq = self.next_seq
        ts = round(ts, 3)
        if not self.times or self.times[-1][1] != ts:
            self.times.append([len(self.texts), ts])
        self.texts.extend(lines)
        self.levels.append(levels)
        self.streams.append(_STREAM_CODE.get(stream, "o") * len(lines))
        self.size += _utf8_size(lines)
        self.max_level = max(self.max_level, max_level)
        return seq

    def room(self, lines: list[str]) -> int:
        """How many of `lines` fit before the chunk is full (at least one if it is empty)."""
        free = CHUNK_LINES - len(self.texts)
        if free <= 0:
            return 0
        budget = CHUNK_BYTES - self.size
        head = lines[:free]
        if _utf8_size(head) <= budget:
            return len(head)
        taken = 0
        for line in head:
            budget -= _utf8_size([line])
            if budget < 0 and (taken or self.texts):
                break
            taken += 1
        return taken

    def payload(self) -> str:
        body = "\n".join(self.texts)
        if body.count("\n") != len(self.texts) - 1:
            body = "\n".join(text.replace("\n", "\\n") for text in self.texts)
        meta = json.dumps(
            {"l": "".join(self.levels), "s": "".join(self.streams), "t": self.times},
            separators=(",", ":"),
        )
        payload = meta + "\n" + body
        if not payload.isascii() and _SURROGATE.search(payload):
            # Lone surrogates cannot be stored as UTF-8; one such line must not fail the
            # flush (and with it every other run's lines).
            payload = _SURROGATE.sub("\ufffd", payload)
        return payload


_UPSERT = (
    "INSERT INTO log_chunk (run_id, first_seq, line_count, first_ts, last_ts, max_level, lines) "
    "VALUES (:run_id, :first_seq, :line_count, :first_ts, :last_ts, :max_level, :lines) "
    "ON CONFLICT (run_id, first_seq) DO UPDATE SET line_count = excluded.line_count, "
    "last_ts = excluded.last_ts, max_level = excluded.max_level, lines = excluded.lines"
)
_LOG_LINES = "UPDATE run SET log_lines = :n WHERE id = :id AND log_lines < :n"


def write_chunks(conn: Connection | sqlite3.Connection, chunks: Iterable[OpenChunk]) -> None:
    """Store (or rewrite) chunks and keep each run's `log_lines` count current. `conn` may
    also be a driver connection already in a transaction (a run's first line is written
    with its pid, see the supervisor)."""
    rows = []
    counts: dict[int, int] = {}
    for chunk in chunks:
        if not chunk.texts:
            continue
        rows.append(
            {
                "run_id": chunk.run_id,
                "first_seq": chunk.first_seq,
                "line_count": chunk.count,
                "first_ts": chunk.first_ts,
                "last_ts": chunk.last_ts,
                "max_level": chunk.max_level,
                "lines": chunk.payload(),
            }
        )
        counts[chunk.run_id] = max(counts.get(chunk.run_id, 0), chunk.next_seq - 1)
    if not rows:
        return
    db = conn if isinstance(conn, sqlite3.Connection) else driver(conn)
    db.executemany(_UPSERT, rows)
    db.executemany(_LOG_LINES, [{"id": run_id, "n": n} for run_id, n in counts.items()])


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
    meta, _, body = payload.partition("\n")
    data = json.loads(meta)
    texts = body.split("\n")
    levels, streams, times = data["l"], data["s"], data["t"]
    marks = [offset for offset, _ in times] + [len(texts)]
    for index, (start, ts) in enumerate(times):
        for offset in range(start, marks[index + 1]):
            yield LogLine(
                first_seq + offset,
                ts,
                _STREAM_NAME.get(streams[offset], "stdout"),
                int(levels[offset]) * 10,
                texts[offset],
            )


def _chunk_start(conn: Connection, run_id: int, seq: int) -> int:
    """first_seq of the chunk holding line `seq`: one probe of the (run_id, first_seq) index,
    so seeking to line N of a million-line log does not read the chunks before it."""
    found = conn.execute(
        text("SELECT max(first_seq) FROM log_chunk WHERE run_id = :r AND first_seq <= :s"),
        {"r": run_id, "s": seq},
    ).scalar()
    return int(found) if found is not None else seq


def read_lines(
    conn: Connection,
    run_id: int,
    start_seq: int = 1,
    limit: int = 1000,
    min_level: int | None = None,
) -> list[LogLine]:
    """Up to `limit` lines with seq >= start_seq (optionally only at or above a level)."""
    out: list[LogLine] = []
    if limit <= 0:
        return out
    start_seq = max(1, start_seq)
    query = (
        "SELECT first_seq, line_count, lines FROM log_chunk WHERE run_id = :r AND first_seq >= :f"
    )
    if min_level is not None:
        query += " AND max_level >= :lvl"
    query += " ORDER BY first_seq LIMIT 8"
    from_first = _chunk_start(conn, run_id, start_seq)
    while len(out) < limit:
        rows = conn.execute(
            text(query), {"r": run_id, "f": from_first, "lvl": min_level or 0}
        ).all()
        if not rows:
            break
        for first_seq, count, payload in rows:
            if first_seq + count <= start_seq:
                continue
            for line in _decode(first_seq, payload):
                if line.seq < start_seq:
                    continue
                if min_level is not None and line.level < min_level:
                    continue
                out.append(line)
                if len(out) >= limit:
                    return out
        from_first = rows[-1][0] + 1
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


def _prefilter(lowered: str) -> str:
    """The longest piece of a lowered needle that SQLite's `lower()` (ASCII only) can find.

    A line whose Python-lowered text contains the needle contains this piece in
    `lower(lines)` too, unless the match came from one of the two non-ASCII characters
    that Python lowers to ASCII (U+0130, U+212A); chunks holding those are always read.
    Stored lines have their newlines escaped, so the piece never spans one.
    """
    pieces = re.split(r"[^\x00-\x09\x0b-\x7f]+", lowered)
    return max(pieces, key=len)


def search(
    conn: Connection, run_id: int, needle: str, start_seq: int = 1, backwards: bool = False
) -> int | None:
    """Sequence number of the next line containing `needle` (case-insensitive), from
    `start_seq` on (or back from it)."""
    lowered = needle.lower()
    piece = _prefilter(lowered)
    where = "run_id = :r"
    params: dict[str, object] = {"r": run_id, "s": start_seq, "n": piece}
    if piece:
        where += (
            " AND (instr(lower(lines), :n) > 0 OR instr(lines, '\u0130') > 0"
            " OR instr(lines, '\u212a') > 0)"
        )
    if backwards:
        query = f"SELECT first_seq, lines FROM log_chunk WHERE {where} AND first_seq <= :s"
        query += " ORDER BY first_seq DESC"
    else:
        params["f"] = _chunk_start(conn, run_id, start_seq)
        query = f"SELECT first_seq, lines FROM log_chunk WHERE {where} AND first_seq >= :f"
        query += " ORDER BY first_seq"
    for first_seq, payload in conn.execute(text(query), params):
        lines = list(_decode(first_seq, payload))
        if backwards:
            lines.reverse()
        for line in lines:
            before = line.seq <= start_seq if backwards else line.seq >= start_seq
            if before and lowered in line.text.lower():
                return line.seq
    return None
