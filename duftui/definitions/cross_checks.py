"""The loader's cross-file checks of one project's tasks: connections, script files,
schedule params, needs and cycles. The editor runs them too, on a copy of the project
holding a draft, so a form shows the messages `duftui validate` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from duftui.definitions.graph import find_cycles
from duftui.definitions.parsing import rel_path
from duftui.definitions.problems import Problem, field_name, suggest
from duftui.definitions.reading import definition_file_problem
from duftui.definitions.schedules import Schedule
from duftui.envs.check import environment_problems

if TYPE_CHECKING:
    from duftui.definitions.loader import Catalogue, ProjectEntry, TaskEntry

CONNECTIONS_FILE = "connections.toml"


def unknown_schedule_params(
    schedules: list[Schedule], declared: set[str], owner: str
) -> list[tuple[tuple[str | int, ...], str]]:
    """Schedule params that name no declared parameter: a typo would silently be ignored."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    for index, schedule in enumerate(schedules):
        for name in schedule.params:
            if name not in declared:
                hint = suggest(name, sorted(declared)) if declared else (
                    f" (the {owner} declares no parameters)"
                )
                found.append(
                    (("schedule", index, "params", name), f"unknown parameter {name!r}" + hint)
                )
    return found


def check_project_tasks(
    catalogue: Catalogue, project: ProjectEntry, connections_ok: bool
) -> None:
    """Cross-file checks: connections, script files, needs and cycles."""
    entries = {catalogue.tasks[k].name: catalogue.tasks[k] for k in project.tasks}
    for entry in entries.values():
        spec = entry.spec
        if spec is None:
            continue

        def add(path: tuple[str | int, ...], message: str, entry: TaskEntry = entry) -> None:
            line = entry.line_of(path)
            entry.problems.append(Problem(entry.rel, line, field_name(path), message))

        if spec.retry.attempts is not None:
            path = ("retry", "attempts")
            entry.problems.append(Problem(
                entry.rel, entry.line_of(path), field_name(path),
                f"`attempts` is the old name of `retries` (extra attempts after the first): "
                f"write retries = {spec.retry.attempts}",
                severity="warning",
            ))
        if connections_ok:
            for index, name in enumerate(spec.run.connections):
                _check_connection(catalogue, ("run", "connections", index), name, add)
            if spec.source and spec.source.connection:
                _check_connection(catalogue, ("source", "connection"), spec.source.connection, add)
            for index, target in enumerate(spec.deliver):
                if target.connection:
                    _check_connection(
                        catalogue, ("deliver", index, "connection"), target.connection, add
                    )
            if spec.notify and (spec.notify.on_failure or spec.notify.on_success):
                _check_connection(catalogue, ("notify", "connection"), spec.notify.connection, add)
        for where, relative in spec.files_used():
            target = (project.path / relative).resolve()
            if not target.is_file():
                shown = rel_path(target, catalogue.root)
                odd = definition_file_problem(target) if target.exists() else None
                if odd is not None:
                    add(where, f"{shown}: {odd.replace('definitions are', 'scripts are')}")
                else:
                    add(where, f"file not found: {shown} (paths are relative to {project.rel}/)")
        for where, message in environment_problems(spec, project.path, catalogue.root):
            add(where, message)  # requirement files and lists parse (docs/environments.md)
        declared = set(spec.params) | set(project.spec.params)
        for where, message in unknown_schedule_params(spec.schedule, declared, "task"):
            add(where, message)
        for index, parent in enumerate(spec.needs):
            if parent == entry.name:
                add(("needs", index), "a task cannot need itself")
            elif parent not in entries:
                add(
                    ("needs", index),
                    f"no task {parent!r} in project {project.key!r}"
                    + suggest(parent, [n for n in entries if n != entry.name]),
                )
    # A self-need is reported above; it is not also a cycle.
    graph = {
        name: [p for p in e.spec.needs if p != name] if e.spec else []
        for name, e in entries.items()
    }
    for cycle in find_cycles(graph):
        text = " → ".join(cycle)
        for name in set(cycle):
            entry = entries[name]
            line = entry.line_of(("needs",))
            entry.problems.append(
                Problem(entry.rel, line, "needs", f"dependency cycle: {text} (each needs the next)")
            )
    for entry in entries.values():
        catalogue.problems.extend(entry.problems)


def _check_connection(catalogue: Catalogue, path: tuple[str | int, ...], name: str, add) -> None:
    if name in catalogue.connections:
        return
    if name in catalogue.broken_connections:
        first = catalogue.broken_connections[name][0]
        where = f"{first.file}:{first.line}" if first.line else first.file
        add(path, f"connection {name!r} cannot be used: it has errors (see {where})")
        return
    known = list(catalogue.connections) + list(catalogue.broken_connections)
    add(
        path,
        f"unknown connection {name!r}"
        + (suggest(name, known) if known else f" ({CONNECTIONS_FILE} defines none)"),
    )
