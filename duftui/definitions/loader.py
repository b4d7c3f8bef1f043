"""Load a workspace into a Catalogue, reporting every problem with its file and line.

One broken file never hides the others: each file is parsed and validated on its own,
cross-file checks (connections, needs, scripts) run afterwards, and a task that fails
any check is kept as a broken entry that carries its problems.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from duftui.definitions.common import CONNECTION_NAME_PATTERN, KEY_PATTERN
from duftui.definitions.connections import (
    CONNECTION_TYPES,
    Connection,
    literal_secrets,
)
from duftui.definitions.graph import find_cycles
from duftui.definitions.locate import TomlLocator
from duftui.definitions.models import Project, Task
from duftui.definitions.parsing import ParsedFile, read_toml, rel_path, validate_model
from duftui.definitions.problems import Problem, field_name, show, suggest
from duftui.envs.check import environment_problems

__all__ = [
    "Catalogue",
    "ParsedFile",
    "ProjectEntry",
    "TaskEntry",
    "load_workspace",
    "read_toml",
    "validate_model",
]

TASKS_DIR = "tasks"
CONNECTIONS_FILE = "connections.toml"
PROJECT_FILE = "project.toml"
# Folders inside a project that hold task code or data, never task definitions.
NON_TASK_DIRS = {"scripts", "data", "sql", "notebooks", "__pycache__"}


@dataclass(slots=True)
class TaskEntry:
    """One task file: its definition when it validated, and its problems."""

    key: str
    project: str
    name: str
    file: str  # the file's absolute path as text: 10,000 Path objects cost megabytes
    rel: str
    folder: Path
    spec: Task | None
    digest: str
    problems: list[Problem] = field(default_factory=list)
    draft: str | None = field(default=None, repr=False)  # unsaved text the editor checks

    @property
    def path(self) -> Path:
        return Path(self.file)

    def line_of(self, where: tuple[str | int, ...]) -> int | None:
        """The line of `where` in the file, read again: cross-file checks rarely find a
        problem, so a catalogue does not keep every file's locator (a large part of a big
        workspace's memory) just in case."""
        try:
            text = self.draft if self.draft is not None else self.path.read_text("utf-8")
            return TomlLocator(text).line_of(where)
        except (OSError, UnicodeDecodeError):
            return None

    @property
    def broken(self) -> bool:
        return self.spec is None or any(p.is_error for p in self.problems)

    @property
    def title(self) -> str:
        return self.spec.name if self.spec else self.name


@dataclass
class ProjectEntry:
    """One project folder and its `project.toml` (defaults when the file is absent)."""

    key: str
    path: Path
    rel: str
    spec: Project
    digest: str = ""
    problems: list[Problem] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.spec.name or self.key


@dataclass
class Catalogue:
    """Everything the workspace defines, plus every problem found while loading it."""

    root: Path
    connections: dict[str, Connection] = field(default_factory=dict)
    broken_connections: dict[str, list[Problem]] = field(default_factory=dict)
    projects: dict[str, ProjectEntry] = field(default_factory=dict)
    tasks: dict[str, TaskEntry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def task(self, key: str) -> TaskEntry:
        """Look a task up by `project/task` (or by a unique bare task key)."""
        if key in self.tasks:
            return self.tasks[key]
        matches = [entry for entry in self.tasks.values() if entry.name == key]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            options = ", ".join(sorted(m.key for m in matches))
            raise KeyError(f"task {key!r} is ambiguous: {options}")
        raise KeyError(f"no task {key!r}" + self._suggest_key(key))

    def _suggest_key(self, key: str) -> str:
        """Close full keys first; else a close bare key ("helo" -> "demo/hello")."""
        close = difflib.get_close_matches(key, list(self.tasks), n=1)
        if not close:
            names: dict[str, list[str]] = {}
            for entry in self.tasks.values():
                names.setdefault(entry.name, []).append(entry.key)
            unique = {name: keys[0] for name, keys in names.items() if len(keys) == 1}
            close = [unique[name] for name in difflib.get_close_matches(key, list(unique), n=1)]
        if close:
            return f"; did you mean {close[0]!r}?"
        return suggest(key, list(self.tasks))

    def project_tasks(self, project: str) -> list[TaskEntry]:
        entry = self.projects.get(project)
        return [self.tasks[k] for k in entry.tasks] if entry else []


def load_workspace(root: Path) -> Catalogue:
    """Read `connections.toml` and every project under `tasks/`."""
    root = root.resolve()
    catalogue = Catalogue(root=root)
    connections_ok = _load_connections(catalogue)
    tasks_dir = root / TASKS_DIR
    if tasks_dir.is_dir():
        for folder in sorted(p for p in tasks_dir.iterdir() if p.is_dir()):
            if folder.name.startswith((".", "_")):
                continue
            _load_project(catalogue, folder)
    for project in catalogue.projects.values():
        _check_project_tasks(catalogue, project, connections_ok)
    catalogue.problems.sort(key=lambda p: (p.file, p.line or 0, p.field))
    return catalogue


def _load_connections(catalogue: Catalogue) -> bool:
    path = catalogue.root / CONNECTIONS_FILE
    if not path.exists():
        return True
    parsed = read_toml(path, catalogue.root)
    if parsed.data is None:
        catalogue.problems.extend(parsed.problems)
        return False
    for name, table in parsed.data.items():
        start = len(parsed.problems)
        line = parsed.locator.line_of((name,)) if parsed.locator else None
        if not CONNECTION_NAME_PATTERN.fullmatch(name):
            parsed.problems.append(
                Problem(
                    parsed.rel,
                    line,
                    name,
                    "connection name is not valid: use letters, digits, '.', '-' and '_'",
                )
            )
        elif not isinstance(table, dict):
            parsed.problems.append(
                Problem(parsed.rel, line, name, f'expected a table like [{name}] with type = "…"')
            )
        elif "type" not in table:
            parsed.problems.append(
                Problem(
                    parsed.rel,
                    line,
                    name,
                    f"connection needs a type: one of {', '.join(CONNECTION_TYPES)}",
                )
            )
        elif table["type"] not in CONNECTION_TYPES:
            type_line = parsed.locator.line_of((name, "type")) if parsed.locator else line
            parsed.problems.append(
                Problem(
                    parsed.rel,
                    type_line,
                    f"{name}.type",
                    f"expected one of {', '.join(CONNECTION_TYPES)}, got {show(table['type'])}"
                    + suggest(str(table["type"]), list(CONNECTION_TYPES)).split(" (")[0],
                )
            )
        else:
            connection = validate_model(CONNECTION_TYPES[table["type"]], parsed, (name,))
            if connection is not None:
                for path_in, field in literal_secrets(connection):
                    full = (name, *path_in)
                    where = parsed.locator.line_of(full) if parsed.locator else line
                    parsed.problems.append(
                        Problem(
                            parsed.rel,
                            where,
                            field_name(full),
                            _literal_secret(name, field, path_in),
                        )
                    )
                if len(parsed.problems) == start:
                    catalogue.connections[name] = connection
        if len(parsed.problems) > start:
            catalogue.broken_connections[name] = parsed.problems[start:]
    catalogue.problems.extend(parsed.problems)
    return True


def _literal_secret(connection: str, field: str, path: tuple[str, ...]) -> str:
    """What to write instead of a credential found in connections.toml."""
    secret = f"{connection.lower()}.{field}"
    key = "password" if path == ("url",) else path[-1]
    problem = (
        "the URL holds a password; remove it from the URL and add"
        if path == ("url",)
        else "a secret must not be written in connections.toml (it is under version control); write"
    )
    return (
        f'{problem} {key} = {{ secret = "{secret}" }}, then run `duftui secret set {secret}` '
        '(or use { env = "VAR" })'
    )


def _load_project(catalogue: Catalogue, folder: Path) -> None:
    key = folder.name
    rel = rel_path(folder, catalogue.root)
    project_file = folder / PROJECT_FILE
    spec = Project()
    problems: list[Problem] = []
    digest = ""
    if not KEY_PATTERN.fullmatch(key):
        catalogue.problems.append(
            Problem(
                rel,
                None,
                "",
                f"project key {key!r} is not valid: rename the folder using lower-case letters, "
                "digits, '-' and '_'; its tasks are not loaded until then",
            )
        )
        return
    if project_file.exists():
        parsed = read_toml(project_file, catalogue.root)
        digest = parsed.digest
        if parsed.data is not None:
            validated = validate_model(Project, parsed)
            if validated is not None:
                spec = validated
        problems = parsed.problems
        catalogue.problems.extend(problems)
    project = ProjectEntry(
        key=key, path=folder, rel=rel, spec=spec, digest=digest, problems=problems
    )
    catalogue.projects[key] = project
    seen: dict[str, str] = {}
    for path in _task_files(folder):
        _load_task(catalogue, project, path, seen)
    for task_key in project.tasks:
        entry = catalogue.tasks[task_key]
        inherited = broken_project_problem(project, entry.rel)
        if inherited is not None:
            entry.problems.append(inherited)


def broken_project_problem(project: ProjectEntry, task_rel: str) -> Problem | None:
    """A task of a project whose `project.toml` has errors does not run: the params,
    schedules and limits it inherits are unknown, and defaults in their place would be
    wrong. The task stays listed, with this problem."""
    if not any(p.is_error for p in project.problems):
        return None
    return Problem(
        task_rel, None, "",
        f"{project.rel}/{PROJECT_FILE} has errors (see there); this task does not run until "
        "they are fixed, as the params, schedules and limits it inherits are unknown",
    )


def _task_files(folder: Path) -> list[Path]:
    """`*.toml` in the project folder and in grouping subfolders (not scripts/ and the like)."""
    found = [p for p in sorted(folder.glob("*.toml")) if p.name != PROJECT_FILE]
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if sub.name.startswith((".", "_")) or sub.name in NON_TASK_DIRS:
            continue
        found.extend(sorted(sub.rglob("*.toml")))
    return found


def _load_task(
    catalogue: Catalogue, project: ProjectEntry, path: Path, seen: dict[str, str]
) -> None:
    name = path.stem
    rel = rel_path(path, catalogue.root)
    if path.name == PROJECT_FILE:
        catalogue.problems.append(
            Problem(
                rel,
                None,
                "",
                f"project.toml is only read at the top of a project folder "
                f"({project.rel}/project.toml); move or rename this file",
            )
        )
        return
    if not KEY_PATTERN.fullmatch(name):
        catalogue.problems.append(
            Problem(
                rel,
                None,
                "",
                f"task key {name!r} is not valid: rename the file using lower-case letters, "
                "digits, '-' and '_' (e.g. "
                f"{_slug(name)}.toml)",
            )
        )
        return
    if name in seen:
        catalogue.problems.append(
            Problem(
                rel,
                None,
                "",
                f"duplicate task key {name!r}: also defined in {seen[name]}; rename one of "
                "them (task keys are unique within a project)",
            )
        )
        return
    seen[name] = rel
    parsed = read_toml(path, catalogue.root)
    spec = None
    if parsed.data is not None:
        spec = validate_model(Task, parsed)
        if spec is not None:
            for where, message in spec.requirement_problems():
                line = parsed.locator.line_of(where) if parsed.locator else None
                parsed.problems.append(Problem(rel, line, field_name(where), message))
    key = f"{project.key}/{name}"
    entry = TaskEntry(
        key=key,
        project=project.key,
        name=name,
        file=str(path),
        rel=rel,
        folder=project.path,
        spec=spec,
        digest=parsed.digest,
        problems=parsed.problems,
    )
    catalogue.tasks[key] = entry
    project.tasks.append(key)


def _slug(name: str) -> str:
    import re

    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")
    return slug or "task"


def _check_project_tasks(catalogue: Catalogue, project: ProjectEntry, connections_ok: bool) -> None:
    """Cross-file checks: connections, script files, needs and cycles."""
    entries = {catalogue.tasks[k].name: catalogue.tasks[k] for k in project.tasks}
    for entry in entries.values():
        spec = entry.spec
        if spec is None:
            continue

        def add(path: tuple[str | int, ...], message: str, entry: TaskEntry = entry) -> None:
            line = entry.line_of(path)
            entry.problems.append(Problem(entry.rel, line, field_name(path), message))

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
                add(where, f"file not found: {shown} (paths are relative to {project.rel}/)")
        for where, message in environment_problems(spec, project.path, catalogue.root):
            add(where, message)  # requirement files and lists parse (docs/environments.md)
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
