"""Text blocks that describe one run: the summary lines and the details pane."""

from __future__ import annotations

import json
from datetime import datetime

from rich.table import Table
from rich.text import Text

from duftui.store.tables import OutputFile, Run
from duftui.tui import format as fmt
from duftui.tui.session import Session


def run_summary(run: Run, session: Session, now: datetime) -> Text:
    """Two or three lines: who/what/status, then timings and resources, then the error."""
    text = Text()
    text.append(f"#{run.id} ", style="bold").append(run.task_key, style="bold")
    text.append("  ").append_text(Text.from_markup(fmt.run_status(run, session.tz, now)))
    text.append(f"  attempt {run.attempt}/{run.max_attempts}", style="dim")
    text.append(f"  {run.trigger}", style="dim")
    if run.requested_by:
        text.append(f" by {run.requested_by}", style="dim")
    if run.error:
        text.append("\n" + fmt.first_line(run.error, 200), style="red")
    tz = session.tz
    parts = [f"queued {fmt.when(run.queued_at, tz, now)}"]
    if run.started_at:
        parts.append(f"started {fmt.when(run.started_at, tz, now)}")
    if run.finished_at:
        parts.append(f"ended {fmt.when(run.finished_at, tz, now)}")
    if run.started_at:
        parts.append(f"took {fmt.elapsed(run, now)}")
    if run.exit_code is not None:
        parts.append(f"exit {run.exit_code}")
    if run.cpu_user_s is not None or run.cpu_sys_s is not None:
        parts.append(f"cpu {fmt.cpu(run)}")
    if run.max_rss_kb is not None:
        parts.append(f"mem {fmt.memory_kb(run.max_rss_kb)}")
    if run.status == "queued" and run.not_before and run.not_before > now:
        parts.append(f"not before {fmt.when(run.not_before, tz, now)}")
    if run.progress_total:
        parts.append(f"progress {run.progress_done or 0:g}/{run.progress_total:g}")
    text.append("\n" + " · ".join(parts))
    return text


def run_details(run: Run, session: Session) -> Table:
    """Everything else about a run, for the Details tab."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    tz = session.tz

    def row(label: str, value: object) -> None:
        if value not in (None, "", "{}"):
            table.add_row(label, Text(str(value)))

    try:
        params = json.loads(run.params or "{}")
    except ValueError:
        params = {}
    row("task", run.task_key)
    row("status", run.status + (" (dead)" if run.dead else ""))
    row("batch", run.batch_id)
    row("retry of", f"#{run.retry_of}" if run.retry_of else None)
    row("trigger", run.trigger)
    row("requested by", run.requested_by)
    row("schedule", run.schedule_key)
    row("logical time", fmt.stamp(run.logical_time, tz) if run.logical_time else None)
    row("queued", fmt.stamp(run.queued_at, tz))
    row("not before", fmt.stamp(run.not_before, tz) if run.not_before else None)
    row("started", fmt.stamp(run.started_at, tz) if run.started_at else None)
    row("finished", fmt.stamp(run.finished_at, tz) if run.finished_at else None)
    row("exit code", run.exit_code)
    row(
        "cpu user / sys",
        f"{run.cpu_user_s or 0:.2f}s / {run.cpu_sys_s or 0:.2f}s"
        if run.cpu_user_s is not None
        else None,
    )
    row("max memory", fmt.memory_kb(run.max_rss_kb))
    row("host", run.host)
    row("pid", run.pid)
    row("output folder", session.relative(run.output_dir))
    row("cancel reason", run.cancel_reason)
    row(
        "acknowledged",
        f"{fmt.stamp(run.acknowledged_at, tz)} by {run.acknowledged_by}"
        if run.acknowledged_at
        else None,
    )
    row("definition", run.definition_hash[:12] if run.definition_hash else None)
    for name, value in sorted(params.items()):
        table.add_row(Text(f"param {name}", style="bold"), Text(str(value)))
    if run.error:
        table.add_row("error", Text(run.error, style="red"))
    return table


def output_cells(item: OutputFile, session: Session) -> list[Text | str]:
    """stage, file (relative to the workspace), size, md5, delivered to."""
    try:
        delivered = ", ".join(json.loads(item.delivered_to or "[]"))
    except ValueError:
        delivered = ""
    return [
        item.stage,
        Text(session.relative(item.path)),
        fmt.size(item.size),
        Text(item.md5 or "—"),
        Text(delivered or "—"),
    ]
