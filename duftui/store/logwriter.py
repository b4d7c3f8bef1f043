"""A background thread that batches log lines from any number of runs into few writes.

Producers (the supervisor's stream readers) call `add()`, which only appends to a queue.
The thread wakes at most every FLUSH_INTERVAL while lines are pending and writes all of
them, for all runs, in one `BEGIN IMMEDIATE` transaction. Work that must be ordered after
a run's last line (marking the run finished) goes through `call()`, which runs in the same
thread after the lines queued before it, in the same transaction as their flush.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Connection

from duftui.store.db import Store, passing_error
from duftui.store.logs import OpenChunk, level_chars, next_seq, write_chunks

FLUSH_INTERVAL = 0.05
GIVE_UP_AFTER = 5  # tries, for errors that do not pass by themselves
RETRY_MAX_S = 2.0
_LOG = logging.getLogger(__name__)

LineListener = Callable[[int, int, float, str, int, str], None]


class LogWriter:
    """Batches lines into chunk rows; one instance per process is enough."""

    def __init__(self, store: Store, listener: LineListener | None = None) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._open: dict[int, OpenChunk] = {}
        self._checked: set[int] = set()
        self._listener = listener
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="duftui-logwriter", daemon=True)
        self._thread.start()

    def add(self, run_id: int, stream: str, level: int, line: str, ts: float | None = None) -> None:
        """Queue one line (already masked). Never blocks."""
        self._queue.put(
            ("line", run_id, ts if ts is not None else time.time(), stream, level, line)
        )

    def add_block(
        self,
        run_id: int,
        stream: str,
        lines: list[str],
        levels: list[int] | None = None,
        ts: float | None = None,
    ) -> None:
        """Queue lines that arrived together (already masked); one queue item, not one per
        line, so a flooding task costs little per line. `levels` defaults to INFO."""
        if not lines:
            return
        if levels is None:
            chars, top = "2" * len(lines), 20
        else:
            chars, top = level_chars(levels), max(levels)
        self._queue.put(
            ("block", run_id, ts if ts is not None else time.time(), stream, chars, top, lines)
        )

    def call(self, fn: Callable[[Connection], Any]) -> Future[Any]:
        """Run `fn(conn)` in the writer's transaction, after every line queued before it."""
        future: Future[Any] = Future()
        self._queue.put(("call", fn, future))
        return future

    def close_run(self, run_id: int) -> Future[Any]:
        """Flush and forget a run's open chunk (its last lines are then stored)."""
        return self.call(lambda _conn: self.forget(run_id))

    def forget(self, run_id: int) -> None:
        """Forget a run's open chunk. Only from inside a `call()` (the writer's thread),
        where the lines queued before it are already written."""
        self._open.pop(run_id, None)

    def sync(self, timeout: float | None = None) -> None:
        """Block until everything queued so far is committed."""
        self.call(lambda _conn: None).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._queue.put(("stop",))
        self._thread.join(timeout)

    # -- the thread ---------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            deadline = time.monotonic() + FLUSH_INTERVAL
            stop = item[0] == "stop"
            # Collect what arrives in the next FLUSH_INTERVAL (or until a call is queued).
            while not stop and item[0] in ("line", "block"):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                batch.append(item)
                stop = item[0] == "stop"
            self._drain_nowait(batch)
            self._flush(batch)
            if any(entry[0] == "stop" for entry in batch):
                return

    def _drain_nowait(self, batch: list[tuple[Any, ...]]) -> None:
        while len(batch) < 200_000:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _flush(self, batch: list[tuple[Any, ...]]) -> None:
        # A call whose caller cancelled its future in the meantime is skipped; the others
        # are marked running, so nothing can make delivering their results fail later.
        calls = [
            (entry[1], entry[2])
            for entry in batch
            if entry[0] == "call" and entry[2].set_running_or_notify_cancel()
        ]
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        notices: list[tuple[int, int, float, str, int, str]] = []
        failures = 0
        while True:
            try:
                results, notices = self._write(batch, calls)
                break
            except Exception as exc:
                failures += 1
                self._open.clear()
                if not self._keep_trying(exc, failures, len(batch)):
                    _LOG.error("log writer gave up on %d queued items: %s", len(batch), exc)
                    for _fn, future in calls:
                        future.set_exception(
                            RuntimeError(f"log writer could not write to the state file: {exc}"))
                    return
                time.sleep(min(0.2 * failures, RETRY_MAX_S))
        if failures:
            _LOG.warning("the state file takes writes again; %d queued items stored after %d "
                         "failed tries", len(batch), failures)
        # Only after the commit: a retry must never store the same lines twice.
        for future, value, exc in results:
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(value)
        self._notify(notices)

    def _keep_trying(self, exc: Exception, failures: int, waiting: int) -> bool:
        """A full disk, an I/O error or a lock held elsewhere passes: keep every line and
        try again (saying so once a minute) until it does, unless stopping. Any other
        error gives up after a few tries, as it would fail the same way again."""
        if not passing_error(exc):
            _LOG.warning("log flush failed (attempt %d): %s", failures, exc)
            return failures < GIVE_UP_AFTER
        if failures == 1 or failures % max(1, int(60 / RETRY_MAX_S)) == 0:
            _LOG.error("cannot write to the state file (%s); %d queued items are kept and "
                       "written once it takes writes again: free disk space", exc, waiting)
        return not (self._stopping and failures >= GIVE_UP_AFTER)

    def _write(
        self,
        batch: list[tuple[Any, ...]],
        calls: list[tuple[Callable[[Connection], Any], Future[Any]]],
    ) -> tuple[
        list[tuple[Future[Any], Any, BaseException | None]],
        list[tuple[int, int, float, str, int, str]],
    ]:
        """One transaction: every line of the batch, then the calls, in queue order."""
        notices: list[tuple[int, int, float, str, int, str]] = []
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        with self._store.write() as conn:
            self._checked = set()
            dirty: dict[tuple[int, int], OpenChunk] = {}
            for entry in batch:
                if entry[0] == "line":
                    seq = self._add_line(conn, dirty, *entry[1:])
                    if self._listener is not None:
                        notices.append((entry[1], seq, *entry[2:]))
                elif entry[0] == "block":
                    seq = self._add_block(conn, dirty, *entry[1:])
                    if self._listener is not None:
                        _run, ts, stream, chars, _top, lines = entry[1:]
                        notices.extend(
                            (_run, seq + i, ts, stream, int(chars[i]) * 10, line)
                            for i, line in enumerate(lines)
                        )
            write_chunks(conn, dirty.values())
            for fn, future in calls:
                try:
                    results.append((future, fn(conn), None))
                except Exception as exc:  # reported to the caller through its future
                    results.append((future, None, exc))
        return results, notices

    def _chunk_for(self, conn: Connection, run_id: int) -> OpenChunk:
        chunk = self._open.get(run_id)
        if chunk is None or run_id not in self._checked:
            # Once per run and flush: if another writer (another process) added lines to
            # this run since our last flush, continue after them rather than rewrite our
            # open chunk over theirs.
            self._checked.add(run_id)
            stored_next = next_seq(conn, run_id)
            if chunk is None or chunk.next_seq != stored_next:
                chunk = OpenChunk(run_id=run_id, first_seq=stored_next)
                self._open[run_id] = chunk
        if chunk.full:
            chunk = OpenChunk(run_id=run_id, first_seq=chunk.next_seq)
            self._open[run_id] = chunk
        return chunk

    def _add_line(
        self,
        conn: Connection,
        dirty: dict[tuple[int, int], OpenChunk],
        run_id: int,
        ts: float,
        stream: str,
        level: int,
        line: str,
    ) -> int:
        chunk = self._chunk_for(conn, run_id)
        seq = chunk.add(ts, stream, level, line)
        dirty[(run_id, chunk.first_seq)] = chunk
        return seq

    def _add_block(
        self,
        conn: Connection,
        dirty: dict[tuple[int, int], OpenChunk],
        run_id: int,
        ts: float,
        stream: str,
        chars: str,
        top: int,
        lines: list[str],
    ) -> int:
        """Spread a block over as many chunks as it needs; returns its first seq."""
        first = None
        start = 0
        while start < len(lines):
            chunk = self._chunk_for(conn, run_id)
            room = chunk.room(lines[start:]) or 1
            end = start + room
            part_levels = chars[start:end]
            part_top = top if len(lines) == room else max(int(c) * 10 for c in set(part_levels))
            seq = chunk.add_block(ts, stream, part_levels, lines[start:end], part_top)
            dirty[(run_id, chunk.first_seq)] = chunk
            first = seq if first is None else first
            start = end
        return first if first is not None else 0

    def _notify(self, notices: list[tuple[int, int, float, str, int, str]]) -> None:
        if self._listener is None:
            return
        for notice in notices:
            try:
                self._listener(*notice)
            except Exception:  # a listener must never stop the writer
                _LOG.exception("log listener failed")
