"""`duftui outputs RUN`, `duftui verify RUN`, `duftui resend RUN`: a run's files after the
fact (the logic lives in duftui.steps.history, shared with the console)."""

from __future__ import annotations

import sys

import click

from duftui.commands.common import (
    NOT_FOUND,
    RUN_ID,
    WholeNumber,
    echo_json,
    fail,
    local_time,
    pass_context,
    table,
)
from duftui.context import Context
from duftui.steps.errors import RunMissing, StepError


def _human(size: int | None) -> str:
    from duftui.steps.report import human_size

    return "" if size is None else human_size(size)


@click.command("outputs")
@click.argument("run_id", type=RUN_ID)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def outputs_cmd(ctx: Context, run_id: int, as_json: bool) -> None:
    """List the files a run produced: stage, size, md5 and where they were delivered."""
    from duftui.steps.history import delivered_to, load_run

    try:
        _run, rows = load_run(ctx.existing_store(), run_id)
    except StepError as exc:
        fail(str(exc), NOT_FOUND if isinstance(exc, RunMissing) else 1)
    if as_json:
        echo_json(
            [
                {
                    "id": r.id,
                    "stage": r.stage,
                    "path": r.path,
                    "size": r.size,
                    "md5": r.md5,
                    "delivered_to": delivered_to(r),
                    "created_at": r.created_at,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        click.echo(f"run {run_id} recorded no files")
        return
    click.echo(
        table(
            ["STAGE", "SIZE", "MD5", "CREATED", "PATH", "DELIVERED TO"],
            [
                (
                    r.stage,
                    _human(r.size),
                    r.md5 or "",
                    local_time(r.created_at),
                    r.path,
                    ", ".join(delivered_to(r)),
                )
                for r in rows
            ],
        )
    )


@click.command("verify")
@click.argument("run_id", type=RUN_ID)
@pass_context
def verify_cmd(ctx: Context, run_id: int) -> None:
    """Re-check the md5 of every file a run recorded; exit 1 if one changed or is gone."""
    from duftui.steps.history import verify_run

    try:
        checks = verify_run(ctx.existing_store(), run_id)
    except StepError as exc:
        fail(str(exc), NOT_FOUND if isinstance(exc, RunMissing) else 1)
    if not checks:
        click.echo(f"run {run_id} recorded no files")
        return
    for check in checks:
        click.echo(f"{check.state.upper() if check.bad else check.state:8} {check.file.path}")
    bad = [c for c in checks if c.bad]
    if bad:
        click.echo(f"duftui: {len(bad)} of {len(checks)} file(s) changed or missing", err=True)
        sys.exit(1)


@click.command("resend")
@click.argument("run_id", type=RUN_ID)
@click.option("--target", type=WholeNumber(0, 10_000),
              help="Only this deliver[N] target of the task.")
@click.option("--force", is_flag=True, help="Send files even if their md5 changed.")
@pass_context
def resend_cmd(ctx: Context, run_id: int, target: int | None, force: bool) -> None:
    """Deliver a run's files again to the task's [[deliver]] targets."""
    from duftui.steps.history import resend_run
    from duftui.steps.report import Reporter

    class Plain(Reporter):
        def log(self, message: str, level: str = "info") -> None:
            click.echo(message, err=level in ("warning", "error"))

    try:
        sent = resend_run(
            ctx.existing_store(),
            ctx.catalogue(),
            ctx.secrets(),
            run_id,
            Plain(),
            target=target,
            force=force,
        )
    except StepError as exc:
        fail(str(exc), NOT_FOUND if isinstance(exc, RunMissing) else 1)
    click.echo(f"sent {len(sent)} file(s) again")


COMMANDS: list[click.Command] = [outputs_cmd, verify_cmd, resend_cmd]
