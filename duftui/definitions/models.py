"""Task and project definitions (DESIGN §2), validated strictly from TOML."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from duftui.definitions.common import (
    Duration,
    ParamValue,
    SecretRef,
    Strict,
    check_key,
    is_reference,
    quoted,
)
from duftui.definitions.schedules import Schedule, schedule_key_problems
from duftui.definitions.template_check import template_problems

RunKind = Literal["python", "notebook", "sql", "files", "ssh", "command"]
RUN_KINDS: tuple[str, ...] = ("python", "notebook", "sql", "files", "ssh", "command")


class Param(Strict):
    """A declared parameter (DUFT's supportedParameters)."""

    default: ParamValue | None = None
    title: str | None = None
    description: str | None = None
    allow_override: bool = False
    prompt: bool = False
    secret: bool = False

    @property
    def is_reference(self) -> bool:
        return isinstance(self.default, SecretRef)


def _param_shorthand(value: Any) -> Any:
    """`[params] region = "north"` is shorthand for `[params.region] default = "north"`."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, item in value.items():
        if isinstance(item, dict) and not is_reference(item):
            out[name] = item
        else:
            out[name] = {"default": item}
    return out


# Variables a parameter (it becomes an environment variable) must not replace: the task
# would lose its PATH or home, import other code, or lie about which run it is.
VITAL_VARIABLES = frozenset(
    {"PATH", "HOME", "PYTHONPATH", "PYTHONHOME", "PYTHONUNBUFFERED", "PYTHONIOENCODING",
     "LD_PRELOAD", "LD_LIBRARY_PATH"}
)


def _check_param_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(
            f"parameter name {name!r} is not valid: use letters, digits and '_' "
            "(it becomes an environment variable)"
        )
    if name in VITAL_VARIABLES or name.startswith("DUFTUI_"):
        what = (
            "names starting with DUFTUI_ are duftui's own variables"
            if name.startswith("DUFTUI_")
            else f"it would replace the {name} environment variable the task needs"
        )
        raise ValueError(
            f"parameter name {name!r} cannot be used: {what} (a parameter becomes an "
            f"environment variable); rename it, e.g. {name.lower()}_value"
        )
    return name


TaskKey = Annotated[str, AfterValidator(lambda value: check_key(value, "task key"))]
ParamName = Annotated[str, AfterValidator(_check_param_name)]
Params = Annotated[dict[ParamName, Param], BeforeValidator(_param_shorthand)]


class RunSpec(Strict):
    """What does the work (`[run]`)."""

    kind: RunKind
    file: str | None = None
    command: str | list[str] | None = None
    args: list[str] = Field(default_factory=list)
    shell: bool = False
    interpreter: str | None = None
    cwd: Literal["task", "root", "script"] = "task"
    connections: list[str] = Field(default_factory=list)
    env: dict[str, str | SecretRef] = Field(default_factory=dict)
    duft: bool = False
    kernel: str | None = None
    kill_grace: Duration = timedelta(seconds=10)
    # The task's own environment (docs/environments.md): a requirements file or a list of
    # requirement strings, and a local interpreter (a version like "3.12" or a path).
    requirements: str | list[str] | None = None
    python: str | None = None


class Retry(Strict):
    """Retries with exponential backoff (`[retry]`)."""

    retries: int | None = Field(default=None, ge=0, le=1000)
    """Extra attempts after the first."""
    attempts: int | None = Field(default=None, ge=0, le=1000)
    """The old name of `retries` (it counts extra attempts too); still read, with a warning."""
    delay: Duration = timedelta(seconds=30)
    backoff: float = Field(default=2.0, ge=1.0)
    max_delay: Duration = timedelta(minutes=30)
    jitter: bool = True
    on_exit_codes: list[int] = []
    """Retry only a failure with one of these exit codes (empty: any)."""
    never_on_exit_codes: list[int] = []
    """Never retry a failure with one of these exit codes: a permanent error."""

    @model_validator(mode="after")
    def _one_name(self) -> Retry:
        if self.retries is not None and self.attempts is not None:
            raise ValueError("give `retries` only: `attempts` is its old name and both are set")
        return self

    @property
    def extra_attempts(self) -> int:
        """How many times a failed run is tried again."""
        return self.retries if self.retries is not None else (self.attempts or 0)

    @field_validator("backoff", mode="before")
    @classmethod
    def _int_backoff(cls, value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def retries_exit_code(self, exit_code: int | None) -> bool:
        """Whether a failure with this exit code may be retried (None: no exit code, as
        for a timeout or a lost run, which are always retried while attempts are left)."""
        if exit_code is None:
            return True
        if exit_code in self.never_on_exit_codes:
            return False
        return not self.on_exit_codes or exit_code in self.on_exit_codes


DEFAULT_RETRY = Retry()


class Source(Strict):
    """Where a pipeline task's data comes from (`[source]`); fields depend on run.kind."""

    connection: str | None = None
    query: str | None = None
    query_file: str | None = None
    query_url: str | None = None
    timeout: Duration | None = None
    fetch_size: int = Field(default=10_000, ge=1)
    path: str | None = None
    recursive: bool = False
    delete_after: bool = False
    command: str | None = None
    query_headers: dict[str, str] = Field(default_factory=dict)
    query_connection: str | None = None
    script: str | None = None
    script_on_host: bool = False


class Processing(Strict):
    """An Atlas-style processing script run over the source files (`[processing]`)."""

    script: str
    requirements: str | list[str] | None = None
    python: str | None = None
    interpreter: str | None = None
    timeout: Duration | None = None


OutputFormat = Literal["csv", "tsv", "psv", "txt", "json", "jsonl", "xlsx", "parquet"]


class Output(Strict):
    """How the result file is written (`[output]`): format, name, then GPG → md5 → zip."""

    name: str = "output_%Y%m%d_%H%M%S"
    format: OutputFormat = "csv"
    delimiter: str | None = None
    headers: bool = True
    quote: Literal["minimal", "all", "none", "nonnumeric"] = "minimal"
    encoding: str = "utf-8"
    line_end: str = "\n"
    append: str = ""
    skip_empty: bool = False
    overwrite: bool = True
    zip: bool = False
    zip_name: str | None = None
    gpg_recipient: str | None = None
    gpg_home: str | None = None
    gpg_always_trust: bool = True
    md5: bool = True
    sheet: str = "data"
    allow_outside: bool = False  # name / zip_name may leave the run's folder

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError(f"expected one character, got {quoted(value)}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(
                f'unknown text encoding {quoted(value)}; use a name like "utf-8" or "cp1252"'
            ) from None
        return value


class Deliver(Strict):
    """One delivery target (`[[deliver]]`): a folder, a server, or a database table."""

    kind: Literal["local", "sftp", "ftp", "smb", "table"]
    connection: str | None = None
    path: str = ""
    overwrite: bool = True
    retries: int = Field(default=2, ge=0, le=20)
    retry_delay: Duration = timedelta(seconds=2)
    table: str | None = None
    mode: Literal["append", "replace", "upsert"] = "append"
    key: list[str] = Field(default_factory=list)
    batch_size: int = Field(default=10_000, ge=1, le=1_000_000)
    allow_outside: bool = False  # path may leave the workspace (local) or climb with ..

    @model_validator(mode="after")
    def _remote_needs_connection(self) -> Deliver:
        if self.kind != "local" and not self.connection:
            what = "a sql or sqlite one" if self.kind == "table" else "one"
            article = "a" if self.kind == "table" else "an"
            raise ValueError(
                f'{article} {self.kind} delivery needs connection = "NAME" '
                f"({what} from connections.toml)"
            )
        if self.kind == "table":
            if not self.table:
                raise ValueError('a table delivery needs table = "NAME" (or "schema.name")')
            if self.mode == "upsert" and not self.key:
                raise ValueError('mode = "upsert" needs key = ["column", …] (the unique key)')
        elif not self.path:
            raise ValueError(f'a {self.kind} delivery needs path = "FOLDER"')
        return self


class Notify(Strict):
    """Email on success or failure (`[notify]`)."""

    on_failure: list[str] = Field(default_factory=list)
    on_success: list[str] = Field(default_factory=list)
    subject: str | None = None
    body: str | None = None
    attach_output: bool = False
    embed_output: bool = False
    max_attach_kb: int = Field(default=10_240, ge=1)
    log_lines: int = Field(default=40, ge=0, le=10_000)
    connection: str = "smtp"


class Task(Strict):
    """One task file, `tasks/<project>/<task>.toml`."""

    name: str
    description: str = ""
    enabled: bool = True
    hidden: bool = False
    rank: int = 0
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    needs: list[TaskKey] = Field(default_factory=list)
    timeout: Duration | None = None
    allow_overlap: bool = False
    duft_id: str | None = None
    run: RunSpec
    params: Params = Field(default_factory=dict)
    retry: Retry = DEFAULT_RETRY  # frozen, so shared by every task without [retry]
    schedule: list[Schedule] = Field(default_factory=list)
    source: Source | None = None
    processing: Processing | None = None
    output: Output | None = None
    deliver: list[Deliver] = Field(default_factory=list)
    notify: Notify | None = None

    @field_validator("needs")
    @classmethod
    def _needs_are_unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("needs lists a task twice")
        return value

    def requirement_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """What this run.kind needs that is missing, as (field path, message) pairs."""
        kind = self.run.kind
        run, source = self.run, self.source
        found: list[tuple[tuple[str | int, ...], str]] = list(_env_name_problems(run.env))
        if isinstance(run.command, list) and run.command and not run.command[0].strip():
            found.append(
                (
                    ("run", "command", 0),
                    "the program to run is empty; write its name or path first, "
                    'e.g. ["python3", "script.py"]',
                )
            )
        found.extend(schedule_key_problems(self.schedule))
        found.extend(template_problems(self))
        if kind in ("python", "notebook") and not run.file:
            found.append((("run", "kind"), f'"{kind}" needs run.file (the script to run)'))
        if kind == "command":
            if not (run.command or run.file):
                found.append(
                    (("run", "kind"), '"command" needs run.command (an argv list) or run.file')
                )
            elif run.shell and run.command is not None and not isinstance(run.command, str):
                found.append((("run", "command"), "shell = true needs the command as one string"))
            elif isinstance(run.command, str) and not run.shell:
                found.append(
                    (
                        ("run", "command"),
                        "a string needs shell = true; otherwise give an argv list like "
                        '["tool", "--flag"]',
                    )
                )
        if kind == "sql":
            if source is None:
                found.append(
                    (("run", "kind"), '"sql" needs a [source] table with a connection and a query')
                )
            elif not source.connection:
                found.append(
                    (
                        ("source", "connection"),
                        '"sql" needs connection = "NAME" (one from connections.toml)',
                    )
                )
            if source is not None:
                given = [f for f in ("query", "query_file", "query_url") if getattr(source, f)]
                if len(given) != 1:
                    found.append(
                        (
                            ("source",),
                            '"sql" needs exactly one of query, query_file or query_url '
                            f"(found: {', '.join(given) or 'none'})",
                        )
                    )
        if kind == "files" and (source is None or not source.path):
            found.append(
                (("source",) if source else ("run", "kind"), '"files" needs [source] with a path')
            )
        if kind == "ssh" and (
            source is None or not source.connection or not (source.command or source.script)
        ):
            found.append(
                (
                    ("source",) if source else ("run", "kind"),
                    '"ssh" needs [source] with a connection and a command or a script',
                )
            )
        if kind == "ssh" and source is not None and source.command and source.script:
            found.append((("source", "script"), "give either command or script, not both"))
        return found + self.path_problems()

    def path_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Output names and delivery folders that leave their base folder without
        `allow_outside = true` (the same rules the steps apply after templates)."""
        from duftui.steps.safe_names import climb_problem, remote_inside

        found: list[tuple[tuple[str | int, ...], str]] = []
        output = self.output
        if output is not None and not output.allow_outside:
            for field in ("name", "zip_name"):
                value = getattr(output, field)
                problem = climb_problem(value) if value else None
                if problem:
                    found.append(
                        (
                            ("output", field),
                            f"{quoted(value)} is outside the run's folder: {problem}; name a "
                            "file inside it, or set allow_outside = true in [output]",
                        )
                    )
        for index, target in enumerate(self.deliver):
            if target.allow_outside:
                continue
            local = target.kind == "local"
            problem = climb_problem(target.path) if local else remote_inside(None, target.path)
            if problem:
                base = "the workspace" if local else "the connection's folder"
                found.append(
                    (
                        ("deliver", index, "path"),
                        f"{quoted(target.path)} is outside {base}: {problem}; deliver "
                        "inside it, or set allow_outside = true on this [[deliver]]",
                    )
                )
        return found

    def connections_used(self) -> list[tuple[str, str]]:
        """(field, connection name) for every connection this task refers to."""
        used = [("run.connections", name) for name in self.run.connections]
        if self.source and self.source.connection:
            used.append(("source.connection", self.source.connection))
        if self.source and self.source.query_connection:
            used.append(("source.query_connection", self.source.query_connection))
        for index, target in enumerate(self.deliver):
            if target.connection:
                used.append((f"deliver[{index}].connection", target.connection))
        if self.notify and (self.notify.on_failure or self.notify.on_success):
            used.append(("notify.connection", self.notify.connection))
        return used

    def files_used(self) -> list[tuple[tuple[str, str], str]]:
        """(field path, relative path) for every project file this task needs to exist."""
        files: list[tuple[tuple[str, str], str]] = []
        if self.run.file:
            files.append((("run", "file"), self.run.file))
        if isinstance(self.run.requirements, str):
            files.append((("run", "requirements"), self.run.requirements))
        if self.source and self.source.query_file and not self.source.query_connection:
            files.append((("source", "query_file"), self.source.query_file))
        if self.source and self.source.script and not self.source.script_on_host:
            files.append((("source", "script"), self.source.script))
        if self.processing:
            files.append((("processing", "script"), self.processing.script))
            if isinstance(self.processing.requirements, str):
                files.append((("processing", "requirements"), self.processing.requirements))
        return files


def _env_name_problems(env: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Names no environment can hold: empty, or with "=" (the kernel splits there)."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    for name in env:
        if not name:
            found.append((("run", "env"), "an environment variable name cannot be empty"))
        elif "=" in name:
            found.append(
                (
                    ("run", "env", name),
                    f"environment variable name {quoted(name)} cannot hold \"=\" (it ends "
                    "the name); use letters, digits and '_'",
                )
            )
    return found


class ProjectRun(Strict):
    """`[run]` in project.toml: the environment its python, notebook and processing tasks
    inherit unless they declare their own."""

    requirements: str | list[str] | None = None
    python: str | None = None


class Project(Strict):
    """A project folder's `project.toml`."""

    name: str | None = None
    description: str = ""
    owner: str | None = None
    sequence_tasks: bool = False
    max_parallel: int | None = Field(default=None, ge=1)
    params: Params = Field(default_factory=dict)
    schedule: list[Schedule] = Field(default_factory=list)
    run: ProjectRun | None = None

    def requirement_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """What would misbehave at run time although each field is valid."""
        return [*schedule_key_problems(self.schedule, owner="project"), *template_problems(self)]
