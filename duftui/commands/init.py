"""`duftui init [DIR] [--examples]`: a new workspace in one command."""

from __future__ import annotations

from pathlib import Path

import click

from duftui.commands.common import fail


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--examples", is_flag=True, help="Also copy the bundled example projects.")
def init(directory: Path | None, examples: bool) -> None:
    """Create a workspace in DIRECTORY (default: the current directory).

    Writes tasks/, connections.toml, duftui.toml (every setting commented) and a .gitignore
    for .duftui/; never overwrites a file that exists.
    """
    from duftui.workspace_init import InitError, init_workspace

    root = (directory or Path.cwd()).expanduser().absolute()
    try:
        report = init_workspace(root, examples=examples)
    except InitError as exc:
        fail(str(exc))
        return
    for rel in report.written:
        click.echo(f"created  {rel}")
    for rel in report.kept:
        click.echo(f"kept     {rel}")
    here = "" if root == Path.cwd() else f"cd {directory} && "
    first = "duftui run demo/hello" if examples else "duftui  (then n to create a task)"
    click.echo(f"workspace ready in {root}; next: {here}{first}")


COMMANDS = [init]
