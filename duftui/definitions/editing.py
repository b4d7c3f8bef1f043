"""What the console's task and project forms do (issue 7): validate, save, reschedule,
duplicate; connections and the trash are in sibling modules, re-exported here.

Validation runs the exact text a save would write through the loader's own steps (TOML,
the model, the run-kind requirements, then the cross-file checks on connections, script
files, `needs` and cycles against the project's other tasks), so a form shows the
messages and lines `duftui validate` would print once the file is saved. An existing
file is rewritten with `update_document`, which keeps the user's comments and key order;
a new one is rendered the way the examples are written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

from duftui.definitions import loader
from duftui.definitions.common import check_key
from duftui.definitions.connection_edit import (
    delete_connection,
    open_connection,
    save_connection,
    validate_connection,
)
from duftui.definitions.edit_base import (
    ABSENT,
    Draft,
    EditError,
    FileChanged,
    InUse,
    KeyTaken,
    NotFound,
    SaveResult,
    ValidationFailed,
    problems_under,
    read_text,
)
from duftui.definitions.edit_plan import FormData, Plan, commit, draft, plan_text
from duftui.definitions.loader import (
    CONNECTIONS_FILE,
    TASKS_DIR,
    Catalogue,
    ProjectEntry,
    TaskEntry,
    broken_project_problem,
    load_workspace,
)
from duftui.definitions.models import Task
from duftui.definitions.parsing import rel_path
from duftui.definitions.problems import Problem, field_name, suggest
from duftui.definitions.project_edit import open_project, save_project, validate_project
from duftui.definitions.trash import TrashEntry, delete_task, list_trash, restore

if TYPE_CHECKING:
    from duftui.store.db import Store

__all__ = [
    "ABSENT",
    "Draft",
    "EditError",
    "FileChanged",
    "InUse",
    "KeyTaken",
    "NotFound",
    "SaveResult",
    "TrashEntry",
    "ValidationFailed",
    "delete_connection",
    "delete_task",
    "duplicate_task",
    "list_trash",
    "open_connection",
    "open_project",
    "open_task",
    "problems_under",
    "reschedule_task",
    "restore",
    "save_connection",
    "save_project",
    "save_task",
    "validate_connection",
    "validate_project",
    "validate_task",
]


# -- tasks ----------------------------------------------------------------------------


def open_task(catalogue: Catalogue, key: str) -> Draft:
    """The task file as form data, with the digest to pass back to `save_task`."""
    entry = _task_entry(catalogue, key)

    def check(data: FormData) -> list[Problem]:
        return _plan_task(catalogue, entry.project, entry.name, data, new=False).problems

    return draft(entry.key, entry.path, catalogue, check)


def validate_task(
    catalogue: Catalogue, project: str, key: str, data: FormData, *, new: bool | None = None
) -> list[Problem]:
    """Every problem `duftui validate` would report for this task once saved.

    `new=True` for a task being created (a taken key is then a problem on "key"); by
    default a key the catalogue knows is an edit of that task.
    """
    if new is None:
        new = f"{project}/{key}" not in catalogue.tasks
    try:
        return _plan_task(catalogue, project, key, data, new=new).problems
    except ValidationFailed as failed:  # the file on disk cannot be read as text
        return failed.problems


def save_task(
    root: Path,
    project: str,
    key: str,
    data: FormData,
    *,
    opened_digest: str | None,
    user: str | None = None,
    store: Store | None = None,
    overwrite: bool = False,
) -> SaveResult:
    """Write a task from form data. `opened_digest=None` creates a new task (the key must
    be valid and free); otherwise it is the digest from `open_task`, and a file changed
    since then raises FileChanged unless `overwrite`. Errors raise ValidationFailed."""
    catalogue = load_workspace(root)
    new = opened_digest is None
    plan = _plan_task(catalogue, project, key, data, new=new)
    return commit(
        plan,
        new=new,
        opened=opened_digest,
        overwrite=overwrite,
        user=user,
        store=store,
        action="new" if new else "edit",
        detail={},
    )


def reschedule_task(
    root: Path,
    key: str,
    schedules: list[dict[str, Any]],
    enabled: bool,
    *,
    opened_digest: str | None = None,
    user: str | None = None,
    store: Store | None = None,
    overwrite: bool = False,
) -> SaveResult:
    """The short form: replace the task's `[[schedule]]` list and its `enabled` flag,
    leaving the rest of the file as it is. `opened_digest=None` skips the conflict check."""

    def edit(data: FormData) -> FormData:
        if schedules:
            data["schedule"] = schedules
        else:
            data.pop("schedule", None)
        if not enabled or "enabled" in data:
            data["enabled"] = enabled
        return data

    catalogue = load_workspace(root)
    entry = _task_entry(catalogue, key)
    plan = _plan_task(catalogue, entry.project, entry.name, edit, new=False)
    return commit(
        plan,
        new=False,
        opened=opened_digest,
        overwrite=overwrite,
        user=user,
        store=store,
        action="reschedule",
        detail={"schedules": len(schedules), "enabled": enabled},
    )


def duplicate_task(
    root: Path,
    key: str,
    new_key: str | None = None,
    *,
    user: str | None = None,
    store: Store | None = None,
) -> SaveResult:
    """Copy a task under a new key (default `<key>-copy`, `-copy-2`, …) in the same
    folder, disabled and named "<name> (copy)", comments and all."""
    catalogue = load_workspace(root)
    entry = _task_entry(catalogue, key)
    base, _ = read_text(entry.path, catalogue.root)
    if base is None:
        raise NotFound(f"{entry.rel} does not exist any more")
    name = new_key or _free_key(catalogue, entry)
    path = entry.path.parent / f"{name}.toml"

    def edit(data: FormData) -> FormData:
        data["name"] = f"{data.get('name') or entry.name} (copy)"
        data["enabled"] = False
        return data

    plan = _plan_task(catalogue, entry.project, name, edit, new=True, path=path, base=base)
    return commit(
        plan,
        new=True,
        opened=None,
        overwrite=False,
        user=user,
        store=store,
        action="duplicate",
        detail={"from": entry.key},
    )


def _free_key(catalogue: Catalogue, entry: TaskEntry) -> str:
    for number in count(1):
        candidate = f"{entry.name}-copy" + (f"-{number}" if number > 1 else "")
        taken = f"{entry.project}/{candidate}" in catalogue.tasks or any(
            (folder / f"{candidate}.toml").exists() for folder in (entry.path.parent, entry.folder)
        )
        if not taken:
            return candidate
    raise AssertionError("unreachable")


def _task_entry(catalogue: Catalogue, key: str) -> TaskEntry:
    try:
        return catalogue.task(key)
    except KeyError as exc:
        raise NotFound(exc.args[0]) from None


def _plan_task(
    catalogue: Catalogue,
    project: str,
    name: str,
    data: FormData | Callable[[FormData], FormData],
    *,
    new: bool,
    path: Path | None = None,
    base: str | None = None,
) -> Plan:
    """The text to write for a task and its problems. `data` may be a function that edits
    the file's current data (reschedule, duplicate), so nothing is read twice."""
    root = catalogue.root
    key = f"{project}/{name}"
    project_entry = catalogue.projects.get(project)
    folder = project_entry.path if project_entry else root / TASKS_DIR / project
    problems: list[Problem] = []
    if new:
        path = path or folder / f"{name}.toml"
        rel = rel_path(path, root)
        digest = ABSENT
        if project_entry is None:
            problems.append(
                Problem(
                    rel,
                    None,
                    "project",
                    f"no project {project!r}" + suggest(project, list(catalogue.projects)),
                )
            )
        problems.extend(_key_problems(catalogue, project, name, rel, folder, path))
    else:
        entry = catalogue.tasks.get(key)
        # A task gone since its form opened is saved (with overwrite) where it was.
        path = entry.path if entry else path or folder / f"{name}.toml"
        rel = rel_path(path, root)
        base, digest = read_text(path, root)
    plan = plan_text(catalogue, key, path, base, data, Task)
    plan.digest = digest
    if isinstance(plan.spec, Task):
        for where, message in plan.spec.requirement_problems():
            _add_located(plan, where, message)
    if project_entry is not None:
        plan.problems = _cross_checks(catalogue, project_entry, name, plan)
        inherited = broken_project_problem(project_entry, rel)
        if inherited is not None:
            plan.problems.append(inherited)
    plan.problems = problems + sorted(plan.problems, key=lambda p: (p.line or 0, p.field))
    return plan


def _key_problems(
    catalogue: Catalogue, project: str, name: str, rel: str, folder: Path, path: Path
) -> list[Problem]:
    try:
        check_key(name, "task key")
    except ValueError as exc:
        return [Problem(rel, None, "key", str(exc))]
    entry = catalogue.tasks.get(f"{project}/{name}")
    if entry is not None or path.exists() or (folder / f"{name}.toml").exists():
        where = entry.rel if entry else rel
        return [Problem(rel, None, "key", f"task key {name!r} is taken ({where}); choose another")]
    return []


def _add_located(plan: Plan, where: tuple[str | int, ...], message: str) -> None:
    locator = plan.parsed.locator
    line = locator.line_of(where) if locator else None
    plan.problems.append(Problem(plan.rel, line, field_name(where), message))


def _cross_checks(
    catalogue: Catalogue, project: ProjectEntry, name: str, plan: Plan
) -> list[Problem]:
    """The loader's cross-file checks, run on a copy of the project holding this version of
    the task, so its messages (unknown connection, missing script, needs, cycles) match."""
    parsed = plan.parsed
    key = f"{project.key}/{name}"
    entry = TaskEntry(
        key=key,
        project=project.key,
        name=name,
        file=str(plan.path),
        rel=plan.rel,
        folder=project.path,
        spec=plan.spec if isinstance(plan.spec, Task) else None,
        digest=parsed.digest,
        problems=list(plan.problems),
        draft=parsed.text,
    )
    siblings = [k for k in project.tasks if k != key]
    tasks = {k: replace(catalogue.tasks[k], problems=[]) for k in siblings}
    tasks[key] = entry
    shadow_project = replace(project, tasks=[*siblings, key], problems=[])
    shadow = Catalogue(
        root=catalogue.root,
        connections=catalogue.connections,
        broken_connections=catalogue.broken_connections,
        projects={project.key: shadow_project},
        tasks=tasks,
    )
    loader._check_project_tasks(shadow, shadow_project, _connections_readable(catalogue))
    return entry.problems


def _connections_readable(catalogue: Catalogue) -> bool:
    """As the loader decides: connection checks are skipped when connections.toml itself
    could not be read (its own error is reported instead)."""
    unreadable = any(p.file == CONNECTIONS_FILE for p in catalogue.problems) and not (
        catalogue.connections or catalogue.broken_connections
    )
    return not unreadable
