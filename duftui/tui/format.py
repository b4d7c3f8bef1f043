"""How values look on screen: statuses, times, sizes, durations (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from rich.text import Text

from duftui.definitions.durations import humanize_seconds
from duftui.store.tables import Run

# Named ANSI colours: the theme maps them, so they read well on light and dark themes,
# and they work both in DataTable cells (Rich markup) and in Static widgets.
STATUS_STYLE = {
    "queued": "blue",
    "running": "bold cyan",
    "succeeded": "green",
    "failed": "bold red",
    "timed_out": "bold red",
    "lost": "bold red",
    "cancelled": "yellow",
    "skipped": "dim",
}
STATUS_MARK = {
    "queued": "…",
    "running": "▶",
    "succeeded": "✓",
    "failed": "✗",
    "timed_out": "⏱",
    "lost": "?",
    "cancelled": "■",
    "skipped": "↷",
}


def status_markup(status: str) -> str:
    """Content markup for a status, with a mark that survives a monochrome terminal."""
    style = STATUS_STYLE.get(status, "")
    text = f"{STATUS_MARK.get(status, ' ')} {status}"
    return f"[{style}]{text}[/]" if style else text


DEAD_MARK = "☠"
ACKED_MARK = "☑"
RETRY_MARK = "↻"


def run_status(run: Run, tz: tzinfo | None = None, now: datetime | None = None) -> str:
    """The status a person needs, its first cells distinct even when a narrow column cuts
    the rest: `☠ dead failed`, `☑ acked failed`, `↻ retry 10:05`, `✗ failed`."""
    if run.dead and run.acknowledged_at is None:
        return f"[bold red reverse]{DEAD_MARK} dead[/] [red]{run.status}[/]"
    if run.dead:
        return f"[dim]{ACKED_MARK} acked {run.status}[/]"
    if run.status == "queued" and run.retry_of and run.not_before:
        due = f" {when(run.not_before, tz, now)}" if tz is not None else ""
        return f"[magenta]{RETRY_MARK} retry{due}[/]"
    if run.cancel_requested and run.status == "running":
        return f"{status_markup('running')} [yellow](cancelling)[/]"
    return status_markup(run.status)


def ended(run: Run) -> datetime | None:
    """When a run last changed state: its end, its start, or when it was queued."""
    return run.finished_at or run.started_at or run.queued_at


def zone_name(tz: tzinfo, now: datetime) -> str:
    """The zone's name as clocks show it ("UTC", "CET"), for the top bar."""
    return now.astimezone(tz).tzname() or str(tz)


def in_own_zone(value: datetime, zone: str | None, tz: tzinfo, short: bool = False) -> str:
    """A schedule's fire on its own clock when that is not the console's: "06:30 CET"
    (short) or "06:30 Europe/Amsterdam"; "" when both clocks agree."""
    if not zone:
        return ""
    from zoneinfo import ZoneInfo

    try:
        own = value.astimezone(ZoneInfo(zone))
    except (ValueError, OSError, KeyError):
        return ""
    here = value.astimezone(tz)
    if own.utcoffset() == here.utcoffset():
        return ""
    return f"{own:%H:%M} {own.tzname() if short else zone}"


def when(value: datetime | None, tz: tzinfo, now: datetime | None = None) -> str:
    """A compact local time: "10:42:07" today, "Mar 01 10:42" this year, else the date."""
    if value is None:
        return ""
    local = value.astimezone(tz)
    if now is not None:
        today = now.astimezone(tz).date()
        if local.date() == today:
            return local.strftime("%H:%M:%S")
        if local.year == today.year:
            return local.strftime("%b %d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def soon(value: datetime, tz: tzinfo, now: datetime) -> str:
    """A time within the next days, short: "14:05" today, "Tue 02:00" after."""
    local = value.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M")
    return local.strftime("%a %H:%M")


def stamp(value: datetime | None, tz: tzinfo) -> str:
    """A full local timestamp for detail views."""
    if value is None:
        return "—"
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def ago(value: datetime | None, now: datetime) -> str:
    """ "12s ago", "3h ago", "in 5m"."""
    if value is None:
        return ""
    delta = now - value
    if delta < timedelta(0):
        return "in " + span(-delta)
    return span(delta) + " ago"


def span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def elapsed(run: Run, now: datetime) -> str:
    """Time a run took, or has been running so far."""
    if run.started_at is None:
        return ""
    end = run.finished_at or now
    return humanize_seconds(max(0.0, (end - run.started_at).total_seconds()))


def size(value: int | None) -> str:
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"


def memory_kb(value: int | None) -> str:
    return "" if value is None else size(value * 1024)


def cpu(run: Run) -> str:
    if run.cpu_user_s is None and run.cpu_sys_s is None:
        return ""
    return humanize_seconds((run.cpu_user_s or 0.0) + (run.cpu_sys_s or 0.0))


def percent(ok: int, total: int) -> str:
    if total == 0:
        return "—"
    return f"{100.0 * ok / total:.0f}% ({ok}/{total})"


def first_line(text: str | None, width: int = 120) -> str:
    """The last meaningful line of an error summary (that is where the reason is)."""
    if not text:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    chosen = lines[0]
    return chosen if len(chosen) <= width else chosen[: width - 1] + "…"


def escape(text: str) -> str:
    """Escape content markup in data that reaches the screen."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def rate(ok: int, total: int) -> Text:
    """A success rate, coloured: green from 95 %, yellow from 80 %, red below."""
    if total == 0:
        return Text("—", style="dim")
    share = ok / total
    style = "green" if share >= 0.95 else "yellow" if share >= 0.8 else "bold red"
    return Text(f"{100 * share:.0f}% {ok}/{total}", style=style)
