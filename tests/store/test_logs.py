"""Chunked log storage (DESIGN §4): many lines per row, never one transaction per line,
and still seekable by line number, followable, filterable by level and searchable."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from duftui.store.db import Store
from duftui.store.logs import (
    CHUNK_BYTES,
    CHUNK_LINES,
    first_at_level,
    lines_after,
    next_seq,
    read_lines,
    search,
    tail,
)
from duftui.store.logwriter import LogWriter
from duftui.store.states import Level, RunStatus
from tests.store.factories import add_run

# Room for a chunk's per-line metadata (levels, streams, timestamps) on top of its text.
META_SLACK = 8 * 1024


@pytest.fixture
def writer(store: Store) -> Iterator[LogWriter]:
    log_writer = LogWriter(store)
    yield log_writer
    log_writer.stop()


def new_run(store: Store) -> int:
    with store.write() as conn:
        return add_run(conn, status=RunStatus.RUNNING)


def chunks(store: Store, run_id: int) -> list[tuple[int, int, int]]:
    """(first_seq, line_count, stored bytes) of each row of a run, in order."""
    with store.read() as conn:
        return [
            tuple(row)
            for row in conn.exec_driver_sql(
                "SELECT first_seq, line_count, length(CAST(lines AS BLOB)) FROM log_chunk "
                "WHERE run_id = ? ORDER BY first_seq",
                (run_id,),
            )
        ]


def assert_contiguous(rows: list[tuple[int, int, int]], total: int) -> None:
    expected = 1
    for first_seq, count, _size in rows:
        assert first_seq == expected
        assert 0 < count <= CHUNK_LINES
        expected += count
    assert expected == total + 1


def all_lines(store: Store, run_id: int) -> list:
    with store.read() as conn:
        return read_lines(conn, run_id, 1, 10_000_000)


def line_text(run_id: int, seq: int) -> str:
    return f"run {run_id} line {seq}: some ordinary log text"


def test_a_flood_of_lines_fills_few_rows(store: Store, writer: LogWriter) -> None:
    run_id = new_run(store)
    total = 100_000
    for seq in range(1, total + 1):
        writer.add(run_id, "stdout", Level.INFO, line_text(run_id, seq))
    writer.sync(timeout=120)
    rows = chunks(store, run_id)
    assert len(rows) <= total / 100
    assert_contiguous(rows, total)
    assert all(size <= CHUNK_BYTES + META_SLACK for _f, _c, size in rows)
    lines = all_lines(store, run_id)
    assert [line.seq for line in lines] == list(range(1, total + 1))
    assert all(line.text == line_text(run_id, line.seq) for line in lines)
    assert {line.stream for line in lines} == {"stdout"}
    with store.read() as conn:
        assert (
            conn.exec_driver_sql("SELECT log_lines FROM run WHERE id = ?", (run_id,)).scalar()
            == total
        )


def test_blocks_of_lines_fill_few_rows_too(store: Store, writer: LogWriter) -> None:
    run_id = new_run(store)
    total = 0
    for block in range(100):
        lines = [line_text(run_id, total + i + 1) for i in range(1000)]
        levels = [Level.WARNING if i % 10 == 0 else Level.INFO for i in range(1000)]
        writer.add_block(run_id, "stderr", lines, levels)
        total += len(lines)
        if block == 50:
            writer.add(run_id, "event", Level.ERROR, "halfway")
            total += 1
    writer.sync(timeout=120)
    rows = chunks(store, run_id)
    assert len(rows) <= total / 100
    assert_contiguous(rows, total)
    lines = all_lines(store, run_id)
    assert len(lines) == total
    assert next(line for line in lines if line.stream == "event").text == "halfway"
    assert sum(1 for line in lines if line.level == Level.WARNING) == 10_000


def test_interleaved_runs_each_get_their_own_contiguous_chunks(
    store: Store, writer: LogWriter
) -> None:
    runs = [new_run(store) for _ in range(5)]
    per_run = 8_000
    for seq in range(1, per_run + 1):
        for run_id in runs:
            writer.add(run_id, "stdout", Level.INFO, line_text(run_id, seq))
    writer.sync(timeout=120)
    for run_id in runs:
        rows = chunks(store, run_id)
        assert len(rows) <= per_run / 100
        assert_contiguous(rows, per_run)
        lines = all_lines(store, run_id)
        assert [line.text for line in lines] == [
            line_text(run_id, seq) for seq in range(1, per_run + 1)
        ]


@pytest.mark.parametrize("char", ["x", "é", "日"], ids=["ascii", "latin", "cjk"])
def test_long_lines_close_a_chunk_at_about_chunk_bytes(
    store: Store, writer: LogWriter, char: str
) -> None:
    run_id = new_run(store)
    line = char * 300
    longest = len(line.encode())
    total = 3_000
    writer.add_block(run_id, "stdout", [line] * total)
    writer.sync(timeout=60)
    rows = chunks(store, run_id)
    assert_contiguous(rows, total)
    for _first, _count, size in rows:
        assert size <= CHUNK_BYTES + longest + META_SLACK
    assert all(size >= 0.9 * CHUNK_BYTES for _f, _c, size in rows[:-1])


def test_read_lines_seeks_to_line_n(store: Store, writer: LogWriter) -> None:
    run_id = new_run(store)
    total = 60_000
    writer.add_block(run_id, "stdout", [line_text(run_id, s) for s in range(1, total + 1)])
    writer.sync(timeout=60)
    with store.read() as conn:
        for start in (1, 2, 499, 500, 501, 12_345, 54_321, total - 1, total):
            lines = read_lines(conn, run_id, start, 700)
            assert [line.seq for line in lines] == list(range(start, min(total, start + 699) + 1))
            assert lines[0].text == line_text(run_id, start)
        assert read_lines(conn, run_id, total + 1) == []
        assert read_lines(conn, run_id, 10, 0) == []
        assert next_seq(conn, run_id) == total + 1
        assert read_lines(conn, run_id + 1) == []


def test_level_filter_and_the_first_line_at_a_level(store: Store, writer: LogWriter) -> None:
    run_id = new_run(store)
    levels = [Level.INFO] * 5_000
    for seq in (1_234, 3_000, 4_999):
        levels[seq - 1] = Level.WARNING
    for seq in (2_345, 4_000):
        levels[seq - 1] = Level.ERROR
    levels[4_500 - 1] = Level.DEBUG
    writer.add_block(run_id, "stdout", [f"line {s}" for s in range(1, 5_001)], levels)
    writer.sync(timeout=60)
    with store.read() as conn:
        warnings = read_lines(conn, run_id, 1, 100, min_level=Level.WARNING)
        assert [line.seq for line in warnings] == [1_234, 2_345, 3_000, 4_000, 4_999]
        assert [line.level_name for line in warnings] == [
            "WARNING",
            "ERROR",
            "WARNING",
            "ERROR",
            "WARNING",
        ]
        assert [
            line.seq for line in read_lines(conn, run_id, 2_400, 2, min_level=Level.WARNING)
        ] == [3_000, 4_000]
        assert len(read_lines(conn, run_id, 1, 10_000, min_level=Level.DEBUG)) == 5_000
        assert first_at_level(conn, run_id, Level.ERROR) == 2_345
        assert first_at_level(conn, run_id, Level.WARNING) == 1_234
        assert first_at_level(conn, run_id, Level.CRITICAL) is None
        assert read_lines(conn, run_id, 4_500, 1)[0].level == Level.DEBUG


def test_following_and_tail(store: Store, writer: LogWriter) -> None:
    run_id = new_run(store)
    writer.add_block(run_id, "stdout", [f"line {s}" for s in range(1, 1_201)])
    writer.sync(timeout=30)
    with store.read() as conn:
        assert [line.seq for line in lines_after(conn, run_id, 1_190)] == list(range(1_191, 1_201))
        assert lines_after(conn, run_id, 1_200) == []
        assert [line.seq for line in tail(conn, run_id, 30)] == list(range(1_171, 1_201))
        assert [line.seq for line in tail(conn, run_id, 5_000)] == list(range(1, 1_201))
        assert tail(conn, run_id + 1, 10) == []
    writer.add(run_id, "stdout", Level.INFO, "one more")
    writer.sync(timeout=30)
    with store.read() as conn:
        assert [(line.seq, line.text) for line in lines_after(conn, run_id, 1_200)] == [
            (1_201, "one more")
        ]


def test_search_forwards_and_backwards_ignoring_case(store: Store, writer: LogWriter) -> None:
    run_id = new_run(store)
    lines = [f"line {s}" for s in range(1, 3_001)]
    lines[100 - 1] = "the Needle is here"
    lines[1_700 - 1] = "NEEDLE again"
    lines[2_900 - 1] = "and a needle at the end"
    lines[2_000 - 1] = "ÄRGER im Büro"
    lines[2_100 - 1] = 'she said "stop" at C:\\temp\\x'
    writer.add_block(run_id, "stdout", lines)
    writer.sync(timeout=30)
    with store.read() as conn:
        assert search(conn, run_id, "needle") == 100
        assert search(conn, run_id, "nEeDlE", 100) == 100
        assert search(conn, run_id, "needle", 101) == 1_700
        assert search(conn, run_id, "needle", 1_701) == 2_900
        assert search(conn, run_id, "needle", 2_901) is None
        assert search(conn, run_id, "needle", 3_000, backwards=True) == 2_900
        assert search(conn, run_id, "needle", 2_899, backwards=True) == 1_700
        assert search(conn, run_id, "needle", 99, backwards=True) is None
        assert search(conn, run_id, "ärger") == 2_000
        assert search(conn, run_id, "BÜRO", 3_000, backwards=True) == 2_000
        assert search(conn, run_id, '"stop"') == 2_100
        assert search(conn, run_id, "c:\\temp") == 2_100
        assert search(conn, run_id, "absent") is None


def test_a_slow_writer_is_seen_within_100_ms_and_keeps_one_row(
    store: Store, writer: LogWriter
) -> None:
    run_id = new_run(store)
    other = Store(store.path)  # a separate pool: another process would see the same
    added: dict[int, float] = {}
    count = 50

    def produce() -> None:
        for seq in range(1, count + 1):
            added[seq] = time.monotonic()
            writer.add(run_id, "stdout", Level.INFO, f"tick {seq}")
            time.sleep(0.02)  # the pace of a slow task, not a wait for the writer

    producer = threading.Thread(target=produce)
    producer.start()
    seen: dict[int, float] = {}
    last = 0
    deadline = time.monotonic() + 30
    while len(seen) < count and time.monotonic() < deadline:
        with other.read() as conn:
            for line in lines_after(conn, run_id, last):
                seen[line.seq] = time.monotonic()
                last = line.seq
        time.sleep(0.002)
    producer.join()
    other.close()
    assert sorted(seen) == list(range(1, count + 1))
    delays = sorted(seen[seq] - added[seq] for seq in seen)
    assert statistics.median(delays) <= 0.1, delays
    assert delays[int(0.9 * len(delays))] <= 0.15, delays
    assert chunks(store, run_id) == [(1, count, chunks(store, run_id)[0][2])]


def test_text_survives_exactly(store: Store, writer: LogWriter) -> None:
    run_id = new_run(store)
    texts = [
        "Grüße aus Zürich – ça va? 日本語のログ 👋🏽",
        "",
        "   leading and trailing spaces   ",
        "tab\tseparated\tfields",
        'json-looking {"l": "2", "s": "o", "t": [[0, 1.5]]}',
        "back\\slash and \\n escaped-looking text",
        "carriage\rreturn",
        "nul\x00byte and bell\x07",
        "y" * 1_000_000,
        "🚀" * 20_000,
    ]
    for text in texts:
        writer.add(run_id, "stderr", Level.ERROR, text)
    writer.add_block(run_id, "stdout", texts)
    writer.sync(timeout=60)
    lines = all_lines(store, run_id)
    assert [line.text for line in lines] == texts + texts
    assert [line.seq for line in lines] == list(range(1, 2 * len(texts) + 1))
    assert [line.stream for line in lines] == ["stderr"] * len(texts) + ["stdout"] * len(texts)


def test_a_line_that_is_not_valid_unicode_spoils_nothing(store: Store, writer: LogWriter) -> None:
    run_id, neighbour = new_run(store), new_run(store)
    writer.add(neighbour, "stdout", Level.INFO, "innocent bystander")
    writer.add(run_id, "stdout", Level.INFO, "lone surrogate \udc80 here")
    writer.add(run_id, "stdout", Level.INFO, "next")
    writer.sync(timeout=30)
    assert [line.text for line in all_lines(store, run_id)] == [
        "lone surrogate \ufffd here",
        "next",
    ]
    assert [line.text for line in all_lines(store, neighbour)] == ["innocent bystander"]


def test_a_line_with_a_newline_stays_one_line(store: Store, writer: LogWriter) -> None:
    run_id = new_run(store)
    writer.add(run_id, "stdout", Level.INFO, "before")
    writer.add(run_id, "stdout", Level.INFO, "two\nlines")
    writer.add(run_id, "stdout", Level.INFO, "after")
    writer.sync(timeout=30)
    lines = all_lines(store, run_id)
    assert [line.seq for line in lines] == [1, 2, 3]
    assert lines[0].text == "before" and lines[2].text == "after"
    assert "two" in lines[1].text and "lines" in lines[1].text


def test_call_runs_after_earlier_lines_in_the_same_transaction(
    store: Store, writer: LogWriter
) -> None:
    run_id = new_run(store)
    for seq in range(1, 1_001):
        writer.add(run_id, "stdout", Level.INFO, f"line {seq}")

    def finish(conn):  # type: ignore[no-untyped-def]
        stored = len(read_lines(conn, run_id, 1, 5_000))
        conn.exec_driver_sql("UPDATE run SET status = 'succeeded' WHERE id = ?", (run_id,))
        return stored

    assert writer.call(finish).result(timeout=30) == 1_000

    def broken(conn):  # type: ignore[no-untyped-def]
        raise ValueError("no such thing")

    writer.add(run_id, "stdout", Level.INFO, "line 1001")
    failed = writer.call(broken)
    with pytest.raises(ValueError, match="no such thing"):
        failed.result(timeout=30)
    writer.sync(timeout=30)
    with store.read() as conn:
        assert (
            conn.exec_driver_sql("SELECT status FROM run WHERE id = ?", (run_id,)).scalar()
            == "succeeded"
        )
        assert next_seq(conn, run_id) == 1_002


def test_a_cancelled_call_does_not_store_lines_twice(store: Store, writer: LogWriter) -> None:
    run_id = new_run(store)
    for seq in range(1, 11):
        writer.add(run_id, "stdout", Level.INFO, f"line {seq}")
    assert writer.call(lambda conn: None).cancel()  # still queued behind the lines
    writer.sync(timeout=30)
    assert [line.text for line in all_lines(store, run_id)] == [f"line {s}" for s in range(1, 11)]


def test_stop_flushes_everything(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    run_id = new_run(store)
    log_writer = LogWriter(store)
    for seq in range(1, 2_001):
        log_writer.add(run_id, "stdout", Level.INFO, f"line {seq}")
    log_writer.add_block(run_id, "stdout", ["last", "lines"])
    log_writer.stop()
    store.close()
    reopened = Store(tmp_path / "state.db", create=False)
    lines = all_lines(reopened, run_id)
    reopened.close()
    assert len(lines) == 2_002 and lines[-1].text == "lines"


def test_closing_a_run_and_writing_again_continues_its_numbering(
    store: Store, writer: LogWriter
) -> None:
    run_id = new_run(store)
    writer.add_block(run_id, "stdout", ["a", "b", "c"])
    writer.close_run(run_id).result(timeout=30)
    writer.add_block(run_id, "event", ["d"])
    writer.sync(timeout=30)
    second = LogWriter(store)  # a later process writing to the same run
    second.add(run_id, "event", Level.INFO, "e")
    second.stop()
    assert [(line.seq, line.text) for line in all_lines(store, run_id)] == [
        (1, "a"),
        (2, "b"),
        (3, "c"),
        (4, "d"),
        (5, "e"),
    ]


def test_two_writers_on_one_run_lose_nothing(tmp_path: Path) -> None:
    first_store = Store(tmp_path / "state.db")
    second_store = Store(tmp_path / "state.db")
    run_id = new_run(first_store)
    first, second = LogWriter(first_store), LogWriter(second_store)
    for seq in range(1, 2_001):
        first.add(run_id, "stdout", Level.INFO, f"first {seq}")
        second.add(run_id, "event", Level.INFO, f"second {seq}")
        if seq % 500 == 0:
            first.sync(timeout=30)
            second.sync(timeout=30)
    first.stop()
    second.stop()
    lines = all_lines(first_store, run_id)
    first_store.close()
    second_store.close()
    assert [line.seq for line in lines] == list(range(1, 4_001))
    texts = [line.text for line in lines]
    assert [t for t in texts if t.startswith("first")] == [f"first {s}" for s in range(1, 2_001)]
    assert [t for t in texts if t.startswith("second")] == [f"second {s}" for s in range(1, 2_001)]


def test_the_listener_hears_each_line_with_its_number(store: Store) -> None:
    heard: list[tuple[int, int, str, int, str]] = []
    log_writer = LogWriter(
        store,
        listener=lambda run, seq, _ts, stream, level, text: heard.append(
            (run, seq, stream, level, text)
        ),
    )
    run_id = new_run(store)
    log_writer.add(run_id, "stdout", Level.INFO, "one")
    log_writer.add_block(run_id, "stderr", ["two", "three"], [Level.WARNING, Level.ERROR])
    log_writer.stop()
    assert heard == [
        (run_id, 1, "stdout", Level.INFO, "one"),
        (run_id, 2, "stderr", Level.WARNING, "two"),
        (run_id, 3, "stderr", Level.ERROR, "three"),
    ]
