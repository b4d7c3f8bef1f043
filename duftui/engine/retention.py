"""Retention: turn `[retention]` (or `duftui prune` options) into what to remove, remove
it from the state file and the run folders, and say what went (DESIGN §12)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from duftui import locations
from duftui.definitions.settings import RetentionSettings
from duftui.store import prune as store_prune
from duftui.store.db import Store
from duftui.store.timestamps import utcnow

DAILY = timedelta(days=1)


@dataclass(frozen=True)
class Retention:
    """How long things stay; None keeps them."""

    runs: timedelta | None = None
    keep_last: int | None = None
    logs: timedelta | None = None

    @classmethod
    def from_settings(cls, settings: RetentionSettings) -> Retention:
        return cls(settings.runs, settings.keep_last, settings.logs)

    @property
    def active(self) -> bool:
        return self.runs is not None or self.keep_last is not None or self.logs is not None

    def policy(self, now: datetime) -> store_prune.PrunePolicy:
        return store_prune.PrunePolicy(
            runs_before=now - self.runs if self.runs is not None else None,
            keep_last=self.keep_last,
            logs_before=now - self.logs if self.logs is not None else None,
        )


def prune(
    store: Store,
    workspace: Path,
    retention: Retention,
    *,
    dry_run: bool = False,
    user: str = "duftui",
    now: datetime | None = None,
) -> store_prune.PruneResult:
    """Remove what `retention` no longer keeps; on a dry run, only count it."""
    now = now or utcnow()
    policy = retention.policy(now)
    runs, log_runs = store_prune.plan(store, policy)
    run_ids = [run_id for run_id, _ in runs]
    folders = [folder for _, folder in runs if folder]
    if dry_run:
        result = store_prune.count(store, run_ids, log_runs)
        result.run_folders = [f for f in folders if _inside(Path(f), workspace)]
        return result
    result = store_prune.delete(
        store,
        run_ids,
        log_runs,
        fires_before=policy.runs_before,
        audit=(user, _describe(retention)),
    )
    for folder in folders:
        path = Path(folder)
        if _inside(path, workspace) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                result.run_folders.append(folder)
    return result


def _inside(path: Path, workspace: Path) -> bool:
    """Only folders under the state folder's runs/ are ever removed."""
    runs = locations.runs_dir(workspace).resolve()
    try:
        resolved = path.resolve()
    except OSError:
        return False
    return resolved != runs and resolved.is_relative_to(runs)


def _describe(retention: Retention) -> str:
    from duftui.definitions.durations import format_duration

    parts = []
    if retention.runs is not None:
        parts.append(f"runs older than {format_duration(retention.runs)}")
    if retention.keep_last is not None:
        parts.append(f"all but the last {retention.keep_last} per task")
    if retention.logs is not None:
        parts.append(f"logs older than {format_duration(retention.logs)}")
    return "; ".join(parts) or "nothing"


def next_daily_prune(store: Store, now: datetime, first_after: float = 60.0) -> datetime:
    """When the daemon prunes next: a day after the last prune the audit records (so a
    restarting daemon does not prune each time), or soon after start if none is known."""
    last = store_prune.last_prune(store)
    if last is None:
        return now + timedelta(seconds=first_after)
    return max(last + DAILY, now)
