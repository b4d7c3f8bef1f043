"""Workspace definitions: TOML files in, validated models and located problems out.

Names are loaded on first use (pydantic models are costly to build at import time).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Catalogue": "duftui.definitions.loader",
    "ProjectEntry": "duftui.definitions.loader",
    "TaskEntry": "duftui.definitions.loader",
    "load_workspace": "duftui.definitions.loader",
    "Project": "duftui.definitions.models",
    "Task": "duftui.definitions.models",
    "Problem": "duftui.definitions.problems",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'duftui.definitions' has no attribute {name!r}")
