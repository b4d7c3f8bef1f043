"""`duftui prune`: remove old runs, logs, output records and run folders."""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from duftui.commands.common import Context, echo_json, fail, pass_context


def _duration(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> timedelta | None:
    if value is None:
        return None
    from duftui.definitions.durations import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("prune")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@click.option(
    "--older-than", callback=_duration, help="Runs queued longer ago than this (e.g. 90d)."
)
@click.option("--keep-last", type=click.IntRange(min=1), help="Always keep the last N per task.")
@click.option("--logs-older-than", callback=_duration, help="Log lines of runs older than this.")
@click.option(
    "--vacuum",
    "full_vacuum",
    is_flag=True,
    help="Once, for an older state file: rewrite it so later prunes can shrink it (locks "
    "the state file while it runs).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def prune(
    ctx: Context,
    dry_run: bool,
    older_than: timedelta | None,
    keep_last: int | None,
    logs_older_than: timedelta | None,
    full_vacuum: bool,
    as_json: bool,
) -> None:
    """Remove runs (with their log lines, output records and run folders) that
    `[retention]` in duftui.toml, or the options, no longer keep. Never removes a queued or
    running run, one of an unfinished batch, a dead run nobody acknowledged, or the newest
    run of a task. Exit code 3 when there is nothing to prune by."""
    from duftui.definitions.settings import load_settings
    from duftui.engine.retention import Retention
    from duftui.engine.retention import prune as run_prune
    from duftui.store import prune as store_prune
    from duftui.store.audit import current_user

    loaded = load_settings(ctx.workspace)
    for problem in loaded.problems:
        click.echo(f"duftui: {problem}", err=True)
    if loaded.problems and not (older_than or keep_last or logs_older_than):
        fail("fix duftui.toml first, or say what to prune with --older-than / --keep-last")
    base = Retention.from_settings(loaded.settings.retention)
    retention = Retention(
        runs=older_than if older_than is not None else base.runs,
        keep_last=keep_last if keep_last is not None else base.keep_last,
        logs=logs_older_than if logs_older_than is not None else base.logs,
    )
    if not ctx.db_path.exists():
        ctx.check_workspace()
        fail(f"no state file at {ctx.db_path} yet: nothing to prune", 3)
    store = ctx.store()
    if full_vacuum and not dry_run:
        click.echo("rewriting the state file (VACUUM); other writers wait meanwhile", err=True)
        store_prune.vacuum(store)
    if not retention.active:
        fail(
            "nothing to prune by: set [retention] in duftui.toml (runs = \"180d\", keep_last = "
            "50, logs = \"30d\") or pass --older-than / --keep-last / --logs-older-than",
            3,
        )
    result = run_prune(store, ctx.workspace, retention, dry_run=dry_run, user=current_user())
    if as_json:
        echo_json({"dry_run": dry_run, **result.as_dict()})
        return
    verb = "would remove" if dry_run else "removed"
    click.echo(
        f"{verb} {result.runs} runs, {result.log_lines} log lines in {result.log_chunks} "
        f"chunks, {result.output_files} output records, {len(result.run_folders)} run "
        f"folders" + (f", {result.fires} fire records" if result.fires else "")
    )
    if result.logs_of_kept_runs:
        click.echo(f"{verb} the log lines of {result.logs_of_kept_runs} runs that stay")
    if dry_run:
        return
    mib = 1024 * 1024
    click.echo(
        f"state file {result.bytes_before / mib:.1f} MiB -> {result.bytes_after / mib:.1f} MiB; "
        f"longest write lock {result.longest_lock_s * 1000:.0f} ms"
    )
    if not store_prune.can_shrink(store):
        click.echo(
            "note: this state file predates shrinking; freed space is reused by new rows. "
            "Run `duftui prune --vacuum` once to let prunes give it back.",
            err=True,
        )
    sys.stdout.flush()


COMMANDS = [prune]
