"""`duftui validate`, `duftui tasks` and `duftui locate`."""

from __future__ import annotations

import click

from duftui import locations
from duftui.commands.common import NOT_FOUND, Context, echo_json, fail, pass_context, table


@click.command()
@click.option(
    "--secrets/--no-secrets",
    "check_secrets",
    default=True,
    help="Also check the secrets file (errors) and that every secret reference can be "
    "resolved (warnings).",
)
@pass_context
def validate(ctx: Context, check_secrets: bool) -> None:
    """Check every definition; print each problem as file:line: field: message."""
    catalogue = ctx.catalogue()
    problems = list(catalogue.problems)
    if check_secrets:
        problems.extend(_secret_warnings(ctx))
    for problem in problems:
        click.echo(str(problem))
    errors = sum(1 for p in problems if p.is_error)
    warnings = len(problems) - errors
    summary = (
        f"{len(catalogue.projects)} projects, {len(catalogue.tasks)} tasks, "
        f"{len(catalogue.connections)} connections"
    )
    if errors:
        click.echo(f"{errors} error(s), {warnings} warning(s) in {summary}", err=True)
        raise SystemExit(1)
    click.echo(f"ok: {summary}" + (f" ({warnings} warning(s))" if warnings else ""))


def _secret_warnings(ctx: Context):
    from duftui.definitions.secret_check import secret_problems

    return secret_problems(ctx.catalogue(), locations.secrets_file())


@click.command()
@click.option("--project", help="Only this project.")
@click.option("--all", "show_hidden", is_flag=True, help="Include hidden tasks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_context
def tasks(ctx: Context, project: str | None, show_hidden: bool, as_json: bool) -> None:
    """List projects and tasks with kind, enabled, schedules and last status."""
    from duftui.store.runs import last_runs_by_task

    catalogue = ctx.catalogue()
    if project and project not in catalogue.projects:
        fail(f"no project {project!r}", NOT_FOUND)
    with ctx.existing_store().read() as conn:
        last = last_runs_by_task(conn)
    rows = []
    for key, entry in catalogue.tasks.items():
        if project and entry.project != project:
            continue
        spec = entry.spec
        if spec and spec.hidden and not show_hidden:
            continue
        run = last.get(key)
        first_error = next((p for p in entry.problems if p.is_error), None)
        rows.append(
            {
                "task": key,
                "name": entry.title,
                "kind": spec.run.kind if spec else "?",
                "enabled": bool(spec and spec.enabled),
                "schedules": [s.describe() for s in spec.schedule] if spec else [],
                "last_status": run.status if run else None,
                "last_run": run.id if run else None,
                "problem": str(first_error) if first_error else None,
            }
        )
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no tasks (add one under tasks/<project>/<task>.toml)")
        return
    body = []
    for row in rows:
        status = "BROKEN" if row["problem"] else (row["last_status"] or "-")
        body.append(
            [
                row["task"],
                row["kind"],
                "yes" if row["enabled"] else "no",
                "; ".join(row["schedules"]) or "-",
                status,
            ]
        )
    click.echo(table(["TASK", "KIND", "ENABLED", "SCHEDULES", "LAST"], body))
    for row in rows:
        if row["problem"]:
            click.echo(f"  {row['problem']}", err=True)


@click.command()
@pass_context
def locate(ctx: Context) -> None:
    """Print where duftui reads and writes things."""
    ctx.check_workspace()
    click.echo(
        table(
            ["WHAT", "PATH"],
            [
                ["workspace", ctx.workspace],
                ["state", ctx.db_path],
                ["secrets", locations.secrets_file()],
                ["run outputs", locations.runs_dir(ctx.workspace)],
            ],
        )
    )
