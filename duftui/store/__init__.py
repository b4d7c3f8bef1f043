"""The state store: one SQLite file shared safely by the console, daemon and CLI."""

from duftui.store.db import ChangeWatcher, Store
from duftui.store.runs import RunFilter
from duftui.store.states import Level, RunStatus, Stage, Stream, Trigger

__all__ = [
    "ChangeWatcher",
    "Level",
    "RunFilter",
    "RunStatus",
    "Stage",
    "Store",
    "Stream",
    "Trigger",
]
