"""Reloading definitions in a running daemon without losing schedules to a typo.

The daemon keeps a merged catalogue: a task, project or connection whose file is broken
now but was valid before keeps its last good version (and so its schedules) until the
file is fixed; the problem is reported once, not on every reload.
"""

from __future__ import annotations

import ctypes
import gc
from dataclasses import dataclass, field, replace

from duftui.definitions.loader import CONNECTIONS_FILE, Catalogue
from duftui.definitions.problems import Problem


@dataclass
class Merged:
    catalogue: Catalogue
    kept: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def merge(previous: Catalogue | None, fresh: Catalogue) -> Merged:
    """`fresh`, with the last good version of whatever `previous` had and `fresh` broke."""
    out = Merged(fresh)
    if previous is None:
        return out
    for key, entry in list(fresh.tasks.items()):
        old = previous.tasks.get(key)
        if entry.broken and old is not None and not old.broken:
            fresh.tasks[key] = old
            out.kept.append(
                f"{entry.rel}: keeping the last good version of {key} "
                "(its schedules stay active) until the file is fixed"
            )
    for key, project in list(fresh.projects.items()):
        old_project = previous.projects.get(key)
        project_broken = any(p.is_error for p in project.problems)
        if (
            project_broken
            and old_project is not None
            and not any(p.is_error for p in old_project.problems)
        ):
            fresh.projects[key] = replace(project, spec=old_project.spec, digest=old_project.digest)
            out.kept.append(
                f"{project.rel}/project.toml: keeping the last good version of "
                f"project {key} until the file is fixed"
            )
    unreadable = any(
        p.is_error and p.file == CONNECTIONS_FILE and p.field == "" for p in fresh.problems
    )
    for name, connection in previous.connections.items():
        if name in fresh.connections:
            continue
        if unreadable or name in fresh.broken_connections:
            fresh.connections[name] = connection
            fresh.broken_connections.pop(name, None)
            out.kept.append(
                f"{CONNECTIONS_FILE}: keeping the last good version of "
                f"connection {name} until the file is fixed"
            )
    return out


def new_problems(previous: list[Problem] | None, fresh: list[Problem]) -> list[Problem]:
    """Errors not reported by the last load (so a broken file is reported once)."""
    seen = {str(p) for p in previous or []}
    return [p for p in fresh if p.is_error and str(p) not in seen]


def settle_memory() -> None:
    """After loading definitions: collect once, then freeze what survives so later
    collections never walk the catalogue again (idle CPU), and hand freed heap back to
    the OS where glibc allows it (RSS)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
