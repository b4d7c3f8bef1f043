"""What `import-duft` remembers between runs (`.duftui/duft-import.json`): a digest of
every file, connection and secret it wrote, for the three-way comparison of the next run
(here now, as last imported, in DUFT now)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from duftui import locations
from duftui.definitions.writer import write_atomic

STATE_FILE = "duft-import.json"


@dataclass
class ImportState:
    """Hashes of what the last import wrote, by workspace-relative path or connection name."""

    path: Path
    files: dict[str, str] = field(default_factory=dict)
    connections: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, workspace: Path) -> ImportState:
        path = locations.state_dir(workspace) / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        return cls(
            path,
            *(_strings(data.get(part)) for part in ("files", "connections", "secrets")),
        )

    def dumps(self) -> str:
        data = {
            "version": 2,
            "files": dict(sorted(self.files.items())),
            "connections": dict(sorted(self.connections.items())),
            "secrets": dict(sorted(self.secrets.items())),
        }
        return json.dumps(data, indent=2) + "\n"

    def save(self) -> None:
        write_atomic(self.path, self.dumps())


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def compare(current: str, last: str | None, new: str) -> str:
    """Three-way: "same", "upstream" (only DUFT changed), "local" (only here),
    "conflict" (both), or "unknown" (no record of the last import)."""
    if current == new:
        return "same"
    if last is None:
        return "unknown"
    if current == last:
        return "upstream"
    return "local" if new == last else "conflict"


def sha(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def canonical(data: Any) -> str:
    return sha(json.dumps(data, sort_keys=True, default=str))
