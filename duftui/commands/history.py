"""`duftui runs` and `duftui history export`."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from duftui.commands.common import (
    COUNT,
    NOT_FOUND,
    WHEN,
    Context,
    WholeNumber,
    echo_json,
    fail,
    local_time,
    parse_when,
    pass_context,
    table,
)
from duftui.definitions.durations import humanize_seconds
from duftui.store.states import RunStatus, Trigger

if TYPE_CHECKING:
    from duftui.store.runs import RunFilter as RunFilter


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The history filters, shared by `runs` and `history export`."""
    options = [
        click.option("--task", "task_key", help="Only this task (project/task)."),
        click.option("--project", help="Only this project."),
        click.option(
            "--status",
            "statuses",
            multiple=True,
            type=click.Choice([s.value for s in RunStatus]),
            help="Repeatable.",
        ),
        click.option(
            "--trigger",
            "triggers",
            multiple=True,
            type=click.Choice([t.value for t in Trigger]),
            help="Repeatable.",
        ),
        click.option("--since", type=WHEN,
                     help="From this time: 2026-11-01, 2026-11-01T06:00, 2h, 7d."),
        click.option("--until", type=WHEN, help="Before this time (same forms as --since)."),
        click.option("--batch", "batch_id", type=WholeNumber(1, what="batch id"),
                     help="Only runs of this batch."),
        click.option("--dead", is_flag=True, help="Only dead runs that need attention."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def build_filter(
    ctx: Context,
    task_key: str | None,
    project: str | None,
    statuses: tuple[str, ...],
    triggers: tuple[str, ...],
    since: str | None,
    until: str | None,
    batch_id: int | None,
    dead: bool,
) -> RunFilter:
    from duftui.store.runs import RunFilter

    if task_key and "/" not in task_key:
        try:
            task_key = ctx.catalogue().task(task_key).key
        except KeyError as exc:
            fail(f"--task: {exc.args[0]}", NOT_FOUND)
    return RunFilter(
        task_key=task_key,
        project=project,
        statuses=statuses,
        triggers=triggers,
        since=parse_when(since),
        until=parse_when(until),
        batch_id=batch_id,
        dead=True if dead else None,
    )


def _run_json(run: Any) -> dict[str, Any]:
    """A run as JSON: `params` and `result` as values, not JSON text; `worker` is the
    worker host of a remote run (empty for local runs)."""
    data = run.model_dump(mode="json")
    for name in ("params", "result"):
        if isinstance(data.get(name), str):
            try:
                data[name] = json.loads(data[name])
            except ValueError:
                pass
    data["worker"] = ""
    return data


@click.command()
@filter_options
@click.option("--limit", type=COUNT, default=50, show_default=True,
              help="How many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def runs(ctx: Context, limit: int, as_json: bool, **filters: Any) -> None:
    """List runs, newest first."""
    from duftui.store.runs import list_runs

    flt = build_filter(ctx, **filters)
    with ctx.existing_store().read() as conn:
        found = list_runs(conn, flt, limit=limit)
    if as_json:
        echo_json([_run_json(run) for run in found])
        return
    if not found:
        click.echo("no runs match", err=True)
        return
    rows = [
        [
            run.id,
            run.task_key,
            run.status + (" (dead)" if run.dead else ""),
            run.trigger,
            run.attempt,
            local_time(run.queued_at),
            humanize_seconds(run.duration_s),
            "" if run.exit_code is None else run.exit_code,
            (run.error or "").splitlines()[0][:60] if run.error else "",
        ]
        for run in found
    ]
    click.echo(
        table(["RUN", "TASK", "STATUS", "TRIGGER", "TRY", "QUEUED", "TOOK", "EXIT", "ERROR"], rows)
    )


@click.group()
def history() -> None:
    """Browse or export run history."""


@history.command("export")
@filter_options
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write CSV to this file ('-' for stdout).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write JSON to this file ('-' for stdout).",
)
@pass_context
def export(ctx: Context, csv_path: str | None, json_path: str | None, **filters: Any) -> None:
    """Export runs matching the filters, oldest first, streaming in constant memory."""
    from duftui.store.export import export_csv, export_json

    if bool(csv_path) == bool(json_path):
        raise click.UsageError("give exactly one of --csv FILE or --json FILE")
    flt = build_filter(ctx, **filters)
    target = csv_path or json_path
    writer = export_csv if csv_path else export_json
    store = ctx.existing_store()
    new_file = target != "-" and not os.path.lexists(target)
    try:
        with _open_out(target) as out:
            count = writer(store, out, flt)
    except OSError as exc:
        if new_file and Path(target).is_file():
            Path(target).unlink()  # a file this export created: never leave half of it
        reason = (exc.strerror or str(exc)).lower()
        fail(f"cannot write the export to {target}: {reason}; nothing was exported")
    if target != "-":
        click.echo(f"exported {count} runs to {target}", err=True)


@contextlib.contextmanager
def _open_out(target: str):
    if target == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        handle = open(target, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise click.FileError(target, exc.strerror) from None
    with handle:
        yield handle
