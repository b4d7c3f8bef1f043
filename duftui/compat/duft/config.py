"""Reading a DUFT configuration directory, in either of the layouts DUFT users have.

- DUFT's own: `system/data_tasks.json` (`{"dataTasks": [...]}`),
  `system/data_connections.json` (`{"dataConnections": [...]}`), the scripts and notebooks
  under `system/data_tasks/`, and the user's `user/config.json` (connection values and
  scheduled tasks) with `user/data_connections.json` (their own connections) where present.
- flat: `data_tasks.json` and `data_connections.json` beside the scripts, and optionally
  a `config.json` with the user's values.

Nothing here writes anything; `duftui.definitions.duft_import` does that.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git", ".venv", "node_modules"}
FLAT_CONFIG_FILES = {"data_tasks.json", "data_connections.json", "config.json"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class ScriptFiles:
    """The files to copy with the scripts, and why others are left out."""

    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class DuftConfigError(Exception):
    """The directory is not a DUFT configuration, or one of its JSON files is broken."""


@dataclass
class DuftConfig:
    """The parts of a DUFT configuration that duftui can use, with where they came from."""

    root: Path
    layout: str
    tasks_file: Path
    tasks: list[Any]
    connection_files: list[Path]
    connections: list[tuple[Path, Any]]
    scripts_dir: Path
    user_config_file: Path | None
    user_config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def script_files(self) -> ScriptFiles:
        """Every file to copy with the scripts: helpers, data files, notebooks.

        The walk never follows a symlinked folder. A symlinked file is copied (its content,
        said in a note) only when its target lies inside the DUFT configuration; one that
        points elsewhere (`~/.ssh/id_rsa`) is refused, and so is a name holding control
        characters."""
        out = ScriptFiles()
        for folder, dirs, names in os.walk(self.scripts_dir):
            base = Path(folder)
            kept_dirs = []
            for name in sorted(dirs):
                path = base / name
                parts = path.relative_to(self.scripts_dir).parts
                if name in SKIPPED_DIRS or name.startswith("."):
                    continue
                if self.layout == "flat" and len(parts) == 1 and name in ("system", "user"):
                    continue
                if path.is_symlink():
                    out.refused.append(
                        f"{self.rel(path)}: a symbolic link to a folder; not copied "
                        "(copy the folder itself into the DUFT configuration)"
                    )
                    continue
                kept_dirs.append(name)
            dirs[:] = kept_dirs
            for name in sorted(names):
                path = base / name
                parts = path.relative_to(self.scripts_dir).parts
                if name.startswith("."):
                    continue
                if self.layout == "flat" and len(parts) == 1 and name in FLAT_CONFIG_FILES:
                    continue
                problem = self.unsafe_file(path)
                if problem:
                    out.refused.append(f"{self.rel(path)}: {problem}; not copied")
                    continue
                if not path.is_file():
                    continue
                if path.is_symlink():
                    out.notes.append(
                        f"{self.rel(path)}: a symbolic link to {self.rel(path.resolve())}; "
                        "its content is copied"
                    )
                out.files.append(path)
        out.files.sort()
        return out

    def unsafe_script(self, script: str) -> str | None:
        """Why a pythonFile must not be used: it climbs out of the scripts folder, or it is
        (or lies under) a link to something outside the DUFT configuration."""
        pure = PurePosixPath(script)
        if pure.is_absolute() or script.startswith(("\\", "~")) or re.match(r"[A-Za-z]:", script):
            return f"an absolute path; name a file inside {self.rel(self.scripts_dir)}/"
        if ".." in pure.parts or ".." in script.split("\\"):
            return f"climbs out of {self.rel(self.scripts_dir)}/ with '..'"
        path = self.scripts_dir / script
        for part in [path, *path.parents]:
            if part == self.scripts_dir:
                break
            if part.is_symlink() and (part.is_dir() or part != path):
                return f"lies under a symbolic link to a folder ({self.rel(part)})"
        if path.exists() or path.is_symlink():
            return self.unsafe_file(path)
        return None

    def unsafe_file(self, path: Path) -> str | None:
        """Why a file under the scripts folder must not be copied, or None."""
        if _CONTROL.search(path.relative_to(self.scripts_dir).as_posix()):
            return f"the name {path.name!r} holds control characters"
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(self.root):
                return (
                    f"a symbolic link to {target}, outside the DUFT configuration "
                    "(copy the file itself into it)"
                )
        return None


def read_config(root: Path) -> DuftConfig:
    """Find and parse the DUFT files under `root`; raises DuftConfigError saying what is off."""
    root = root.resolve()
    system = root / "system"
    if (system / "data_tasks.json").is_file():
        layout = "duft"
        tasks_file = system / "data_tasks.json"
        connection_files = [
            system / "data_connections.json",
            root / "user" / "data_connections.json",
        ]
        scripts_dir = system / "data_tasks"
        user_file = root / "user" / "config.json"
    elif (root / "data_tasks.json").is_file():
        layout = "flat"
        tasks_file = root / "data_tasks.json"
        connection_files = [root / "data_connections.json"]
        scripts_dir = root
        user_file = root / "config.json"
    else:
        raise DuftConfigError(
            f"{root}: not a DUFT configuration: expected system/data_tasks.json (DUFT's layout) "
            "or data_tasks.json (a flat folder)"
        )
    tasks_data = _load(tasks_file)
    if not isinstance(tasks_data, dict) or not isinstance(tasks_data.get("dataTasks"), list):
        raise DuftConfigError(f'{tasks_file}: expected {{"dataTasks": [...]}}')
    config = DuftConfig(
        root=root,
        layout=layout,
        tasks_file=tasks_file,
        tasks=tasks_data["dataTasks"],
        connection_files=[p for p in connection_files if p.is_file()],
        connections=[],
        scripts_dir=scripts_dir,
        user_config_file=user_file if user_file.is_file() else None,
    )
    for key in tasks_data:
        if key != "dataTasks":
            config.notes.append(f"{config.rel(tasks_file)}: {key!r} not mapped")
    if not scripts_dir.is_dir():
        config.notes.append(f"{config.rel(scripts_dir)}: no scripts folder; no scripts copied")
    for path in config.connection_files:
        data = _load(path)
        entries = data.get("dataConnections") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise DuftConfigError(f'{path}: expected {{"dataConnections": [...]}}')
        config.connections.extend((path, entry) for entry in entries)
        for key in data:
            if key != "dataConnections":
                config.notes.append(f"{config.rel(path)}: {key!r} not mapped")
    if config.user_config_file is not None:
        data = _load(config.user_config_file)
        if not isinstance(data, dict):
            raise DuftConfigError(f"{config.user_config_file}: expected a JSON object")
        config.user_config = data
        for key in data:
            if key not in ("dataConnectionParameters", "scheduledDataTasks"):
                config.notes.append(
                    f"{config.rel(config.user_config_file)}: {key!r} not mapped "
                    "(DUFT server settings)"
                )
    return config


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise DuftConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise DuftConfigError(f"{path}: not valid JSON: {exc}") from None
