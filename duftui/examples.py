"""Where the bundled example workspace and the service units come from.

An installed wheel carries them as package data under `duftui/_examples/`; a checkout (or
an editable install) has them at the repository root. `duftui init` copies from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "_examples"
CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Examples:
    """The example projects, their connections file and the service units."""

    tasks: Path
    connections: Path
    contrib: Path


def bundled_examples() -> Examples | None:
    """The examples of this installation, or None when neither place holds them."""
    for root in (PACKAGE_DATA, CHECKOUT):
        found = Examples(root / "tasks", root / "connections.toml", root / "contrib")
        if found.tasks.is_dir() and found.connections.is_file():
            return found
    return None
