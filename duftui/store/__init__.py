"""The state store: one SQLite file shared safely by the console, daemon and CLI.

Names are loaded on first use, so `from duftui.store.states import RunStatus` does not pull
in SQLAlchemy (the command line starts faster).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ChangeWatcher": "duftui.store.db",
    "Store": "duftui.store.db",
    "RunFilter": "duftui.store.runs",
    "Level": "duftui.store.states",
    "RunStatus": "duftui.store.states",
    "Stage": "duftui.store.states",
    "Stream": "duftui.store.states",
    "Trigger": "duftui.store.states",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'duftui.store' has no attribute {name!r}")
