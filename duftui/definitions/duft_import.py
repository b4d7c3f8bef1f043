"""`duftui import-duft`: a DUFT configuration written into a duftui workspace.

Reading and mapping live in `duftui.compat.duft` (config, mapping); this module writes:
the project folder (`project.toml`, one task file per DUFT task, the scripts copied under
`scripts/`), the DUFT connections into `connections.toml` (other tables and comments
untouched) and password values into the user's secrets file.

It is safe to run again. What it wrote is remembered by content hash in
`.duftui/duft-import.json`, so each file, connection and secret is compared three ways —
what is here now, what the last import wrote, what DUFT holds now: a change on the DUFT
side only is brought in, an edit here only is kept (and reported), and a change on both
sides is reported as a conflict and kept unless `force`. A second run over the same DUFT
configuration changes nothing. Secret values are recorded as HMAC-SHA256 digests keyed by
a random key kept in the secrets file itself (`duftui.import-key`), so the state file
gives nothing to guess a password from.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from duftui.compat.duft.config import DuftConfigError, read_config
from duftui.compat.duft.mapping import MappedConnection, Mapping, map_config, task_key
from duftui.definitions.common import SecretRef, check_key
from duftui.definitions.duft_import_state import ImportState, canonical, compare, sha
from duftui.definitions.loader import load_workspace
from duftui.definitions.models import Project
from duftui.definitions.secrets import SecretStore
from duftui.definitions.writer import dumps_project, dumps_task, write_atomic

CONNECTIONS_FILE = "connections.toml"
KEY_SECRET = "duftui.import-key"
KEPT = {
    "local": "edited here since the last import (DUFT's is unchanged)",
    "unknown": "differs from DUFT's, and no earlier import recorded it",
}


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
    kept: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


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
            source=config.root,
            layout=config.layout,
            project=key,
            notes=list(mapping.notes),
            refused=list(mapping.refused),
        ),
    )
    importer.run(config, mapping)
    return importer.report


class _Importer:
    def __init__(
        self, workspace: Path, project: str, force: bool, secrets: SecretStore, report: ImportReport
    ) -> None:
        self.workspace = workspace.resolve()
        self.project = project
        self.force = force
        self.secrets = secrets
        self.report = report
        self.state = ImportState.load(workspace)
        self.loaded_state = self.state.dumps()
        self._key: bytes | None = None

    def run(self, config: Any, mapping: Mapping) -> None:
        folder = f"tasks/{self.project}"
        written: set[str] = set()
        project = Project(
            name=config.root.name, description=f"Imported from the DUFT configuration {config.root}"
        )
        written.add(
            self._file(
                f"{folder}/project.toml",
                _header(f"configuration {json.dumps(config.root.name, ensure_ascii=False)}") + dumps_project(project),
            )
        )
        for item in mapping.tasks:
            written.add(
                self._file(
                    f"{folder}/{item.key}.toml",
                    _header(f"data task {json.dumps(item.duft_id, ensure_ascii=False)}") + inline_cron(dumps_task(item.task)),
                )
            )
        if config.scripts_dir.is_dir():
            scripts = config.script_files()
            self.report.notes.extend(scripts.notes)
            self.report.refused.extend(scripts.refused)
            for path in scripts.files:
                rel = path.relative_to(config.scripts_dir).as_posix()
                written.add(self._file(f"{folder}/scripts/{rel}", path.read_bytes()))
        for rel in sorted(self.state.files):
            if rel.startswith(f"{folder}/") and rel not in written:
                self.report.notes.append(
                    f"{rel}: imported before but no longer in the DUFT configuration; left in place"
                )
        self._connections(mapping.connections)
        self._secrets(mapping.connections)
        if self.report.changed or self.state.dumps() != self.loaded_state:
            self.state.save()
        self._validate()

    def _file(self, rel: str, content: str | bytes) -> str:
        """Write one file unless it is already right or was edited by hand."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = self.workspace / rel
        action = "created"
        outside = self._outside(path)
        if outside:
            self.report.refused.append(f"{rel}: {outside}; not written")
            return rel
        if path.exists():
            verdict = compare(sha(path.read_bytes()), self.state.files.get(rel), sha(data))
            if verdict == "same":
                self.state.files[rel] = sha(data)
                self.report.unchanged += 1
                return rel
            action = self._action(verdict, rel)
            if action is None:
                return rel
        _write_bytes(path, data)
        self.state.files[rel] = sha(data)
        self.report.changes.append((action, rel))
        return rel

    def _outside(self, path: Path) -> str | None:
        """Why writing `path` would leave the workspace (a planted link on the way)."""
        if path.is_symlink():
            return f"is a symbolic link (to {os.readlink(path)}); remove it, then import again"
        landing = path.resolve()
        if not landing.is_relative_to(self.workspace):
            return (
                f"would be written to {landing}, outside the workspace (a folder on the way "
                "is a symbolic link); remove the link, then import again"
            )
        return None

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
                verdict = compare(
                    canonical(_unwrap(document[item.name])),
                    self.state.connections.get(item.name),
                    canonical(data),
                )
                if verdict == "same":
                    self.state.connections[item.name] = canonical(data)
                    self.report.unchanged += 1
                    continue
                action = self._action(verdict, where)
                if action is None:
                    continue
                document[item.name] = _connection_table(data)
            else:
                document.add(tomlkit.nl())
                document.add(item.name, _connection_table(data))
                action = "created"
            self.state.connections[item.name] = canonical(data)
            self.report.changes.append((action, where))
            changed = True
        if changed:
            write_atomic(path, tomlkit.dumps(document).lstrip("\n"))

    def _action(self, verdict: str, what: str) -> str | None:
        """What to do with something that differs from DUFT's: None keeps it (reported)."""
        if verdict == "upstream":
            return "updated"
        if self.force:
            return "overwrote"
        if verdict == "conflict":
            self.report.conflicts.append(what)
        else:
            self.report.kept.append((what, KEPT[verdict]))
        return None

    def _secrets(self, connections: list[MappedConnection]) -> None:
        for item in connections:
            for name, value in item.secrets.items():
                stored = self.secrets.values()
                new = self._digest(value)
                if name not in stored:
                    action = "stored"
                else:
                    verdict = compare(
                        self._digest(stored[name]), self.state.secrets.get(name), new
                    )
                    if verdict == "same":
                        self.state.secrets[name] = new
                        self.report.unchanged += 1
                        continue
                    action = self._action(verdict, f"secret {name}")
                    if action is None:
                        continue
                self.secrets.set(name, value)
                self.state.secrets[name] = new
                self.report.changes.append((f"{action} secret", f"{name} in {self.secrets.path}"))

    def _digest(self, value: str) -> str:
        """A keyed digest of a secret value: comparable, but no help in guessing it."""
        if self._key is None:
            key = self.secrets.values().get(KEY_SECRET)
            if not key:
                key = os.urandom(32).hex()
                self.secrets.set(KEY_SECRET, key)
            self._key = key.encode("utf-8")
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()

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
