"""DUFT compatibility: run scripts written for the DUFT Data Task Engine unmodified.

A python task gets the shim on its PYTHONPATH, and its parameters as one JSON argv
element, only when it asks for it (`duft = true` in `[run]`) or when its source imports
one of DUFT's module paths, so a project's own `src` package is never shadowed.
"""

from __future__ import annotations

import re
from pathlib import Path

SHIM_DIR = Path(__file__).resolve().parent / "shim"
DUFT_MODULES = (
    "services.dte_tools.data_task_tools",
    "api_data_task_executioner.data_task_tools",
    "src.dte.dte_tools",
)
_IMPORT = re.compile(
    r"^\s*(?:from|import)\s+(services\.dte_tools|api_data_task_executioner|src\.dte)\b",
    re.MULTILINE,
)


def uses_duft(source: str) -> bool:
    """True when a script imports one of DUFT's tool modules."""
    return bool(_IMPORT.search(source))


def script_uses_duft(path: Path) -> bool:
    try:
        return uses_duft(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return False
