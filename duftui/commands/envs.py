"""`duftui envs`: list, build ahead of time, and prune task environments
(docs/environments.md)."""

from __future__ import annotations

import time

import click

from duftui.commands.common import Context, ago, echo_json, fail, pass_context, table


def _size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} B"


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per environment.")
@pass_context
@click.pass_context
def envs(click_ctx: click.Context, ctx: Context, as_json: bool) -> None:
    """List task environments: key, python, packages, size, last used, tasks using it."""
    if click_ctx.invoked_subcommand is not None:
        return
    from duftui.envs.manage import list_envs

    found = list_envs(ctx.workspace)
    if as_json:
        echo_json([env.as_json() for env in found])
        return
    if not found:
        click.echo("no task environments yet (they are built at a task's first run, or with "
                   "`duftui envs build TASK`)")
        return
    from datetime import UTC, datetime

    rows = [(env.key, env.python, len(env.packages), _size(env.size),
             ago(datetime.fromtimestamp(env.last_used, UTC)), ", ".join(env.tasks) or "-")
            for env in found]
    click.echo(table(["KEY", "PYTHON", "PACKAGES", "SIZE", "LAST USED", "TASKS"], rows))


@envs.command("build")
@click.argument("task")
@pass_context
def build(ctx: Context, task: str) -> None:
    """Build the environments TASK uses now, ahead of its first run (e.g. in a deploy)."""
    from duftui.engine.submit import SubmitError, runnable
    from duftui.envs.build import EnvError
    from duftui.envs.manage import build_for_task
    from duftui.envs.request import RequestError

    catalogue = ctx.catalogue()
    try:
        entry = runnable(catalogue, task)
    except SubmitError as exc:
        fail(str(exc), code=2)
        return
    try:
        built = build_for_task(catalogue, entry, click.echo)
    except (EnvError, RequestError) as exc:
        fail(f"{entry.key}: {exc}")
        return
    if not built:
        click.echo(f"{entry.key} runs in duftui's own interpreter: it declares no environment")
    for found in built:
        click.echo(f"{entry.key}: {found.describe()} ready at {found.path}")


@envs.command("prune")
@click.option("--unused-for", default="30d", show_default=True, metavar="DURATION",
              help="Remove environments no run used for this long (e.g. 30d, 12h).")
@pass_context
def prune_cmd(ctx: Context, unused_for: str) -> None:
    """Remove environments that no run used for a while (a later run builds them again)."""
    from duftui.definitions.durations import parse_duration
    from duftui.envs.manage import prune

    try:
        seconds = parse_duration(unused_for).total_seconds()
    except ValueError as exc:
        fail(f"--unused-for {unused_for!r}: {exc}", code=2)
        return
    removed = prune(ctx.workspace, seconds, time.time())
    click.echo(f"removed {len(removed)} environment(s)" +
               (f": {', '.join(removed)}" if removed else ""))
