"""How the step runner reports: log lines with levels, progress, files and step timings.

Everything goes through `duftui.task`'s stdout markers, so the supervisor stores lines,
progress and `output_file` rows exactly as for any task script. A tail of recent lines
is kept in memory for the failure e-mail (the store may lag a few milliseconds behind).
"""

from __future__ import annotations

import collections
import hashlib
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from duftui import task

TAIL_LINES = 500


def md5_of(path: Path, chunk: int = 1 << 20) -> str:
    """The same digest `output_file.md5` holds (duftui.store.outputs.file_md5), computed
    here without importing the store into the step runner."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def human_size(size: float) -> str:
    """1536 → "1.5 KiB"."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


class Reporter:
    """The step runner's voice; one per run."""

    def __init__(self) -> None:
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)

    def log(self, message: str, level: str = "info") -> None:
        for line in str(message).splitlines() or [""]:
            self.tail.append(f"{level.upper():7} {line}")
        task.log(message, level)

    def info(self, message: str) -> None:
        self.log(message, "info")

    def warning(self, message: str) -> None:
        self.log(message, "warning")

    def error(self, message: str) -> None:
        self.log(message, "error")

    def relay(self, line: str, stream: str = "stdout") -> None:
        """A line from a child (script, remote command): passed on as it is, so markers
        it prints keep working and level detection applies."""
        if not line.startswith(task.MARKER):
            self.tail.append(f"{stream:7} {line}")
        target = sys.stderr if stream == "stderr" else sys.stdout
        target.write(line + "\n")
        target.flush()

    def output(self, path: Path, stage: str) -> None:
        """Record a file in `output_file` (the supervisor computes size and md5)."""
        task.output(path, stage)

    def progress(
        self,
        done: float,
        total: float | None = None,
        message: str | None = None,
    ) -> None:
        task.progress(done, total, message)

    @contextmanager
    def step(self, name: str) -> Iterator[dict[str, str]]:
        """Log a step's start and its end with the time it took; the body may put a short
        summary (rows, bytes) in the yielded dict under "summary"."""
        self.info(f"{name}: started")
        started = time.perf_counter()
        info: dict[str, str] = {}
        try:
            yield info
        except BaseException:
            self.info(f"{name}: stopped after {time.perf_counter() - started:.2f}s")
            raise
        summary = info.get("summary")
        self.info(
            f"{name}: done in {time.perf_counter() - started:.2f}s"
            + (f" ({summary})" if summary else "")
        )
