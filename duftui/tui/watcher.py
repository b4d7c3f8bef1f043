"""Live updates: a worker thread asks SQLite's `data_version` a few times a second.

Only when another connection committed does it read a `Pulse` (a few index lookups) and
hand it to the app, once per interval at most — so a task that floods its log causes a
few small repaints a second, not one message per line. Screens compare pulses to decide
what, if anything, to re-query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from duftui.store.dashboard import DaemonState, Pulse, daemon_state, read_pulse
from duftui.store.db import ChangeWatcher, Store

DEFAULT_INTERVAL = 0.2
DAEMON_CHECK_EVERY = 5  # intervals: the lease goes stale by time alone, without commits


class StoreWatcher:
    """Polls one state file; call `run()` in a thread and `stop()` to end it."""

    def __init__(
        self,
        store: Store,
        deliver: Callable[[Pulse, DaemonState], None],
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.store = store
        self.deliver = deliver
        self.interval = interval
        self._stop = threading.Event()
        self._poke = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        self._poke.set()

    def poke(self) -> None:
        """Look now (after this console changed something itself)."""
        self._poke.set()

    def run(self) -> None:
        watcher = ChangeWatcher(Path(self.store.path))
        last: tuple[Pulse, DaemonState] | None = None
        ticks = 0
        try:
            while not self._stop.is_set():
                changed = watcher.changed() or self._poke.is_set()
                self._poke.clear()
                ticks += 1
                if last is None or changed or ticks % DAEMON_CHECK_EVERY == 0:
                    with self.store.read() as conn:
                        current = (read_pulse(conn), daemon_state(conn))
                    if current != last:
                        last = current
                        self.deliver(*current)
                self._poke.wait(self.interval)
        finally:
            watcher.close()
