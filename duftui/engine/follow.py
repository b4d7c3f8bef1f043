"""Following runs from any process: new lines by sequence number, until they end.

`LogFollower` is what `duftui logs --follow` and `duftui run` use; it only touches the
database when SQLite's data_version says something changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import text

from duftui.store.db import ChangeWatcher, Store
from duftui.store.logs import LogLine, lines_after
from duftui.store.states import RunStatus


@dataclass
class Followed:
    run_id: int
    task_key: str
    status: str
    exit_code: int | None
    last_seq: int = 0


@dataclass
class LogFollower:
    """Tracks a set of runs (a single run, or every run of a batch)."""

    store: Store
    run_id: int | None = None
    batch_id: int | None = None
    runs: dict[int, Followed] = field(default_factory=dict)
    _watcher: ChangeWatcher | None = None

    def __post_init__(self) -> None:
        self._watcher = ChangeWatcher(self.store.path)

    def close(self) -> None:
        if self._watcher:
            self._watcher.close()

    def changed(self) -> bool:
        assert self._watcher is not None
        return self._watcher.changed()

    def poll(self) -> list[tuple[Followed, LogLine]]:
        """New lines of every followed run since the last poll, oldest run first."""
        out: list[tuple[Followed, LogLine]] = []
        with self.store.read() as conn:
            if self.batch_id is not None:
                rows = conn.execute(
                    text("SELECT id, task_key, status, exit_code FROM run WHERE batch_id = :b "
                         "ORDER BY id"), {"b": self.batch_id}).all()
            else:
                rows = conn.execute(
                    text("SELECT id, task_key, status, exit_code FROM run WHERE id = :r"),
                    {"r": self.run_id}).all()
            for run_id, task_key, status, exit_code in rows:
                item = self.runs.setdefault(run_id, Followed(run_id, task_key, status, exit_code))
                item.status, item.exit_code = status, exit_code
                while True:
                    lines = lines_after(conn, run_id, item.last_seq, limit=5000)
                    for line in lines:
                        out.append((item, line))
                    if lines:
                        item.last_seq = lines[-1].seq
                    if len(lines) < 5000:
                        break
        return out

    @property
    def done(self) -> bool:
        """Every followed run has ended (and there is at least one)."""
        return bool(self.runs) and all(
            RunStatus(r.status).finished for r in self.runs.values()
        )

    def latest_per_task(self) -> Iterable[Followed]:
        latest: dict[str, Followed] = {}
        for item in sorted(self.runs.values(), key=lambda r: r.run_id):
            latest[item.task_key] = item
        return latest.values()
