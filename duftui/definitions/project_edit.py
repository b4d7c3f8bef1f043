"""The project form's operations: open, validate and save `project.toml` (name,
description, owner, sequence_tasks, params, schedules), with the task form's rules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from duftui.definitions.common import check_key
from duftui.definitions.edit_base import (
    ABSENT,
    Draft,
    NotFound,
    SaveResult,
    ValidationFailed,
    read_text,
)
from duftui.definitions.edit_plan import FormData, Plan, commit, draft, plan_text
from duftui.definitions.loader import PROJECT_FILE, TASKS_DIR, Catalogue, load_workspace
from duftui.definitions.models import Project
from duftui.definitions.parsing import rel_path
from duftui.definitions.problems import Problem, suggest

if TYPE_CHECKING:
    from duftui.store.db import Store


def open_project(catalogue: Catalogue, project: str) -> Draft:
    """project.toml as form data; a project without the file opens empty (digest ABSENT)."""
    entry = catalogue.projects.get(project)
    if entry is None:
        raise NotFound(f"no project {project!r}" + suggest(project, list(catalogue.projects)))
    return draft(
        project,
        entry.path / PROJECT_FILE,
        catalogue,
        lambda data: _plan_project(catalogue, project, data, new=False).problems,
    )


def validate_project(
    catalogue: Catalogue, project: str, data: FormData, *, new: bool | None = None
) -> list[Problem]:
    """Every problem `duftui validate` would report for this project.toml once saved."""
    if new is None:
        new = project not in catalogue.projects
    try:
        return _plan_project(catalogue, project, data, new=new).problems
    except ValidationFailed as failed:  # the file on disk cannot be read as text
        return failed.problems


def save_project(
    root: Path,
    project: str,
    data: FormData,
    *,
    opened_digest: str | None,
    user: str | None = None,
    store: Store | None = None,
    overwrite: bool = False,
) -> SaveResult:
    """Write project.toml (name, description, owner, sequence_tasks, params, schedules).
    `opened_digest=None` creates a new project folder; same rules as `save_task`."""
    catalogue = load_workspace(root)
    new = opened_digest is None
    plan = _plan_project(catalogue, project, data, new=new)
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


def _plan_project(catalogue: Catalogue, project: str, data: FormData, *, new: bool) -> Plan:
    root = catalogue.root
    folder = root / TASKS_DIR / project
    path = folder / PROJECT_FILE
    rel = rel_path(path, root)
    problems: list[Problem] = []
    base, digest = None, ABSENT
    if new:
        try:
            check_key(project, "project key")
            if project in catalogue.projects or folder.exists():
                problems.append(
                    Problem(
                        rel,
                        None,
                        "key",
                        f"project {project!r} exists already "
                        f"({rel_path(folder, root)}); choose another key",
                    )
                )
        except ValueError as exc:
            problems.append(Problem(rel, None, "key", str(exc)))
    elif project not in catalogue.projects:
        raise NotFound(f"no project {project!r}")
    else:
        base, digest = read_text(path, root)
    plan = plan_text(catalogue, project, path, base, data, Project)
    plan.digest = digest
    plan.problems = problems + sorted(plan.problems, key=lambda p: (p.line or 0, p.field))
    return plan
