"""`duftui run`, `logs`, `cancel`, `retry`, `ack` and `preview`."""

from __future__ import annotations

import signal
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from duftui.commands.common import (
    NOT_FOUND,
    RUN_ID,
    WHEN,
    Context,
    WholeNumber,
    fail,
    parse_when,
    pass_context,
)

if TYPE_CHECKING:
    from duftui.engine.follow import Followed, LogFollower
    from duftui.engine.submit import Submitted
    from duftui.store.logs import LogLine


EXIT_CODE = click.option(
    "--exit-code",
    type=click.Choice(["status", "task"]),
    default="status",
    show_default=True,
    help="status: 0 succeeded, 1 not; task: the task's own exit code.",
)


def submit_error_code(exc: Exception) -> int:
    """4 for an unknown task or project, 1 for a broken definition, else 2 (bad usage)."""
    from duftui.engine.submit import BrokenDefinition, NotFound

    if isinstance(exc, NotFound):
        return NOT_FOUND
    return 1 if isinstance(exc, BrokenDefinition) else 2


def _exit_code(task_code: int, mode: str) -> int:
    return task_code if mode == "task" or task_code == 0 else 1



@click.command()
@click.argument("target")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Override a parameter that allows it (repeatable).")
@click.option("--project", "is_project", is_flag=True, help="TARGET is a project: run all of it.")
@click.option("--detach", is_flag=True, help="Only queue the run; a daemon or console runs it.")
@click.option("--at", "at", type=WHEN, help="Logical time for templates (default: now).")
@click.option("--no-dependants", is_flag=True, help="Do not run the tasks that need this one.")
@click.option("--max-parallel", type=WholeNumber(1, 10_000),
              help="Parallel runs for an embedded supervisor.")
@EXIT_CODE
@pass_context
def run(ctx: Context, target: str, params: tuple[str, ...], is_project: bool, detach: bool,
        at: datetime | None, no_dependants: bool, max_parallel: int | None,
        exit_code: str) -> None:
    """Run a task now and follow its log. Exits 0 when it succeeded, 1 when it did not
    (with --exit-code task: the task's own exit code, 124 for a timeout, 130 cancelled),
    2 for bad usage or parameters, 4 for an unknown task or project."""
    import anyio

    from duftui.engine.params import ParamError, parse_overrides
    from duftui.engine.submit import SubmitError, submit_project, submit_task
    from duftui.engine.wake import poke
    from duftui.schedule.lease import daemon_alive
    from duftui.store.states import Trigger

    catalogue = ctx.catalogue()
    store = ctx.store()
    try:
        overrides = parse_overrides(params)
        when = parse_when(at)
        if is_project:
            if overrides:
                raise SubmitError("parameters cannot be overridden for a whole project")
            submitted = submit_project(store, catalogue, target, trigger=Trigger.CLI, at=when,
                                       secrets=ctx.secrets())
        else:
            submitted = submit_task(store, catalogue, target, trigger=Trigger.CLI,
                                    overrides=overrides, at=when,
                                    with_dependants=not no_dependants, secrets=ctx.secrets())
    except (SubmitError, ParamError) as exc:
        fail(str(exc), code=submit_error_code(exc))
        return
    with store.read() as conn:
        daemon = daemon_alive(conn)
    first = submitted.run_ids[0] if submitted.run_ids else None
    if detach:
        poke(ctx.workspace)
        click.echo(first if len(submitted.run_ids) == 1 else " ".join(map(str, submitted.run_ids)))
        if daemon is None:
            click.echo("note: no daemon is running; start one with `duftui daemon` or open the "
                       "console to run it", err=True)
        return
    planned = ", ".join(submitted.planned)
    click.echo(f"· queued run #{first} (batch {submitted.batch_id}: {planned})"
               + (f" for the daemon ({daemon.describe()})" if daemon else ""), err=True)
    if daemon:
        poke(ctx.workspace)
    code = anyio.run(_follow_batch, ctx, submitted, daemon is None, max_parallel)
    sys.exit(_exit_code(code, exit_code))


async def _follow_batch(ctx: Context, submitted: Submitted, embedded: bool,
                        max_parallel: int | None) -> int:
    import anyio
    import anyio.abc

    from duftui.engine.follow import LogFollower
    from duftui.engine.supervisor import Supervisor

    store = ctx.store()
    follower = LogFollower(store, batch_id=submitted.batch_id)
    supervisor = None
    if embedded:
        supervisor = Supervisor(store, ctx.catalogue(), ctx.secrets(), batch_id=submitted.batch_id,
                                max_parallel=max_parallel, poll_interval=0.1)
    many = len(submitted.planned) > 1
    interrupted = False

    async def on_signals(scope: anyio.CancelScope) -> None:
        nonlocal interrupted
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                if interrupted:
                    scope.cancel()
                    return
                interrupted = True
                click.echo("· interrupted: cancelling the run (press Ctrl-C again to stop "
                           "waiting)", err=True)
                await anyio.to_thread.run_sync(_cancel_batch, ctx, follower)
                if supervisor is not None:
                    await supervisor.cancel_all("interrupted (Ctrl-C) in duftui run")

    async def printer() -> None:
        while True:
            if follower.changed() or not follower.runs:
                for item, line in await anyio.to_thread.run_sync(follower.poll):
                    _print_line(item, line, many)
                if follower.done and (supervisor is None or not supervisor.running):
                    return
            await anyio.sleep(0.05)

    def daemon_gone() -> bool:
        from duftui.schedule.lease import daemon_alive

        with store.read() as conn:
            return daemon_alive(conn) is None

    async def watch_daemon(tg: anyio.abc.TaskGroup) -> None:
        """If the daemon stops while we wait, run the rest of the batch here."""
        nonlocal supervisor
        while supervisor is None:
            await anyio.sleep(2.0)
            if follower.done or not await anyio.to_thread.run_sync(daemon_gone):
                continue
            click.echo("· the daemon stopped; running the rest of this batch here", err=True)
            supervisor = Supervisor(store, ctx.catalogue(), ctx.secrets(),
                                    batch_id=submitted.batch_id, max_parallel=max_parallel,
                                    poll_interval=0.1)
            tg.start_soon(supervisor.run, True)

    async with anyio.create_task_group() as tg:
        tg.start_soon(on_signals, tg.cancel_scope)
        if supervisor is not None:
            tg.start_soon(supervisor.run, True)
        else:
            tg.start_soon(watch_daemon, tg)
        await printer()
        tg.cancel_scope.cancel()
    for item, line in follower.poll():
        _print_line(item, line, many)
    follower.close()
    return _batch_exit_code(follower)


def _cancel_batch(ctx: Context, follower: LogFollower) -> None:
    from duftui.engine.control import ControlError, cancel
    from duftui.engine.wake import poke
    from duftui.store.audit import current_user
    from duftui.store.states import RunStatus

    with ctx.store().write() as conn:
        for item in follower.runs.values():
            if not RunStatus(item.status).finished:
                try:
                    cancel(conn, ctx.catalogue(), item.run_id, user=current_user(),
                           reason="interrupted (Ctrl-C) in duftui run")
                except ControlError:
                    pass
    poke(ctx.workspace)


def _batch_exit_code(follower: LogFollower) -> int:
    from duftui.engine.outcomes import status_exit_code

    for item in follower.latest_per_task():
        code = status_exit_code(item.status, item.exit_code)
        if code:
            click.echo(f"· {item.task_key}: run #{item.run_id} {item.status}", err=True)
            return code
    finals = list(follower.latest_per_task())
    if finals:
        click.echo(f"· {'all ' if len(finals) > 1 else ''}succeeded", err=True)
    return 0


def _print_line(item: Followed, line: LogLine, many: bool) -> None:
    from duftui.engine.streams import strip_ansi

    text = line.text if sys.stdout.isatty() else strip_ansi(line.text)
    prefix = f"[{item.task_key.split('/', 1)[1]}] " if many else ""
    if line.stream == "event":
        click.echo(f"· {prefix}{text}", err=True)
    else:
        click.echo(prefix + text, err=line.stream == "stderr")


@click.command()
@click.argument("run_id", type=RUN_ID)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option("--tail", "tail_n", type=WholeNumber(0), help="Only the last N lines.")
@click.option("--level", type=click.Choice(["debug", "info", "warning", "error"]),
              help="Only lines at or above this level.")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its time.")
@click.option("--color/--no-color", default=None, help="Keep ANSI colours (default: on a tty).")
@EXIT_CODE
@pass_context
def logs(ctx: Context, run_id: int, follow: bool, tail_n: int | None, level: str | None,
         timestamps: bool, color: bool | None, exit_code: str) -> None:
    """Print a run's log (with --follow, until it ends; exits with the run's status)."""
    from duftui.engine.follow import Followed, LogFollower
    from duftui.engine.outcomes import status_exit_code
    from duftui.engine.streams import strip_ansi
    from duftui.store.logs import read_lines, tail
    from duftui.store.runs import get_run
    from duftui.store.states import Level

    store = ctx.existing_store()
    with store.read() as conn:
        run = get_run(conn, run_id)
        if run is None:
            fail(f"no run #{run_id}", NOT_FOUND)
            return
        min_level = Level.parse(level) if level else None
        if tail_n is not None:
            lines = [ln for ln in tail(conn, run_id, tail_n)
                     if min_level is None or ln.level >= min_level]
        else:
            lines = read_lines(conn, run_id, 1, 10_000_000, min_level=min_level)
    keep_color = sys.stdout.isatty() if color is None else color

    def show(line: LogLine) -> None:
        text = line.text if keep_color else strip_ansi(line.text)
        if timestamps:
            stamp = datetime.fromtimestamp(line.ts).strftime("%H:%M:%S.%f")[:-3]
            text = f"{stamp} {line.level_name:<7} {text}"
        click.echo(text)

    for line in lines:
        show(line)
    if not follow:
        return
    follower = LogFollower(store, run_id=run_id)
    follower.runs[run_id] = Followed(run_id, run.task_key, run.status, run.exit_code,
                                     last_seq=lines[-1].seq if lines else 0)
    if tail_n is not None or min_level is not None:
        with store.read() as conn:
            from duftui.store.logs import next_seq
            follower.runs[run_id].last_seq = next_seq(conn, run_id) - 1
    try:
        while True:
            for _item, line in follower.poll():
                if min_level is None or line.level >= min_level:
                    show(line)
            if follower.done:
                break
            import time
            time.sleep(0.1)
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        follower.close()
    final = follower.runs[run_id]
    sys.exit(_exit_code(status_exit_code(final.status, final.exit_code), exit_code))


@click.command("cancel")
@click.argument("run_id", type=RUN_ID)
@click.option("--retry", "retry_only", is_flag=True, help="Cancel the waiting retry of RUN_ID.")
@click.option("--reason", help="Why (recorded with the run).")
@pass_context
def cancel_cmd(ctx: Context, run_id: int, retry_only: bool, reason: str | None) -> None:
    """Cancel a queued or running run (SIGTERM, then SIGKILL after the grace period)."""
    from duftui.engine.control import cancel, cancel_retry
    from duftui.store.audit import current_user

    _control(ctx, lambda conn: cancel_retry(conn, ctx.catalogue(), run_id, user=current_user())
             if retry_only else cancel(conn, ctx.catalogue(), run_id, user=current_user(),
                                       reason=reason))


@click.command("retry")
@click.argument("run_id", type=RUN_ID)
@pass_context
def retry_cmd(ctx: Context, run_id: int) -> None:
    """Queue a finished run again now (use `duftui logs -f` on the new id to follow it)."""
    from duftui.engine.control import retry_now
    from duftui.schedule.lease import daemon_alive
    from duftui.store.audit import current_user

    result = _control(ctx, lambda conn: retry_now(conn, ctx.catalogue(), run_id,
                                                  user=current_user()))
    with ctx.existing_store().read() as conn:
        if daemon_alive(conn) is None:
            click.echo("note: no daemon is running; start `duftui daemon` or open the console "
                       "to run it", err=True)
    del result


@click.command("ack")
@click.argument("run_id", type=RUN_ID)
@pass_context
def ack_cmd(ctx: Context, run_id: int) -> None:
    """Acknowledge a dead run so it leaves the "needs attention" list."""
    from duftui.engine.control import RunNotFound, acknowledge_dead
    from duftui.store.audit import current_user
    from duftui.store.runs import get_run

    def ack(conn: Any) -> Any:
        if get_run(conn, run_id) is None:
            raise RunNotFound(f"no run #{run_id}")
        return acknowledge_dead(conn, run_id, user=current_user())

    _control(ctx, ack)


def _control(ctx: Context, action: Any) -> Any:
    from duftui.engine.control import ControlError, RunNotFound
    from duftui.engine.wake import poke

    try:
        with ctx.existing_store().write() as conn:
            result = action(conn)
    except ControlError as exc:
        fail(str(exc), NOT_FOUND if isinstance(exc, RunNotFound) else 1)
        return None
    poke(ctx.workspace)
    click.echo(result.message)
    return result


@click.command()
@click.argument("task")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE")
@click.option("--at", "at", type=WHEN,
              help="Logical time (default: now), e.g. 2026-03-29T02:30.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def preview(ctx: Context, task: str, params: tuple[str, ...], at: datetime | None,
            as_json: bool) -> None:
    """Show resolved parameters, file names, the command and the final SQL, without running."""
    from duftui.engine.params import ParamError, parse_overrides
    from duftui.engine.preview import environment_lines, preview_task
    from duftui.engine.submit import SubmitError

    try:
        shown = preview_task(ctx.catalogue(), task, overrides=parse_overrides(params),
                             at=parse_when(at), secrets=ctx.secrets())
    except (SubmitError, ParamError) as exc:
        fail(str(exc), code=submit_error_code(exc))
        return
    if as_json:
        from duftui.commands.common import echo_json

        echo_json(shown)
        return
    click.echo(f"task          {shown['task']}")
    click.echo(f"logical time  {shown['logical_time']}")
    click.echo(f"command       {shown['command']}")
    click.echo(f"cwd           {shown['cwd']}")
    if shown["params"]:
        click.echo("parameters")
        width = max(len(k) for k in shown["params"])
        for name, item in shown["params"].items():
            click.echo(f"  {name:<{width}}  {item['value']!s:<30} ({item['source']})")
    for label, value in shown.get("files", {}).items():
        click.echo(f"{label:<13} {value}")
    for line in environment_lines(shown):  # the task's own environment (environments.md)
        click.echo(line)
    if shown.get("sql"):
        click.echo("sql")
        for line in shown["sql"].splitlines():
            click.echo(f"  {line}")
        if shown.get("bind"):
            click.echo(f"bound         {shown['bind']}")
