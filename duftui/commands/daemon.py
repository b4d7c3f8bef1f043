"""`duftui daemon`, `duftui status` and `duftui schedule next|fires` (DESIGN §6, §9)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from duftui.commands.common import (
    COUNT,
    NOT_FOUND,
    WHEN,
    Context,
    WholeNumber,
    ago,
    echo_json,
    fail,
    parse_when,
    pass_context,
    table,
)

# Listing more fires than this is never useful and could take minutes (every second).
MAX_FIRES = 10_000
MAX_GRACE_S = 7 * 86_400


def _duration_s(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    from duftui.definitions.durations import parse_duration

    try:
        seconds = parse_duration(value).total_seconds()
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if seconds > MAX_GRACE_S:
        raise click.BadParameter(f"{value!r} is too long: give at most 7d")
    return seconds


@click.group(invoke_without_command=True)
@click.option(
    "--detach",
    is_flag=True,
    help="Start in the background (new session, logs to .duftui/daemon.log); prints its pid.",
)
@click.option(
    "--max-parallel", type=WholeNumber(1, 10_000), help="Runs at once (default: the CPU count)."
)
@click.option(
    "--grace",
    default="30s",
    show_default=True,
    callback=_duration_s,
    help="On SIGTERM/SIGINT, how long running tasks may finish before they are cancelled.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option("--first-prune-after", default="60s", callback=_duration_s, hidden=True)
@click.pass_context
def daemon(
    click_ctx: click.Context,
    detach: bool,
    max_parallel: int | None,
    grace: float,
    log_level: str,
    first_prune_after: float,
) -> None:
    """Run schedules and queued runs headless, until SIGTERM or SIGINT.

    Exit codes: 0 stopped on a signal, 1 another daemon holds the lease (or it could not
    start), 3 this daemon lost its lease. `duftui daemon stop` and `duftui daemon restart`
    control a running one.
    """
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: Context = click_ctx.obj
    if detach:
        _detach(ctx, _daemon_args(grace, log_level, max_parallel))
        return
    from duftui.schedule.daemon import DaemonOptions, run_daemon
    from duftui.schedule.logs import setup_logging

    setup_logging(log_level)
    options = DaemonOptions(
        ctx.workspace,
        max_parallel=max_parallel,
        grace=grace,
        first_prune_after=first_prune_after,
    )
    code = run_daemon(options, ctx.store(), ctx.secrets())
    ctx.close()
    sys.exit(code)


def _daemon_args(grace: float, log_level: str, max_parallel: int | None) -> list[str]:
    args = ["--grace", f"{grace:g}s", "--log-level", log_level]
    if max_parallel:
        args += ["--max-parallel", str(max_parallel)]
    return args


def _detach(ctx: Context, args: list[str]) -> None:
    from duftui.schedule.detach import DetachError, detach_daemon

    try:
        pid, log = detach_daemon(ctx.workspace, ctx.db_path, ctx.store(), args)
    except DetachError as exc:
        fail(str(exc))
        return
    click.echo(pid)
    click.echo(f"daemon started in the background (pid {pid}); logs in {log}", err=True)


_WAIT = click.option(
    "--timeout",
    default="120s",
    show_default=True,
    callback=_duration_s,
    help="How long to wait for the daemon to stop (it drains running tasks first).",
)


@daemon.command("stop")
@_WAIT
@pass_context
def daemon_stop(ctx: Context, timeout: float) -> None:
    """Stop the running daemon as SIGTERM does (running tasks get its grace period) and
    wait until it has stopped. Exit codes: 0 stopped, 3 no daemon running, 1 it could not
    be stopped (another host, not allowed, still draining after --timeout)."""
    from duftui.schedule.stop import stop_daemon

    result = stop_daemon(ctx.existing_store(), timeout)
    if result.stopped:
        click.echo(result.reason)
        return
    fail(result.reason, 1 if result.running else 3)


@daemon.command("restart")
@_WAIT
@click.option("--max-parallel", type=click.IntRange(min=1), help="Runs at once for the new one.")
@click.option("--grace", default="30s", show_default=True, callback=_duration_s)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@pass_context
def daemon_restart(
    ctx: Context, timeout: float, max_parallel: int | None, grace: float, log_level: str
) -> None:
    """Stop the running daemon (if any) and start a new one in the background, as
    `duftui daemon --detach` does. Under systemd, use `systemctl restart duftui` instead."""
    from duftui.schedule.stop import stop_daemon

    result = stop_daemon(ctx.existing_store(), timeout)
    if result.stopped:
        click.echo(result.reason, err=True)
    elif result.running:
        fail(result.reason)
        return
    _detach(ctx, _daemon_args(grace, log_level, max_parallel))


@click.command()
@click.option(
    "-n",
    "fires",
    type=WholeNumber(0, MAX_FIRES),
    default=None,
    help="How many fires to list (default: 10 schedules; with --all, every fire).",
)
@click.option(
    "--all", "every_fire", is_flag=True, help="Every fire of the next 24 h, not one per schedule."
)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def status(ctx: Context, fires: int | None, every_fire: bool, as_json: bool) -> None:
    """Daemon, running runs, the next fire of each schedule, and fires of the last 24 h
    that did not run. Exits 3 when no daemon is running (as `systemctl status` does)."""
    from duftui.schedule.status import status as collect

    now = datetime.now(UTC)
    limit = fires if fires is not None or every_fire else 10
    catalogue = ctx.catalogue()
    with ctx.existing_store().read() as conn:
        found = collect(conn, catalogue, now, fires=limit, every_fire=every_fire)
    if as_json:
        echo_json(found)
        sys.exit(0 if found["daemon"]["running"] else 3)
    daemon = found["daemon"]
    if daemon["running"]:
        click.echo(f"daemon     running: {daemon['describe']}")
    elif "pid" in daemon:
        click.echo(
            f"daemon     NOT running: stale lease of {daemon['describe']}; schedules "
            "do not fire (start one with `duftui daemon`)"
        )
    else:
        click.echo(
            "daemon     no daemon running: schedules do not fire (start one with "
            "`duftui daemon` or `duftui daemon --detach`)"
        )
    click.echo(f"runs       {len(found['running'])} running, {found['queued']} queued")
    if found["running"]:
        rows = [
            (r["run_id"], r["task"], r["trigger"], ago(r["started_at"], now), r["pid"])
            for r in found["running"]
        ]
        click.echo(_indent(table(["RUN", "TASK", "TRIGGER", "STARTED", "PID"], rows)))
    _print_fires(found["next_fires"], found["schedules"], every_fire)
    _print_not_run(found["not_run"])
    if not daemon["running"]:
        sys.exit(3)


def _print_fires(fires: list[dict[str, Any]], schedules: int, every_fire: bool = False) -> None:
    what = "every fire of the next 24 h" if every_fire else "the next of each schedule"
    click.echo(
        f"next fires ({schedules} schedules; {what})"
        if fires
        else f"next fires none ({schedules} schedules)"
    )
    if not fires:
        return
    rows = [
        (
            _when(f),
            f["schedule"],
            f["describe"] + (" (overdue: not fired yet)" if f["overdue"] else ""),
        )
        for f in fires
    ]
    click.echo(_indent(table(["WHEN", "SCHEDULE", "WHAT"], rows)))


def _print_not_run(rows: list[dict[str, Any]]) -> None:
    if not rows:
        click.echo("not run    none in the last 24 h")
        return
    click.echo("not run    fires of the last 24 h that did not run (newest first)")
    shown = [(_span_text(r), r["schedule_key"], r["outcome"], r["reason"] or "") for r in rows]
    click.echo(_indent(table(["FIRE", "SCHEDULE", "OUTCOME", "WHY (the latest)"], shown)))


def _span_text(group: dict[str, Any]) -> str:
    last = group["last_fire"].astimezone().isoformat(sep=" ", timespec="seconds")
    if group["count"] == 1:
        return last
    first = group["first_fire"].astimezone().isoformat(sep=" ", timespec="seconds")
    return f"{first} … {last} ({group['count']} fires)"


def _when(fire: dict[str, Any]) -> str:
    at = datetime.fromisoformat(fire["at"])
    return ("~" if fire["approximate"] else "") + at.isoformat(sep=" ", timespec="seconds")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


@click.group()
def schedule() -> None:
    """Inspect schedules: next fires, and what past fires did."""


@schedule.command("next")
@click.argument("target")
@click.option("-n", "count", type=WholeNumber(1, MAX_FIRES), default=10, show_default=True)
@click.option(
    "--from",
    "start",
    type=WHEN,
    help="List fires after this time (default: now), e.g. "
    "2026-03-29T00:00 (local time unless an offset is given).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def schedule_next(
    ctx: Context, target: str, count: int, start: datetime | None, as_json: bool
) -> None:
    """The next fires of TARGET (a task, or a project for its project schedules), with their
    UTC offsets and the schedule each comes from."""
    from duftui.schedule.lease import daemon_alive
    from duftui.schedule.report import schedule_problems
    from duftui.schedule.status import entries, upcoming

    catalogue = ctx.catalogue()
    owners = _owners(catalogue, target)
    broken = schedule_problems(catalogue, owners)
    if broken:
        click.echo("\n".join(broken), err=True)
        fail(f"{target}: its fires cannot be listed until the problems above are fixed")
    now = datetime.now(UTC)
    after = parse_when(start) or now
    with ctx.existing_store().read() as conn:
        found_table, unknown = entries(conn, catalogue, now)
        alive = daemon_alive(conn)
    try:
        fires = upcoming(found_table, unknown, now, limit=count, owners=owners, after=after)
    except OverflowError:
        raise click.BadParameter(
            f"{after.isoformat(timespec='seconds')} is too close to the end of the calendar "
            "(9999-12-31) to list the fires after it; give an earlier time",
            param_hint="'--from'",
        ) from None
    if as_json:
        echo_json([f.as_dict() for f in fires])
        return
    if not fires:
        click.echo(
            f"{target}: no fires after {after.astimezone().isoformat(timespec='seconds')}"
            " (no enabled schedules, or they have ended)"
        )
        return
    rows = [
        (
            ("~" if f.approximate else "") + f.at.isoformat(sep=" ", timespec="seconds"),
            f.at.strftime("%z")[:3] + ":" + f.at.strftime("%z")[3:],
            f.key,
            f.describe,
        )
        for f in fires
    ]
    click.echo(table(["FIRE", "UTC", "SCHEDULE", "WHAT"], rows))
    if any(f.approximate for f in fires):
        click.echo(
            "~ an interval without `start` is anchored when the daemon first sees it; "
            "these times assume that happens now",
            err=True,
        )
    if alive is None:
        click.echo(
            "note: no daemon is running, so these fires will not happen until one is "
            "started (`duftui daemon`)",
            err=True,
        )


def _owners(catalogue: Any, target: str) -> set[str]:
    if "/" not in target and target in catalogue.projects:
        return {target}
    try:
        entry = catalogue.task(target)
    except KeyError as exc:
        fail(str(exc.args[0]) + " (nor a project)", code=NOT_FOUND)
        raise
    return {entry.key}


@schedule.command("fires")
@click.argument("target", required=False)
@click.option(
    "--since",
    type=WHEN,
    default="7d",
    show_default=True,
    help="Fires recorded since (a duration ago like 2h, or a date).",
)
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    type=click.Choice(["queued", "skipped", "coalesced", "error"]),
)
@click.option("--limit", type=COUNT, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def schedule_fires(
    ctx: Context,
    target: str | None,
    since: datetime,
    outcomes: tuple[str, ...],
    limit: int,
    as_json: bool,
) -> None:
    """What past fires did (queued, skipped, coalesced, error) and why; newest first."""
    from duftui.schedule.record import recent_fires

    prefix = None
    if target:
        owners = _owners(ctx.catalogue(), target)
        prefix = next(iter(owners))
    with ctx.existing_store().read() as conn:
        rows = recent_fires(
            conn, since=parse_when(since), outcomes=outcomes, key_prefix=prefix, limit=limit
        )
    if as_json:
        echo_json(rows)
        return
    shown = [
        (
            r["fire_time"].astimezone().isoformat(sep=" ", timespec="seconds"),
            r["schedule_key"],
            r["outcome"],
            r["run_id"] or "",
            r["reason"] or "",
        )
        for r in rows
    ]
    click.echo(table(["FIRE", "SCHEDULE", "OUTCOME", "RUN", "WHY"], shown))


COMMANDS: list[click.Command] = [daemon, status, schedule]
