"""`duftui import-duft`: a DUFT configuration written into a duftui workspace.

Reading and mapping live in `duftui.compat.duft` (config, mapping); this module writes:
the project folder (`project.toml`, one task file per DUFT task, the scripts copied under
`scripts/`), the DUFT connections into `connections.toml` (other tables and comments
untouched) and password values into the user's secrets file.

It is safe to run again. What it wrote is remembered by content hash in
`.duftui/duft-import.json`; a file or connection whose content still matches is brought up
to date, one that someone changed since is left alone (and reported) unless `force`, and
a second run over the same DUFT configuration changes nothing. Secret values are never
hashed into that file: a secret that differs from DUFT's value is kept unless `force`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from duftui import locations
from duftui.compat.duft.config import DuftConfigError, read_config
from duftui.compat.duft.mapping import MappedConnection, Mapping, map_config, task_key
from duftui.definitions.common import SecretRef, check_key
from duftui.definitions.loader import load_workspace
from duftui.definitions.models import Project
from duftui.definitions.secrets import SecretStore
from duftui.definitions.writer import dumps_project, dumps_task, write_atomic

STATE_FILE = "duft-import.json"
CONNECTIONS_FILE = "connections.toml"


class DuftImportError(Exception):
    """The import cannot start (not a DUFT folder, bad project key, unreadable TOML)."""


@dataclass
class ImportReport:
    """What an import did, for the command to print."""

    source: Path
    layout: str
    project: str
    changes: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass
class _State:
    """Hashes of what the last import wrote, by workspace-relative path or connection name."""

    path: Path
    files: dict[str, str] = field(default_factory=dict)
    connections: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, workspace: Path) -> _State:
        path = locations.state_dir(workspace) / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return cls(path, dict(data.get("files", {})), dict(data.get("connections", {})))

    def save(self) -> None:
        data = {
            "version": 1,
            "files": dict(sorted(self.files.items())),
            "connections": dict(sorted(self.connections.items())),
        }
        write_atomic(self.path, json.dumps(data, indent=2) + "\n")


def _sha(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def _canonical(data: Any) -> str:
    return _sha(json.dumps(data, sort_keys=True, default=str))


def import_duft(
    source: Path,
    workspace: Path,
    *,
    secrets: SecretStore,
    project: str | None = None,
    force: bool = False,
) -> ImportReport:
    """Import the DUFT configuration at `source` into `workspace` (see the module doc)."""
    try:
        config = read_config(source)
    except DuftConfigError as exc:
        raise DuftImportError(str(exc)) from None
    key = project or task_key(config.root.name, set())
    try:
        check_key(key, "project key")
    except ValueError as exc:
        raise DuftImportError(f"{exc}; choose one with --project") from None
    mapping = map_config(config)
    importer = _Importer(
        workspace,
        key,
        force,
        secrets,
        ImportReport(
            source=config.root, layout=config.layout, project=key, notes=list(mapping.notes)
        ),
    )
    importer.run(config, mapping)
    return importer.report


class _Importer:
    def __init__(
        self, workspace: Path, project: str, force: bool, secrets: SecretStore, report: ImportReport
    ) -> None:
        self.workspace = workspace
        self.project = project
        self.force = force
        self.secrets = secrets
        self.report = report
        self.state = _State.load(workspace)

    def run(self, config: Any, mapping: Mapping) -> None:
        folder = f"tasks/{self.project}"
        written: set[str] = set()
        project = Project(
            name=config.root.name, description=f"Imported from the DUFT configuration {config.root}"
        )
        written.add(
            self._file(
                f"{folder}/project.toml",
                _header(f"configuration {config.root.name}") + dumps_project(project),
            )
        )
        for item in mapping.tasks:
            written.add(
                self._file(
                    f"{folder}/{item.key}.toml",
                    _header(f'data task "{item.duft_id}"') + inline_cron(dumps_task(item.task)),
                )
            )
        if config.scripts_dir.is_dir():
            for path in config.script_files():
                rel = path.relative_to(config.scripts_dir).as_posix()
                written.add(self._file(f"{folder}/scripts/{rel}", path.read_bytes()))
        for rel in sorted(self.state.files):
            if rel.startswith(f"{folder}/") and rel not in written:
                self.report.notes.append(
                    f"{rel}: imported before but no longer in the DUFT configuration; left in place"
                )
        self._connections(mapping.connections)
        self._secrets(mapping.connections)
        if self.report.changed:
            self.state.save()
        self._validate()

    def _file(self, rel: str, content: str | bytes) -> str:
        """Write one file unless it is already right or was edited by hand."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = self.workspace / rel
        action = "created"
        if path.exists():
            current = path.read_bytes()
            if current == data:
                self.state.files[rel] = _sha(data)
                self.report.unchanged += 1
                return rel
            if self.state.files.get(rel) != _sha(current):
                if not self.force:
                    self.report.kept.append(rel)
                    return rel
                action = "overwrote"
            else:
                action = "updated"
        _write_bytes(path, data)
        self.state.files[rel] = _sha(data)
        self.report.changes.append((action, rel))
        return rel

    def _connections(self, connections: list[MappedConnection]) -> None:
        path = self.workspace / CONNECTIONS_FILE
        if path.exists():
            try:
                document = tomlkit.parse(path.read_text(encoding="utf-8"))
            except Exception as exc:  # tomlkit raises several error types
                raise DuftImportError(
                    f"{path}: not valid TOML ({exc}); fix it, then import again"
                ) from None
        else:
            document = tomlkit.document()
            document.add(tomlkit.comment("Named connections (no secrets in this file)."))
        changed = False
        for item in connections:
            data = connection_data(item)
            where = f"{CONNECTIONS_FILE} [{item.name}]"
            if item.name in document:
                current = _unwrap(document[item.name])
                if current == data:
                    self.state.connections[item.name] = _canonical(data)
                    self.report.unchanged += 1
                    continue
                if self.state.connections.get(item.name) != _canonical(current):
                    if not self.force:
                        self.report.kept.append(where)
                        continue
                    action = "overwrote"
                else:
                    action = "updated"
                document[item.name] = _connection_table(data)
            else:
                document.add(tomlkit.nl())
                document.add(item.name, _connection_table(data))
                action = "created"
            self.state.connections[item.name] = _canonical(data)
            self.report.changes.append((action, where))
            changed = True
        if changed:
            write_atomic(path, tomlkit.dumps(document).lstrip("\n"))

    def _secrets(self, connections: list[MappedConnection]) -> None:
        stored = self.secrets.values()
        for item in connections:
            for name, value in item.secrets.items():
                if stored.get(name) == value:
                    self.report.unchanged += 1
                    continue
                if name in stored and not self.force:
                    self.report.kept.append(f"secret {name} (differs from the DUFT value)")
                    continue
                action = "updated secret" if name in stored else "stored secret"
                self.secrets.set(name, value)
                self.report.changes.append((action, f"{name} in {self.secrets.path}"))

    def _validate(self) -> None:
        catalogue = load_workspace(self.workspace)
        prefix = f"tasks/{self.project}/"
        for problem in catalogue.problems:
            text = str(problem)
            if text.startswith((prefix, CONNECTIONS_FILE)):
                self.report.problems.append(text)


def connection_data(item: MappedConnection) -> dict[str, Any]:
    """A DUFT connection as the plain data of its connections.toml table."""
    connection = item.connection
    data: dict[str, Any] = {"type": "duft"}
    if connection.name:
        data["name"] = connection.name
    if connection.description:
        data["description"] = connection.description
    if connection.duft_id:
        data["duft_id"] = connection.duft_id
    params: dict[str, Any] = {}
    for name, param in connection.params.items():
        entry: dict[str, Any] = {"type": param.type}
        if param.label:
            entry["label"] = param.label
        if isinstance(param.value, SecretRef):
            entry["value"] = (
                {"secret": param.value.secret} if param.value.secret else {"env": param.value.env}
            )
        elif param.value is not None:
            entry["value"] = param.value
        params[name] = entry
    data["params"] = params
    return data


def _connection_table(data: dict[str, Any]) -> Any:
    table = tomlkit.table()
    for key, value in data.items():
        if key != "params":
            table[key] = value
    params = tomlkit.table()
    for name, entry in data["params"].items():
        params[name] = _inline(entry)
    table["params"] = params
    return table


def _inline(value: dict[str, Any]) -> Any:
    table = tomlkit.inline_table()
    for key, item in value.items():
        table[key] = _inline(item) if isinstance(item, dict) else item
    return table


def inline_cron(text: str) -> str:
    """`cron = { minute = "0", hour = "9" }` on one line, as people write DUFT's cron object,
    instead of a `[schedule.cron]` table under each `[[schedule]]`."""
    document = tomlkit.parse(text)
    schedules = document.get("schedule")
    if not schedules:
        return text
    for schedule in schedules:
        cron = schedule.get("cron")
        if isinstance(cron, dict) and not isinstance(cron, tomlkit.items.InlineTable):
            schedule["cron"] = _inline(_unwrap(cron))
    return tomlkit.dumps(document)


def _unwrap(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _header(what: str) -> str:
    return (
        f"# Imported from DUFT ({what}) by `duftui import-duft`.\n"
        "# Edit freely: a later import leaves an edited file alone unless run with --force.\n"
        "\n"
    )


def _write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, like writer.write_atomic, for any content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
