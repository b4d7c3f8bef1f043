"""Lazy access to one run's log for the virtual log pane (no Textual here).

A log of a million lines is never loaded whole: lines are fetched by sequence range in
blocks and kept in a small LRU cache, the way Toolong reads huge files. Fetching is
blocking (SQLite) and happens in worker threads; the UI thread only reads the cache.
A level filter is an index of the sequence numbers at or above the level, built in
batches, so filtered views scroll just as lazily.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable

from duftui.store.db import Store
from duftui.store.logs import LogLine, read_lines

BLOCK = 256
CAPACITY = 400  # blocks: ~100k lines at most in memory


def block_of(seq: int) -> int:
    return (seq - 1) // BLOCK


class LogBlocks:
    """An LRU cache of fixed-size blocks of lines, keyed by block number."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._blocks: OrderedDict[int, list[LogLine]] = OrderedDict()

    def line(self, seq: int) -> LogLine | None:
        block = self._blocks.get(block_of(seq))
        if block is None:
            return None
        self._blocks.move_to_end(block_of(seq))
        offset = (seq - 1) % BLOCK
        return block[offset] if offset < len(block) else None

    def missing(self, seqs: Iterable[int]) -> set[int]:
        """Blocks to fetch so that every seq in `seqs` can be shown."""
        wanted: set[int] = set()
        for seq in seqs:
            number = block_of(seq)
            block = self._blocks.get(number)
            if block is None or (seq - 1) % BLOCK >= len(block):
                wanted.add(number)
        return wanted

    def put(self, number: int, lines: list[LogLine]) -> None:
        self._blocks[number] = lines
        self._blocks.move_to_end(number)
        while len(self._blocks) > self.capacity:
            self._blocks.popitem(last=False)

    def clear(self) -> None:
        self._blocks.clear()

    def __len__(self) -> int:
        return len(self._blocks)


def fetch_block(store: Store, run_id: int, number: int) -> list[LogLine]:
    """One block of lines (fewer at the growing end of a running log)."""
    with store.read() as conn:
        return read_lines(conn, run_id, number * BLOCK + 1, BLOCK)


class LevelIndex:
    """Sequence numbers of the lines at or above `level`, in order.

    Built in batches (`scan`) from where the last batch stopped, so a growing log only
    costs its new lines, and chunks below the level are skipped by the store.
    """

    def __init__(self, level: int) -> None:
        self.level = level
        self.seqs: array[int] = array("Q")
        self.scanned_to = 0  # every seq <= this has been looked at

    def __len__(self) -> int:
        return len(self.seqs)

    def seq_at(self, index: int) -> int | None:
        return self.seqs[index] if 0 <= index < len(self.seqs) else None

    def index_of(self, seq: int) -> int:
        """The row showing `seq`, or the next row after it when it is filtered out."""
        return min(bisect_left(self.seqs, seq), max(0, len(self.seqs) - 1))

    def scan(self, store: Store, run_id: int, upto: int, batch: int = 20_000) -> list[int]:
        """Read the next batch of matching lines up to seq `upto`; returns the new seqs."""
        if self.scanned_to >= upto:
            return []
        with store.read() as conn:
            lines = read_lines(conn, run_id, self.scanned_to + 1, batch, min_level=self.level)
        found = [line.seq for line in lines if line.seq <= upto]
        if len(lines) < batch or (lines and lines[-1].seq >= upto):
            self.scanned_to = upto
        elif lines:
            self.scanned_to = lines[-1].seq
        return found

    def extend(self, seqs: list[int]) -> None:
        start = self.seqs[-1] if self.seqs else 0
        self.seqs.extend(seq for seq in seqs if seq > start)
