"""From a claimed run to what to execute: argv, working directory, environment, limits.

Task processes get (DESIGN §5.2) DUFTUI_RUN_ID, DUFTUI_TASK, DUFTUI_OUTPUT_DIR (fresh per
run), one variable per parameter, DUFTUI_PARAMS (JSON) and DUFTUI_CONNECTIONS (JSON of the
connections they declared, secrets resolved). Every secret value resolved here goes into
the run's Masker, which the supervisor applies to every line before it is stored or shown.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from duftui import locations
from duftui.compat.duft import SHIM_DIR, script_uses_duft
from duftui.definitions.common import SecretRef
from duftui.definitions.connections import (
    Connection,
    DuftConnection,
    SqliteConnection,
    secret_refs,
)
from duftui.definitions.loader import Catalogue, TaskEntry
from duftui.definitions.masking import USER_FIELDS
from duftui.definitions.models import Task
from duftui.definitions.schedules import schedule_key
from duftui.definitions.secrets import MASK, Masker, SecretError, SecretStore, resolve_ref
from duftui.engine.params import as_env_value, declared_params
from duftui.envs.build import EnvError, resolve
from duftui.envs.request import RequestError
from duftui.envs.support import RunEnvironment, entry_request

STEP_KINDS = ("notebook", "sql", "files", "ssh")


class QueuedRun(Protocol):
    """What starting a run needs of it: a claimed run (`engine.claim.Claimed`) or a
    stored `Run` row."""

    @property
    def id(self) -> int | None: ...
    @property
    def task_key(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def params(self) -> str: ...
    @property
    def schedule_key(self) -> str | None: ...
    @property
    def logical_time(self) -> datetime | None: ...
    @property
    def logical_tz(self) -> str | None: ...


class LaunchError(Exception):
    """The run cannot start (missing secret, bad definition); the message says why."""


@dataclass
class LaunchPlan:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    output_dir: Path
    masker: Masker
    timeout: float | None
    kill_grace: float
    params: dict[str, Any] = field(default_factory=dict)
    environment: str | None = None  # the task's own environment, for the run's log


def uses_step_runner(spec: Task) -> bool:
    """Runs that duftui's own step runner executes (pipelines, notebooks)."""
    return spec.run.kind in STEP_KINDS or any(
        (spec.processing, spec.output, spec.deliver, spec.notify)
    )


class Resolver:
    """Resolves secret references once per run and remembers every value for masking."""

    def __init__(self, secrets: SecretStore) -> None:
        self.secrets = secrets
        self.masker = Masker()

    def value(self, value: Any, where: str) -> Any:
        if isinstance(value, SecretRef):
            try:
                resolved = resolve_ref(value, self.secrets)
            except SecretError as exc:
                raise LaunchError(f"{where}: {exc}") from None
            self.masker.add([resolved])
            return resolved
        return value


def connection_values(
    name: str, connection: Connection, workspace: Path, resolver: Resolver
) -> dict[str, Any]:
    """A connection as the plain dict a task receives, secrets resolved."""
    if isinstance(connection, DuftConnection):
        values = {
            param: resolver.value(spec.value, f"connection {name}.{param}")
            for param, spec in connection.params.items()
        }
        _mask_with_users(values, connection, resolver)
        return values
    data = {}
    for key in type(connection).model_fields:
        if key == "description":
            continue
        data[key] = resolver.value(getattr(connection, key), f"connection {name}.{key}")
    if isinstance(connection, SqliteConnection):
        data["path"] = str((workspace / connection.path).resolve())
    _mask_with_users(data, connection, resolver)
    return data


def _mask_with_users(data: dict[str, Any], connection: Connection, resolver: Resolver) -> None:
    """Mask `user:password` (HTTP basic auth) with the connection's user names too."""
    users = [str(v) for k, v in data.items() if k.lower() in USER_FIELDS and v]
    if users:
        resolver.masker.add((str(data[f]) for f, _ in secret_refs(connection)
                             if data.get(f) is not None), users)


def run_params(catalogue: Catalogue, entry: TaskEntry, run: QueuedRun, resolver: Resolver) -> dict:
    """The stored parameters of a run, with secret ones resolved again from their refs."""
    stored: dict[str, Any] = json.loads(run.params or "{}")
    declared = declared_params(catalogue, entry)
    refs: dict[str, Any] = {name: p.default for name, (p, _) in declared.items()}
    refs.update(_schedule_params(catalogue, entry, run.schedule_key))
    values = {}
    for name, value in stored.items():
        if value == MASK and isinstance(refs.get(name), SecretRef):
            value = resolver.value(refs[name], f"parameter {name}")
        elif value == MASK:
            raise LaunchError(f"parameter {name}: its secret value is not available")
        values[name] = value
    for name, value in values.items():
        if name in declared and declared[name][0].secret and isinstance(value, str):
            resolver.masker.add([value])
    return values


def _schedule_params(catalogue: Catalogue, entry: TaskEntry, key: str | None) -> dict[str, Any]:
    if not key or entry.spec is None:
        return {}
    sources = [(entry.key, entry.spec.schedule)]
    project = catalogue.projects.get(entry.project)
    if project:
        sources.append((project.key, project.spec.schedule))
    for owner, schedules in sources:
        for index, schedule in enumerate(schedules):
            if schedule_key(owner, index, schedule) == key:
                return dict(schedule.params)
    return {}


def build_plan(
    catalogue: Catalogue,
    run: QueuedRun,
    secrets: SecretStore,
    base_env: dict[str, str] | None = None,
    *,
    creation_id: str,
) -> LaunchPlan:
    """Everything needed to start one claimed run; `creation_id` is the state file's
    (`Store.creation_id`), which keys the run's output folder."""
    entry = catalogue.tasks.get(run.task_key)
    if entry is None or entry.spec is None:
        raise LaunchError(f"task {run.task_key} is not defined")
    spec = entry.spec
    workspace = catalogue.root
    resolver = Resolver(secrets)
    params = run_params(catalogue, entry, run, resolver)
    connections = {}
    for name in spec.run.connections:
        connection = catalogue.connections.get(name)
        if connection is None:
            raise LaunchError(f"connection {name!r} is not defined or has errors")
        connections[name] = connection_values(name, connection, workspace, resolver)
    # The step runner opens every connection the task uses (source, deliver, notify), so
    # it receives them all; their secrets are masked like the declared ones.
    step_runner = uses_step_runner(spec)
    for _field, name in spec.connections_used():
        connection = catalogue.connections.get(name)
        if connection is not None and name not in connections:
            values = connection_values(name, connection, workspace, resolver)
            if step_runner:
                connections[name] = values
    output_dir = fresh_run_dir(workspace, creation_id, run.id)
    env = dict(os.environ if base_env is None else base_env)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
            "DUFTUI_RUN_ID": str(run.id),
            "DUFTUI_TASK": run.task_key,
            "DUFTUI_WORKSPACE": str(workspace),
            "DUFTUI_OUTPUT_DIR": str(output_dir),
            "DUFTUI_ATTEMPT": str(run.attempt),
            "DUFTUI_PARAMS": json.dumps(params, default=str),
            "DUFTUI_CONNECTIONS": json.dumps(connections, default=str),
        }
    )
    if run.logical_time is not None:
        env["DUFTUI_LOGICAL_TIME"] = run.logical_time.isoformat()
    if run.logical_tz:
        env["DUFTUI_LOGICAL_TZ"] = run.logical_tz
    env.update({name: as_env_value(value) for name, value in params.items()})
    for key, value in spec.run.env.items():
        env[key] = str(resolver.value(value, f"run.env.{key}"))
    cwd = working_directory(entry, spec, workspace)
    environment = None if step_runner else run_environment(catalogue, entry, run.task_key)
    argv = _argv(entry, spec, run, params, env, step_runner, environment)
    timeout = spec.timeout.total_seconds() if spec.timeout else None
    return LaunchPlan(argv=argv, cwd=cwd, env=env, output_dir=output_dir,
                      masker=resolver.masker, timeout=timeout,
                      kill_grace=spec.run.kill_grace.total_seconds(), params=params,
                      environment=environment.describe() if environment else None)


def run_environment(catalogue: Catalogue, entry: TaskEntry, task_key: str
                    ) -> RunEnvironment | None:
    """The python or command task's own environment (docs/environments.md), if it has one."""
    try:
        request = entry_request(catalogue, entry, "run")
        if request is None:
            return None
        return RunEnvironment(resolve(request, catalogue.root), catalogue.root, task_key)
    except (RequestError, EnvError) as exc:
        raise LaunchError(str(exc)) from None


def fresh_run_dir(workspace: Path, creation_id: str, run_id: int | None) -> Path:
    """The run's output folder, refused if it already holds anything: a state file
    restored from a backup repeats run ids, and a run must never find (or deliver)
    another run's files."""
    folder = locations.run_dir(workspace, creation_id, int(run_id or 0))
    try:
        taken = folder.is_symlink() or (folder.exists() and any(folder.iterdir()))
    except OSError as exc:
        raise LaunchError(f"cannot use the run folder {folder}: {exc.strerror}") from None
    if taken:
        raise LaunchError(
            f"the run folder {folder} already holds files of another run (was the state "
            "file restored from a backup?); move that folder away, then retry the run"
        )
    return folder


def working_directory(entry: TaskEntry, spec: Task, workspace: Path) -> Path:
    """`task`: the project folder; `root`: the workspace; `script`: the script's own folder
    (where DUFT runs its scripts)."""
    if spec.run.cwd == "root":
        return workspace
    if spec.run.cwd == "script" and spec.run.file:
        return (entry.folder / spec.run.file).resolve().parent
    return entry.folder


def script_facts(path: Path) -> tuple[str, bool]:
    """A script's real path and whether it imports DUFT's modules. Both are read again only
    when the file changes: one stat per run instead of a path walk and a read of the file,
    on the path of every run's start."""
    try:
        st = os.stat(path)
    except OSError:  # missing: the interpreter says so in the run's log
        return str(path.resolve()), False
    return _script_facts(str(path), (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=1024)
def _script_facts(path: str, _stamp: tuple[int, int, int, int]) -> tuple[str, bool]:
    resolved = Path(path).resolve()
    return str(resolved), script_uses_duft(resolved)


def _argv(entry: TaskEntry, spec: Task, run: QueuedRun, params: dict, env: dict[str, str],
          step_runner: bool, environment: RunEnvironment | None = None) -> list[str]:
    if step_runner:
        return [sys.executable, "-m", "duftui.steps", "--run", str(run.id)]
    if spec.run.kind == "python":
        script, imports_duft = script_facts(entry.folder / (spec.run.file or ""))
        tail = [script, *spec.run.args]
        duft = spec.run.duft or imports_duft
        if duft:
            tail.append(json.dumps(params, default=str))
        if environment is not None:
            return environment.argv(env, tail, duft, python=True)
        if duft:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(SHIM_DIR), env.get("PYTHONPATH", "")) if p
            )
        return [spec.run.interpreter or sys.executable, "-u", *tail]
    # command
    if spec.run.shell:
        argv = ["/bin/sh", "-c", str(spec.run.command)]
    elif isinstance(spec.run.command, list):
        argv = [*spec.run.command, *spec.run.args]
    else:
        argv = [str((entry.folder / (spec.run.file or "")).resolve()), *spec.run.args]
    if environment is not None:
        return environment.argv(env, argv, False, python=False)
    return argv
