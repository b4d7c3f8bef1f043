"""The fields of the task form, tab by tab (DESIGN §2), built from the file's TOML data.

Only what the file sets is filled in; a default shows as the placeholder, so saving an
untouched form writes nothing new. Fields that only apply to some run kinds carry the
kinds in `KIND_FIELDS`; the form hides the others (unless the file sets them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical

from duftui.definitions.models import RUN_KINDS
from duftui.tui.format import escape
from duftui.tui.forms.fields.field_row import ErrorTarget, FieldRow
from duftui.tui.forms.fields.values import get_path

PIPELINE_KINDS = {"sql", "files", "ssh"}
KIND_FIELDS: dict[str, set[str]] = {
    "run.file": {"python", "notebook", "command"},
    "run.command": {"command"},
    "run.args": {"command"},
    "run.shell": {"command"},
    "run.interpreter": {"python", "command"},
    "run.kernel": {"notebook"},
    "run.duft": {"python"},
    "source.connection": PIPELINE_KINDS,
    "source.query": {"sql"},
    "source.query_file": {"sql"},
    "source.query_url": {"sql"},
    "source.timeout": {"sql"},
    "source.fetch_size": {"sql"},
    "source.path": {"files"},
    "source.recursive": {"files"},
    "source.delete_after": {"files"},
    "source.command": {"ssh"},
}
OPTIONAL_TABLES = ("processing", "output", "notify")


@dataclass
class TaskFormContext:
    """What the fields are built from."""

    data: dict[str, Any]
    new: bool
    project: str
    projects: list[str]
    siblings: list[str]  # the project's other task names (for `needs`)
    connections: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


def row(
    ctx: TaskFormContext, path: str, label: str, kind: str = "text", **options: Any
) -> FieldRow:
    """A field row for `path`, filled from the file."""
    value = get_path(ctx.data, path)
    if value is None and "default" in options:
        value = options["default"]
    options.pop("default", None)
    return FieldRow(path.rsplit(".", 1)[-1], label, kind, value, path=path, **options)


def meta_row(name: str, label: str, kind: str, value: Any, **options: Any) -> FieldRow:
    """A row that is not a key of the file (new task's key and project, table toggles)."""
    made = FieldRow(name, label, kind, value, path=options.pop("path", name), **options)
    made.meta = True  # type: ignore[attr-defined]
    return made


class Section(Vertical, ErrorTarget):
    """A titled group of rows (a table of the file); problems about the whole table
    ("source: …") are shown under its title."""

    def __init__(self, title: str, path: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="form-section")
        self.path = path
        self.border_title = title

    def show_errors(self, messages: list[str]) -> None:
        self.set_class(bool(messages), "-invalid")
        self.border_subtitle = escape("✗ " + "; ".join(messages)) if messages else ""

    def focus_target(self) -> Any:
        rows = list(self.query(FieldRow))
        return rows[0].focus_target() if rows else None


def general(ctx: TaskFormContext) -> ComposeResult:
    if ctx.new:
        yield meta_row(
            "key", "key", "text", ctx.extra.get("key", ""),
            placeholder="file name: lower-case, digits, - and _",
        )  # fmt: skip
        yield meta_row(
            "project", "project", "choice", ctx.project, options=ctx.projects, allow_blank=False
        )
    yield row(ctx, "name", "name", placeholder="required: what the console shows")
    yield row(ctx, "description", "description")
    yield row(ctx, "enabled", "enabled (schedules fire)", "bool", default=True)
    yield row(ctx, "hidden", "hidden", "bool", default=False)
    yield row(ctx, "owner", "owner", placeholder='OS user ("My tasks" filters on it)')
    yield row(ctx, "tags", "tags", "list", placeholder="comma-separated")
    yield row(ctx, "rank", "rank", "int", placeholder="0 (order inside a series)")
    yield row(
        ctx,
        "needs",
        "needs",
        "multi",
        options=[(name, name) for name in ctx.siblings],
        tooltip="Tasks of this project that must succeed first",
    )


def run(ctx: TaskFormContext) -> ComposeResult:
    yield row(ctx, "run.kind", "kind", "choice", options=RUN_KINDS, allow_blank=False,
              default="python")  # fmt: skip
    yield row(ctx, "run.file", "file", pick=True, placeholder="scripts/extract.py")
    yield row(ctx, "run.command", "command", "value",
              placeholder='["tool", "--flag"] or one string with shell')  # fmt: skip
    yield row(ctx, "run.args", "args", "args", placeholder="--verbose --day 1")
    yield row(ctx, "run.shell", "run in a shell", "bool")
    yield row(ctx, "run.interpreter", "interpreter", placeholder="this Python")
    yield row(ctx, "run.kernel", "kernel", placeholder="python3")
    yield row(ctx, "run.cwd", "working dir", "choice", options=("task", "root", "script"),
              placeholder="task (the project folder)")  # fmt: skip
    yield row(ctx, "run.connections", "connections", "list", suggest=ctx.connections,
              placeholder="comma-separated names from connections.toml")  # fmt: skip
    yield row(ctx, "run.env", "env", "mapping", placeholder='TZ=UTC, TOKEN={secret = "name"}')
    yield row(ctx, "run.duft", "DUFT script", "bool")
    yield row(ctx, "timeout", "timeout", "duration", placeholder="none (e.g. 30m)")
    yield row(ctx, "run.kill_grace", "kill grace", "duration", placeholder="10s")
    yield row(ctx, "allow_overlap", "allow overlapping runs", "bool")


def retry(ctx: TaskFormContext) -> ComposeResult:
    yield row(ctx, "retry.retries", "retries", "int", placeholder="0 (extra attempts)")
    yield row(ctx, "retry.delay", "delay", "duration", placeholder="30s")
    yield row(ctx, "retry.backoff", "backoff", "float", placeholder="2.0 (1.0 = fixed delay)")
    yield row(ctx, "retry.max_delay", "max delay", "duration", placeholder="30m")
    yield row(ctx, "retry.jitter", "jitter", "bool", default=True)


def source(ctx: TaskFormContext) -> ComposeResult:
    with Section("source", "source", id="section-source"):
        yield row(ctx, "source.connection", "connection", suggest=ctx.connections)
        yield row(ctx, "source.query", "query", "lines", placeholder="SELECT … (or query_file)")
        yield row(ctx, "source.query_file", "query file", pick=True, placeholder="sql/x.sql")
        yield row(ctx, "source.query_url", "query URL")
        yield row(ctx, "source.timeout", "timeout", "duration", placeholder="none")
        yield row(ctx, "source.fetch_size", "fetch size", "int", placeholder="10000")
        yield row(ctx, "source.path", "path", placeholder="in/*.csv (glob allowed)")
        yield row(ctx, "source.recursive", "recursive", "bool")
        yield row(ctx, "source.delete_after", "delete after", "bool")
        yield row(ctx, "source.command", "command", placeholder="remote command")


def toggled(ctx: TaskFormContext, table: str, label: str) -> FieldRow:
    return meta_row(f"use-{table}", label, "bool", table in ctx.data, path=table)


def processing(ctx: TaskFormContext) -> ComposeResult:
    with Section("processing", "processing", id="section-processing"):
        yield toggled(ctx, "processing", "run a processing script over the source files")
        with Vertical(classes="table-body", id="body-processing"):
            yield row(ctx, "processing.script", "script", pick=True)
            yield row(ctx, "processing.requirements", "requirements", pick=True)
            yield row(ctx, "processing.interpreter", "interpreter", placeholder="this Python")
            yield row(ctx, "processing.timeout", "timeout", "duration", placeholder="none")


def output(ctx: TaskFormContext) -> ComposeResult:
    formats = ("csv", "tsv", "psv", "txt", "json", "jsonl", "xlsx", "parquet")
    with Section("output", "output", id="section-output"):
        yield toggled(ctx, "output", "write an output file")
        with Vertical(classes="table-body", id="body-output"):
            yield row(ctx, "output.name", "file name", placeholder="output_%Y%m%d_%H%M%S")
            yield row(ctx, "output.format", "format", "choice", options=formats,
                      placeholder="csv (default)")  # fmt: skip
            yield row(ctx, "output.delimiter", "delimiter", placeholder="by format")
            yield row(ctx, "output.headers", "headers", "bool", default=True)
            yield row(ctx, "output.quote", "quote", "choice",
                      options=("minimal", "all", "none", "nonnumeric"),
                      placeholder="minimal (default)")  # fmt: skip
            yield row(ctx, "output.encoding", "encoding", placeholder="utf-8")
            yield row(ctx, "output.append", "append text", placeholder="(nothing)")
            yield row(ctx, "output.skip_empty", "skip when empty", "bool")
            yield row(ctx, "output.overwrite", "overwrite", "bool", default=True)
            yield row(ctx, "output.gpg_recipient", "GPG recipient", placeholder="no encryption")
            yield row(ctx, "output.md5", "md5 file", "bool", default=True)
            yield row(ctx, "output.zip", "zip", "bool")
            yield row(ctx, "output.zip_name", "zip name", placeholder="the file name + .zip")


def notify(ctx: TaskFormContext) -> ComposeResult:
    with Section("notify", "notify", id="section-notify"):
        yield toggled(ctx, "notify", "send email")
        with Vertical(classes="table-body", id="body-notify"):
            yield row(ctx, "notify.on_failure", "on failure", "list",
                      placeholder="ops@example.org, …")  # fmt: skip
            yield row(ctx, "notify.on_success", "on success", "list")
            yield row(ctx, "notify.subject", "subject", placeholder="by outcome")
            yield row(ctx, "notify.body", "body", placeholder="by outcome")
            yield row(ctx, "notify.attach_output", "attach output", "bool")
            yield row(ctx, "notify.embed_output", "embed output", "bool")
            yield row(ctx, "notify.connection", "connection", suggest=ctx.connections,
                      placeholder="smtp")  # fmt: skip
