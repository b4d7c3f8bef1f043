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
from duftui.definitions.schedules import Schedule

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


def _check_param_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(
            f"parameter name {name!r} is not valid: use letters, digits and '_' "
            "(it becomes an environment variable)"
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

    attempts: int = Field(default=0, ge=0, le=1000)
    delay: Duration = timedelta(seconds=30)
    backoff: float = Field(default=2.0, ge=1.0)
    max_delay: Duration = timedelta(minutes=30)
    jitter: bool = True

    @field_validator("backoff", mode="before")
    @classmethod
    def _int_backoff(cls, value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


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
    """One delivery target (`[[deliver]]`)."""

    kind: Literal["local", "sftp", "ftp", "smb"]
    connection: str | None = None
    path: str
    overwrite: bool = True
    retries: int = Field(default=2, ge=0, le=20)
    retry_delay: Duration = timedelta(seconds=2)

    @model_validator(mode="after")
    def _remote_needs_connection(self) -> Deliver:
        if self.kind != "local" and not self.connection:
            raise ValueError(
                f'an {self.kind} delivery needs connection = "NAME" (one from connections.toml)'
            )
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
        found: list[tuple[tuple[str | int, ...], str]] = []
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
        if kind == "ssh" and (source is None or not source.connection or not source.command):
            found.append(
                (
                    ("source",) if source else ("run", "kind"),
                    '"ssh" needs [source] with a connection and a command',
                )
            )
        return found

    def connections_used(self) -> list[tuple[str, str]]:
        """(field, connection name) for every connection this task refers to."""
        used = [("run.connections", name) for name in self.run.connections]
        if self.source and self.source.connection:
            used.append(("source.connection", self.source.connection))
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
        if self.source and self.source.query_file:
            files.append((("source", "query_file"), self.source.query_file))
        if self.processing:
            files.append((("processing", "script"), self.processing.script))
            if isinstance(self.processing.requirements, str):
                files.append((("processing", "requirements"), self.processing.requirements))
        return files


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
