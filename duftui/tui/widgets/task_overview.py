"""The Task screen's overview: definition summary, resolved parameters, schedules with
their next fires, and the problems of a broken definition."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from duftui.definitions.durations import format_duration
from duftui.definitions.loader import Catalogue, TaskEntry
from duftui.definitions.schedules import schedule_key
from duftui.engine.params import ParamError
from duftui.engine.preview import environment_lines, preview_task
from duftui.engine.submit import SubmitError
from duftui.tui import format as fmt
from duftui.tui.fires import next_fires
from duftui.tui.session import Session


def _grid() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    return table


def task_overview(
    session: Session,
    catalogue: Catalogue,
    entry: TaskEntry,
    now: datetime,
    recorded_next: dict[str, datetime] | None = None,
) -> RenderableType:
    """Everything about the definition, as one renderable (built in a worker thread)."""
    parts: list[RenderableType] = []
    if entry.problems:
        problems = Text()
        for problem in entry.problems:
            style = "red" if problem.is_error else "yellow"
            problems.append(f"{problem}\n", style=style)
        parts.append(Text("Definition problems", style="bold red"))
        parts.append(problems)
    spec = entry.spec
    facts = _grid()
    facts.add_row("file", Text(entry.rel))
    if spec is None:
        parts.append(facts)
        return Group(*parts)
    if spec.description:
        facts.add_row("description", Text(spec.description))
    facts.add_row(
        "kind",
        spec.run.kind
        + ("" if spec.enabled else " (disabled)")
        + (" · hidden" if spec.hidden else ""),
    )
    if spec.tags:
        facts.add_row("tags", Text(", ".join(spec.tags)))
    if spec.owner:
        facts.add_row("owner", Text(spec.owner))
    if spec.needs:
        facts.add_row("needs", Text(", ".join(spec.needs)))
    if spec.timeout:
        facts.add_row("timeout", format_duration(spec.timeout))
    if spec.retry.extra_attempts:
        facts.add_row(
            "retry",
            f"{spec.retry.extra_attempts} more attempt(s), first after "
            f"{format_duration(spec.retry.delay)}, ×{spec.retry.backoff:g}",
        )
    preview = _preview(session, catalogue, entry.key, now)
    if isinstance(preview, str):
        facts.add_row("preview", Text(preview, style="red"))
    else:
        command = str(preview.get("command", "")).replace(sys.executable, "python")
        facts.add_row("command", Text(command))
        facts.add_row("cwd", Text(session.relative(preview.get("cwd")) or "."))
        for label, value in preview.get("files", {}).items():
            facts.add_row(label, Text(str(value)))
    parts.append(facts)
    if not isinstance(preview, str) and preview.get("params"):
        params = Table(
            title="Parameters (resolved now)",
            title_justify="left",
            box=None,
            padding=(0, 2),
            show_edge=False,
            expand=False,
        )
        params.add_column("name", style="bold", no_wrap=True)
        params.add_column("value")
        params.add_column("from", style="dim")
        for name, item in preview["params"].items():
            params.add_row(name, Text(str(item["value"])), item["source"])
        parts.append(Text(""))
        parts.append(params)
    if spec.schedule:
        parts.append(Text(""))
        parts.append(_schedules(session, entry, now, recorded_next or {}))
    if not isinstance(preview, str) and preview.get("sql"):
        parts.append(Text("\nSQL", style="bold"))
        parts.append(Text(str(preview["sql"]).strip()))
    if not isinstance(preview, str) and preview.get("environments"):  # docs/environments.md
        parts.append(Text("\n" + "\n".join(environment_lines(preview))))
    return Group(*parts)


def _preview(
    session: Session, catalogue: Catalogue, key: str, now: datetime
) -> dict[str, Any] | str:
    try:
        return preview_task(catalogue, key, at=now, secrets=session.ctx.secrets())
    except (SubmitError, ParamError) as exc:
        return str(exc)


def _schedules(
    session: Session, entry: TaskEntry, now: datetime, recorded: dict[str, datetime]
) -> Table:
    table = Table(
        title="Schedules", title_justify="left", box=None, padding=(0, 2), show_edge=False
    )
    table.add_column("schedule", no_wrap=True)
    table.add_column("next fires")
    assert entry.spec is not None
    for index, schedule in enumerate(entry.spec.schedule):
        key = schedule_key(entry.key, index, schedule)
        if not entry.spec.enabled:
            fires_text = Text("task disabled: never fires", style="dim")
        else:
            fires = next_fires(
                schedule, now, count=3, default_tz=session.tz, recorded_next=recorded.get(key)
            )
            fires_text = Text(
                ", ".join(
                    ("~" if approx else "") + fmt.when(at, session.tz, now)
                    + (f" ({own})" if (own := fmt.in_own_zone(at, schedule.timezone, session.tz))
                       else "")
                    for at, approx in fires
                )
                or "none",
                style="cyan",
            )
        table.add_row(Text(schedule.describe()), fires_text)
    return table
