"""The `duftui` command. A bare `duftui` opens the console; subcommands are thin wrappers
over the core and print plain text that pipes well."""

from __future__ import annotations

import click

from duftui import __version__
from duftui.commands import daemon, definitions, duft, envs, execute, history, pipelines, secrets
from duftui.context import Context


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.version_option(__version__, prog_name="duftui")
@click.pass_context
def main(click_ctx: click.Context, workspace: str | None, db: str | None) -> None:
    """duftui: an operations console for data tasks."""
    ctx = Context.create(workspace, db)
    click_ctx.obj = ctx
    click_ctx.call_on_close(ctx.close)
    if click_ctx.invoked_subcommand is None:
        from duftui.tui.launch import run_console

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

for _module in (daemon, pipelines, duft):
    for _command in _module.COMMANDS:
        main.add_command(_command)
