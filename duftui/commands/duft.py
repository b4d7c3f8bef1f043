"""`duftui import-duft DIR`: bring a DUFT configuration into the workspace."""

from __future__ import annotations

import re
from pathlib import Path

import click

from duftui.commands.common import Context, fail, pass_context
from duftui.definitions.secrets import SecretError


@click.command("import-duft")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--into",
    "into",
    type=click.Path(file_okay=False, path_type=Path),
    help="Workspace to write into (default: the current workspace).",
)
@click.option("--project", help="Project key (default: the DUFT folder's name, lower-cased).")
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite files, connections and secrets changed since the last import.",
)
@pass_context
def import_duft_cmd(
    ctx: Context, source: Path, into: Path | None, project: str | None, force: bool
) -> None:
    """Convert a DUFT config directory (system/ + user/, or flat) into tasks and connections.

    Prints every change, every DUFT field it could not map, and checks the result like
    `duftui validate`. Running it again brings in what changed in DUFT; what was edited
    here since the last import is kept (a conflict when DUFT changed it too) unless --force.
    """
    from duftui.definitions.duft_import import DuftImportError, import_duft

    workspace = into.expanduser().resolve() if into else ctx.workspace
    try:
        report = import_duft(source, workspace, secrets=ctx.secrets(), project=project, force=force)
    except (DuftImportError, SecretError) as exc:
        fail(str(exc))
    click.echo(
        f"DUFT configuration {report.source} ({report.layout} layout) -> project "
        f"{report.project} in {workspace}"
    )
    for action, what in report.changes:
        click.echo(f"  {action:<14} {_shown(what)}")
    for what, reason in report.kept:
        click.echo(f"  {'kept':<14} {_shown(what)}: {reason}; --force takes DUFT's")
    for what in report.conflicts:
        click.echo(
            f"  {'conflict':<14} {_shown(what)}: edited here and changed in DUFT since the last "
            "import; kept the one here, --force takes DUFT's"
        )
    if not report.changed:
        click.echo(f"nothing changed: {report.unchanged} item(s) already up to date")
    if report.notes:
        click.echo(f"not mapped ({len(report.notes)}):")
        for note in report.notes:
            click.echo(f"  {_shown(note)}")
    if report.refused:
        click.echo(f"refused ({len(report.refused)}):", err=True)
        for what in report.refused:
            click.echo(f"  {_shown(what)}", err=True)
    if report.problems:
        click.echo("the imported definitions have problems:", err=True)
        for problem in report.problems:
            click.echo(f"  {_shown(problem)}", err=True)
    if report.refused or report.problems:
        raise SystemExit(1)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|\n")


def _shown(text: str) -> str:
    """One line on the terminal: a DUFT id's newline or escape sequence is shown escaped."""
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text)


COMMANDS: list[click.Command] = [import_duft_cmd]
