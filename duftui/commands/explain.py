"""`duftui explain TASK [--at TIME]`: why a task did or did not run."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from duftui.commands.common import Context, echo_json, fail, parse_when, pass_context


@click.command("explain")
@click.argument("task")
@click.option("--at", "at_text", help="Ask about a moment, e.g. 2026-12-01T06:15 (local time).")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def explain(ctx: Context, task: str, at_text: str | None, as_json: bool) -> None:
    """The chain of reasons a task ran, waits or did not run: its definition, the daemon,
    its schedules and their skipped fires, and its runs (retry pending, waiting for a slot,
    another run of it, a parent). Exit code 4 for an unknown task."""
    from duftui.engine.explain import explain as reasons_for

    catalogue = ctx.catalogue()
    try:
        entry = catalogue.task(task)
    except KeyError as exc:
        fail(str(exc.args[0]), 4)
        return
    at = parse_when(at_text)
    with ctx.existing_store().read() as conn:
        reasons = reasons_for(conn, catalogue, entry, datetime.now(UTC), at=at)
    if as_json:
        echo_json({"task": entry.key, "reasons": [r.as_dict() for r in reasons]})
        return
    click.echo(f"{entry.key}:")
    for reason in reasons:
        click.echo(("  ! " if reason.blocking else "  - ") + reason.text)


COMMANDS = [explain]
