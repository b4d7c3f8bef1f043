"""The daemon's daily prune: when `[retention]` is set in duftui.toml, remove what it no
longer keeps once a day, in a worker thread and short transactions, so fires stay on time.

The day is counted from the last prune the audit records, so a daemon restarted often
still prunes once a day; settings are read again before each prune (and every hour while
none are set), so adding `[retention]` needs no restart.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import anyio

from duftui.definitions.settings import load_settings
from duftui.engine.retention import Retention, next_daily_prune, prune
from duftui.store.db import Store
from duftui.store.timestamps import utcnow

_LOG = logging.getLogger("duftui.daemon")
RECHECK = timedelta(hours=1)


def _retention(workspace: Path) -> Retention | None:
    loaded = load_settings(workspace)
    for problem in loaded.problems:
        _LOG.warning("%s (the daily prune waits until it is fixed)", problem)
    if loaded.problems:
        return None
    retention = Retention.from_settings(loaded.settings.retention)
    return retention if retention.active else None


def _prune(store: Store, workspace: Path, retention: Retention) -> None:
    result = prune(store, workspace, retention, user="duftui-daemon")
    _LOG.info(
        "pruned %d runs, %d log lines, %d output records, %d run folders "
        "(longest write lock %.0f ms; state file %.1f -> %.1f MiB)",
        result.runs,
        result.log_lines,
        result.output_files,
        len(result.run_folders),
        result.longest_lock_s * 1000,
        result.bytes_before / 2**20,
        result.bytes_after / 2**20,
    )


async def prune_daily(store: Store, workspace: Path, first_after: float = 60.0) -> None:
    """Run for the daemon's life (cancelled with its task group); with no prune on
    record, the first comes `first_after` seconds after the start."""
    while True:
        retention = await anyio.to_thread.run_sync(_retention, workspace)
        if retention is None:
            await anyio.sleep(RECHECK.total_seconds())
            continue
        due = await anyio.to_thread.run_sync(next_daily_prune, store, utcnow(), first_after)
        wait = (due - utcnow()).total_seconds()
        if wait > 0:
            await anyio.sleep(min(wait, RECHECK.total_seconds()))
            continue  # settings are read again before the prune
        try:
            await anyio.to_thread.run_sync(_prune, store, workspace, retention)
        except Exception:
            _LOG.exception("the daily prune failed; it is tried again in an hour")
            await anyio.sleep(RECHECK.total_seconds())
