"""Deleting definitions without losing them: `.duftui/trash/`, and restoring from it.

A deleted task file is moved (never removed) to `<UTC timestamp>-<project>-<task>.toml`
next to a JSON sidecar that records where it came from and who deleted it; a deleted
connection's table is kept the same way. Run history is not touched: runs refer to tasks
by key, so a restored task finds its history again.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomlkit

from duftui.definitions.connection_edit import table_digest
from duftui.definitions.edit_base import (
    EditError,
    InUse,
    KeyTaken,
    NotFound,
    SaveResult,
    audit,
    move_new,
    read_text,
    write_new,
)
from duftui.definitions.loader import CONNECTIONS_FILE, Catalogue, TaskEntry, load_workspace
from duftui.definitions.parsing import rel_path
from duftui.definitions.writer import write_atomic
from duftui.locations import trash_dir

if TYPE_CHECKING:
    from duftui.store.db import Store


@dataclass(frozen=True)
class TrashEntry:
    """One deleted definition. `id` is its file name in the trash without `.toml`."""

    id: str
    kind: str  # "task" or "connection" ("unknown" when its sidecar is missing)
    target: str  # "project/task" or the connection name
    original: str  # where it came from, relative to the workspace
    deleted_at: datetime | None
    deleted_by: str
    path: Path

    @property
    def sidecar(self) -> Path:
        return self.path.with_suffix(".json")


def _user(user: str | None) -> str:
    from duftui.store.audit import current_user

    return user or current_user()


def into_trash(
    root: Path,
    kind: str,
    target: str,
    original: str,
    label: str,
    *,
    source: Path | None = None,
    text: str | None = None,
    user: str | None = None,
) -> TrashEntry:
    """Move `source` (or write `text`) into the trash with its sidecar, never replacing
    anything there; the sidecar is written first, so a kept file always says its origin."""
    folder = trash_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for number in count(1):
        stem = f"{stamp}-{label}" + (f"-{number}" if number > 1 else "")
        if not (folder / f"{stem}.toml").exists() and not (folder / f"{stem}.json").exists():
            break
    who = _user(user)
    entry = TrashEntry(stem, kind, target, original, now, who, folder / f"{stem}.toml")
    meta = {
        "kind": kind,
        "target": target,
        "original": original,
        "deleted_at": now.isoformat(),
        "deleted_by": who,
    }
    write_new(entry.sidecar, json.dumps(meta, indent=2) + "\n")
    try:
        if source is not None:
            move_new(source, entry.path)
        else:
            write_new(entry.path, text or "")
    except BaseException:
        entry.sidecar.unlink(missing_ok=True)
        raise
    return entry


def dependants(catalogue: Catalogue, entry: TaskEntry) -> list[str]:
    """Tasks of the same project whose `needs` name this one."""
    return sorted(
        other.key
        for other in catalogue.project_tasks(entry.project)
        if other.key != entry.key and other.spec and entry.name in other.spec.needs
    )


def delete_task(
    root: Path,
    key: str,
    *,
    user: str | None = None,
    store: Store | None = None,
    force: bool = False,
) -> TrashEntry:
    """Move a task file to the trash. Tasks that need it raise InUse unless `force`
    (their `needs` would then name a missing task). Runs stay in the history."""
    catalogue = load_workspace(root)
    try:
        entry = catalogue.task(key)
    except KeyError as exc:
        raise NotFound(exc.args[0]) from None
    users = dependants(catalogue, entry)
    if users and not force:
        raise InUse(f"task {entry.key}", users, verb="needed")
    if not entry.path.exists():
        raise NotFound(f"{entry.rel} does not exist any more")
    trashed = into_trash(
        root,
        "task",
        entry.key,
        entry.rel,
        f"{entry.project}-{entry.name}",
        source=entry.path,
        user=user,
    )
    audit(store, "delete", entry.key, {"file": entry.rel, "trash": trashed.id}, user)
    return trashed


def list_trash(root: Path) -> list[TrashEntry]:
    """Everything in the trash, newest first."""
    folder = trash_dir(root)
    if not folder.is_dir():
        return []
    found = [_entry(path) for path in folder.glob("*.toml")]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda e: (e.deleted_at or oldest, e.id), reverse=True)


def _entry(path: Path) -> TrashEntry:
    meta: dict[str, Any] = {}
    try:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    try:
        deleted_at: datetime | None = datetime.fromisoformat(str(meta["deleted_at"]))
    except (KeyError, ValueError):
        deleted_at = None
    return TrashEntry(
        id=path.stem,
        kind=str(meta.get("kind", "unknown")),
        target=str(meta.get("target", path.stem)),
        original=str(meta.get("original", "")),
        deleted_at=deleted_at,
        deleted_by=str(meta.get("deleted_by", "")),
        path=path,
    )


def restore(
    root: Path,
    entry: TrashEntry | str,
    *,
    user: str | None = None,
    store: Store | None = None,
) -> SaveResult:
    """Put a deleted definition back where it was. Refused (KeyTaken) when that place is
    taken again; the restored file is as it was, so `problems` may hold errors."""
    if isinstance(entry, str):
        matches = [e for e in list_trash(root) if e.id == entry]
        if not matches:
            raise NotFound(f"nothing called {entry!r} in the trash")
        entry = matches[0]
    if not entry.path.exists():
        raise NotFound(f"{entry.id} is not in the trash any more")
    if entry.kind == "task":
        result = _restore_task(root, entry)
    elif entry.kind == "connection":
        result = _restore_connection(root, entry)
    else:
        raise EditError(
            f"{entry.id}: its sidecar is missing, so its origin is unknown; "
            f"copy {entry.path} back by hand"
        )
    entry.sidecar.unlink(missing_ok=True)
    target = result.target if entry.kind == "task" else f"connection:{result.target}"
    audit(store, "restore", target, {"file": result.rel, "trash": entry.id}, user)
    return result


def _restore_task(root: Path, entry: TrashEntry) -> SaveResult:
    target = root / entry.original
    catalogue = load_workspace(root)
    if entry.target in catalogue.tasks or target.exists():
        where = (
            catalogue.tasks[entry.target].rel if entry.target in catalogue.tasks else entry.original
        )
        raise KeyTaken(
            f"cannot restore {entry.target}: {where} exists again; rename or delete it first"
        )
    try:
        move_new(entry.path, target)
    except FileExistsError:
        raise KeyTaken(f"cannot restore {entry.target}: {entry.original} exists again") from None
    text, digest = read_text(target, root)
    reloaded = load_workspace(root).tasks.get(entry.target)
    problems = list(reloaded.problems) if reloaded else []
    return SaveResult(
        entry.target, target, rel_path(target, root), digest, True, True, text or "", problems
    )


def _restore_connection(root: Path, entry: TrashEntry) -> SaveResult:
    path = root / CONNECTIONS_FILE
    base, _ = read_text(path, root)
    current = tomllib.loads(base or "")
    if entry.target in current:
        raise KeyTaken(
            f"cannot restore connection {entry.target}: {CONNECTIONS_FILE} defines it again; "
            "rename or delete it first"
        )
    kept = entry.path.read_text(encoding="utf-8")
    table = tomllib.loads(kept)[entry.target]
    text = (base.rstrip("\n") + "\n\n" if base and base.strip() else "") + kept
    if tomllib.loads(text) != {**current, entry.target: table}:  # not one block: merge
        document = tomlkit.parse(base or "")
        document.append(entry.target, tomlkit.parse(kept)[entry.target])
        text = tomlkit.dumps(document).rstrip("\n") + "\n"
    if base is None:
        write_new(path, text)
    else:
        write_atomic(path, text)
    entry.path.unlink()
    catalogue = load_workspace(root)
    problems = catalogue.broken_connections.get(entry.target, [])
    digest = table_digest(tomllib.loads(text).get(entry.target))
    return SaveResult(
        entry.target, path, CONNECTIONS_FILE, digest, True, True, text, list(problems)
    )
