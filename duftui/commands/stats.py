"""`duftui stats [TASK] [--since 30d] [--json]`: how each task has been doing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from duftui.commands.common import Context, echo_json, fail, pass_context, table


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f}s"
    if value < 3600:
        return f"{value / 60:.1f}m"
    return f"{value / 3600:.1f}h"


@click.command("stats")
@click.argument("task", required=False)
@click.option("--since", default="30d", show_default=True, help="Runs queued since (e.g. 7d).")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def stats(ctx: Context, task: str | None, since: str, as_json: bool) -> None:
    """Runs, success rate, p50/p95/max duration, mean CPU, peak RSS, last success and a
    sparkline of the last 30 durations, per task. Exit code 4 for an unknown task."""
    from duftui.commands.common import parse_when
    from duftui.store.stats import task_stats

    key = None
    if task is not None:
        try:
            key = ctx.catalogue().task(task).key
        except KeyError as exc:
            fail(str(exc.args[0]), 4)
            return
    start = parse_when(since) or datetime.now(UTC) - timedelta(days=30)
    with ctx.existing_store().read() as conn:
        found = task_stats(conn, start, key)
    if as_json:
        echo_json([s.as_dict() for s in found])
        return
    if not found:
        click.echo(f"no runs since {start.astimezone():%Y-%m-%d %H:%M}", err=True)
        return
    rows = []
    for item in found:
        data = item.as_dict()
        rate = data["success_rate"]
        rows.append(
            (
                item.task,
                item.runs,
                "-" if rate is None else f"{rate * 100:.0f}%",
                _seconds(data["p50_s"]),
                _seconds(data["p95_s"]),
                _seconds(data["max_s"]),
                _seconds(data["mean_cpu_s"]),
                "-" if item.peak_rss_kb is None else f"{item.peak_rss_kb / 1024:.0f}M",
                item.last_success.astimezone().strftime("%Y-%m-%d %H:%M")
                if item.last_success
                else "never",
                data["sparkline"],
            )
        )
    headers = ["TASK", "RUNS", "OK", "P50", "P95", "MAX", "CPU", "RSS", "LAST OK", "LAST 30"]
    click.echo(table(headers, rows))


COMMANDS = [stats]
