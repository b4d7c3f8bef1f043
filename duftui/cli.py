"""The `duftui` command. A bare `duftui` opens the console; subcommands are thin wrappers
over the core and print plain text that pipes well."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from duftui import __version__
from duftui.commands import (
    completion,
    daemon,
    definitions,
    duft,
    envs,
    execute,
    explain,
    history,
    init,
    pipelines,
    prune,
    secrets,
    stats,
)
from duftui.context import Context
from duftui.locations import WorkspaceError

TEXT_VARIABLES = ("DUFTUI_WORKSPACE", "DUFTUI_DB")


def _not_utf8(args: Sequence[str]) -> str | None:
    """The first argument or variable that is not valid UTF-8 (Python keeps such bytes
    as lone surrogates, which SQLite, TOML and the terminal all refuse later)."""
    for index, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return f"argument {index} ({os.fsencode(arg)!r}) is not valid UTF-8"
    for name in TEXT_VARIABLES:
        value = os.environ.get(name)
        if value is not None:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{name} ({os.fsencode(value)!r}) is not valid UTF-8"
    return None


class DuftuiGroup(click.Group):
    """The top-level group: refuses arguments that are not text, and turns a wrong
    workspace or an unusable state file into one sentence instead of a traceback."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        given = list(sys.argv[1:] if args is None else args)
        problem = _not_utf8(given)
        if problem:
            click.echo(f"duftui: {problem}; duftui reads its arguments as UTF-8 text", err=True)
            sys.exit(2)
        return super().main(given, *rest, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        from duftui.store.db import StateFileError

        try:
            return super().invoke(ctx)
        except WorkspaceError as exc:
            click.echo(f"duftui: {exc}", err=True)
            ctx.exit(2)
        except StateFileError as exc:
            click.echo(f"duftui: {exc}", err=True)
            ctx.exit(1)


@click.group(
    cls=DuftuiGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--workspace",
    "-w",
    envvar="DUFTUI_WORKSPACE",
    type=click.Path(file_okay=False),
    help="Workspace directory (default: the current directory).",
)
@click.option(
    "--db",
    envvar="DUFTUI_DB",
    type=click.Path(dir_okay=False),
    help="State file (default: WORKSPACE/.duftui/state.db).",
)
@click.version_option(__version__, "-V", "--version", prog_name="duftui")
@click.pass_context
def main(click_ctx: click.Context, workspace: str | None, db: str | None) -> None:
    """duftui: an operations console for data tasks."""
    ctx = Context.create(workspace, db)
    click_ctx.obj = ctx
    click_ctx.call_on_close(ctx.close)
    if click_ctx.invoked_subcommand is None:
        from duftui.tui.launch import run_console

        ctx.check_workspace()
        run_console(ctx)


main.add_command(definitions.validate)
main.add_command(definitions.tasks)
main.add_command(definitions.locate)
main.add_command(history.runs)
main.add_command(history.history)
main.add_command(secrets.secret)
main.add_command(execute.run)
main.add_command(execute.logs)
main.add_command(execute.cancel_cmd)
main.add_command(execute.retry_cmd)
main.add_command(execute.ack_cmd)
main.add_command(execute.preview)
main.add_command(envs.envs)

for _module in (daemon, pipelines, duft, init, prune, explain, stats, completion):
    for _command in _module.COMMANDS:
        main.add_command(_command)
