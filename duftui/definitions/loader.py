"""Load a workspace into a Catalogue, reporting every problem with its file and line.

One broken file never hides the others: each file is parsed and validated on its own,
cross-file checks (connections, needs, scripts) run afterwards, and a task that fails
any check is kept as a broken entry that carries its problems.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from duftui.definitions.common import CONNECTION_NAME_PATTERN, KEY_PATTERN
from duftui.definitions.connections import (
    CONNECTION_TYPES,
    Connection,
    literal_secrets,
)
from duftui.definitions.graph import find_cycles
from duftui.definitions.locate import TomlLocator, split_toml_error
from duftui.definitions.models import Project, Task
from duftui.definitions.problems import Problem, field_name, problems_from_validation, suggest

TASKS_DIR = "tasks"
CONNECTIONS_FILE = "connections.toml"
PROJECT_FILE = "project.toml"
# Folders inside a project that hold task code or data, never task definitions.
NON_TASK_DIRS = {"scripts", "data", "sql", "notebooks", "__pycache__"}


@dataclass
class ParsedFile:
    """A TOML file read from disk: its text, data (None if unreadable) and locator."""

    path: Path
    rel: str
    text: str = ""
    data: dict[str, Any] | None = None
    locator: TomlLocator | None = None
    digest: str = ""
    problems: list[Problem] = field(default_factory=list)


@dataclass
class TaskEntry:
    """One task file: its definition when it validated, and its problems."""

    key: str
    project: str
    name: str
    path: Path
    rel: str
    folder: Path
    spec: Task | None
    digest: str
    problems: list[Problem] = field(default_factory=list)
    locator: TomlLocator | None = field(default=None, repr=False)

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
        raise KeyError(f"no task {key!r}" + suggest(key, list(self.tasks)))

    def project_tasks(self, project: str) -> list[TaskEntry]:
        entry = self.projects.get(project)
        return [self.tasks[k] for k in entry.tasks] if entry else []


def read_toml(path: Path, root: Path) -> ParsedFile:
    """Read and parse one TOML file; syntax errors become located problems."""
    rel = _rel(path, root)
    parsed = ParsedFile(path=path, rel=rel)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        parsed.problems.append(Problem(rel, None, "", f"cannot read file: {exc.strerror}"))
        return parsed
    parsed.digest = hashlib.sha256(raw).hexdigest()
    try:
        parsed.text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        parsed.problems.append(Problem(rel, line, "", "file is not valid UTF-8"))
        return parsed
    try:
        parsed.data = tomllib.loads(parsed.text)
    except tomllib.TOMLDecodeError as exc:
        line, message = split_toml_error(str(exc), parsed.text)
        parsed.problems.append(Problem(rel, line, "", f"invalid TOML: {message}"))
        return parsed
    parsed.locator = TomlLocator(parsed.text)
    return parsed


def validate_model(
    model: type[BaseModel], parsed: ParsedFile, prefix: tuple[str | int, ...] = ()
) -> Any:
    """Validate parsed data against a model; problems go onto `parsed`."""
    data = parsed.data
    for part in prefix:
        data = data[part]  # type: ignore[index]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parsed.problems.extend(
            problems_from_validation(exc, model, data, parsed.rel, parsed.locator, prefix)
        )
        return None


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


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


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
                    f"expected one of {', '.join(CONNECTION_TYPES)}, got {table['type']!r}"
                    + suggest(str(table["type"]), list(CONNECTION_TYPES)).split(" (")[0],
                )
            )
        else:
            connection = validate_model(CONNECTION_TYPES[table["type"]], parsed, (name,))
            if connection is not None:
                for path_in, field in literal_secrets(connection):
                    full = (name, *path_in)
                    where = parsed.locator.line_of(full) if parsed.locator else line
                    secret_name = f"{name.lower()}.{field}"
                    parsed.problems.append(
                        Problem(
                            parsed.rel,
                            where,
                            field_name(full),
                            "a secret must not be written in connections.toml (it is under "
                            f'version control); use {{ secret = "{secret_name}" }} and run '
                            f'`duftui secret set {secret_name}`, or {{ env = "VAR" }}',
                        )
                    )
                if len(parsed.problems) == start:
                    catalogue.connections[name] = connection
        if len(parsed.problems) > start:
            catalogue.broken_connections[name] = parsed.problems[start:]
    catalogue.problems.extend(parsed.problems)
    return True


def _load_project(catalogue: Catalogue, folder: Path) -> None:
    key = folder.name
    rel = _rel(folder, catalogue.root)
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
                "digits, '-' and '_'",
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
    rel = _rel(path, catalogue.root)
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
                f"duplicate task key {name!r}: also defined in {seen[name]}; "
                "task keys must be unique within a project",
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
        path=path,
        rel=rel,
        folder=project.path,
        spec=spec,
        digest=parsed.digest,
        problems=parsed.problems,
        locator=parsed.locator,
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
        locator = entry.locator

        def add(
            path: tuple[str | int, ...],
            message: str,
            entry: TaskEntry = entry,
            locator: TomlLocator | None = locator,
        ) -> None:
            line = locator.line_of(path) if locator else None
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
        for where, rel_path in spec.files_used():
            target = (project.path / rel_path).resolve()
            if not target.is_file():
                shown = _rel(target, catalogue.root)
                add(where, f"file not found: {shown} (paths are relative to {project.rel}/)")
        for index, parent in enumerate(spec.needs):
            if parent == entry.name:
                add(("needs", index), "a task cannot need itself")
            elif parent not in entries:
                add(
                    ("needs", index),
                    f"no task {parent!r} in project {project.key!r}"
                    + suggest(parent, [n for n in entries if n != entry.name]),
                )
    graph = {name: e.spec.needs if e.spec else [] for name, e in entries.items()}
    for cycle in find_cycles(graph):
        text = " → ".join(cycle)
        for name in set(cycle):
            entry = entries[name]
            line = entry.locator.line_of(("needs",)) if entry.locator else None
            entry.problems.append(Problem(entry.rel, line, "needs", f"dependency cycle: {text}"))
    for entry in entries.values():
        catalogue.problems.extend(entry.problems)


def _check_connection(catalogue: Catalogue, path: tuple[str | int, ...], name: str, add) -> None:
    if name in catalogue.connections or name in catalogue.broken_connections:
        return
    known = list(catalogue.connections) + list(catalogue.broken_connections)
    add(
        path,
        f"unknown connection {name!r}"
        + (suggest(name, known) if known else f" ({CONNECTIONS_FILE} defines none)"),
    )
