"""Writing deliveries into the run's `output_file` rows (`delivered_to`).

The step runner reports its files through stdout markers; the supervisor inserts the
rows a few milliseconds later. A delivery therefore waits (briefly, on the row itself)
until the row of the file it delivered exists, then adds its target.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from duftui import locations
from duftui.store.db import Store
from duftui.store.outputs import OUTPUT, add_delivery

ROW_WAIT_S = 10.0


class DeliveryLog:
    """Records deliveries of one run's files; a no-op when there is no state file."""

    def __init__(self, workspace: Path, run_id: int, wait: float = ROW_WAIT_S) -> None:
        self.run_id = run_id
        self.wait = wait
        self.store: Store | None = None
        self.problem: str | None = None
        try:
            self.store = Store(locations.state_db(workspace), create=False)
        except (FileNotFoundError, OSError) as exc:
            self.problem = f"no state file to record deliveries in ({exc})"

    def _row_ids(self, path: Path) -> list[int]:
        assert self.store is not None
        with self.store.read() as conn:
            rows = conn.execute(
                select(OUTPUT.c.id).where(
                    OUTPUT.c.run_id == self.run_id, OUTPUT.c.path == str(path)
                )
            ).all()
        return [row[0] for row in rows]

    def add(self, path: Path, target: str) -> bool:
        """True when recorded; False when the file has no row (yet) or there is no store."""
        if self.store is None:
            return False
        path = path.resolve()
        deadline = time.monotonic() + self.wait
        delay = 0.01
        while not (ids := self._row_ids(path)):
            if time.monotonic() > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        with self.store.write() as conn:
            for output_id in ids:
                add_delivery(conn, output_id, target)
        return True

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
