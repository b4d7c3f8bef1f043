"""One `[[schedule]]` in a form, with a live preview of its next five fires.

The preview uses the scheduler's own triggers (`duftui.schedule.triggers.next_fires`), so
what the form shows is what the daemon will do, DST and all, each fire with its UTC
offset. It updates on every keystroke; a schedule that does not validate shows why.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Checkbox, Input, Select, Static

from duftui.definitions.edit_base import normalize
from duftui.definitions.schedules import CronFields, Schedule
from duftui.schedule.triggers import TriggerError, next_fires
from duftui.tui.forms.fields import values as v
from duftui.tui.forms.fields.field_row import FieldRow
from duftui.tui.forms.fields.item_list import ItemEditor

WHEN = ("cron", "every", "at")
PLACEHOLDERS = {
    "cron": "0 6 * * *  (or 6 fields, seconds first)",
    "every": "15m, 2h, 1d",
    "at": "2026-12-01 06:00",
}
PREVIEW = 5


def cron_text(value: Any) -> str:
    """A cron value as one line, whether written as text or as DUFT's table form."""
    if isinstance(value, dict):
        try:
            return CronFields.model_validate(value).expression()
        except ValidationError:
            return ""
    return "" if value is None else str(value)


def first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


class ScheduleEditor(ItemEditor):
    """cron | every | at, time zone, start, end, misfire, grace, enabled; keys the form
    does not show (`params`, `max_catchup`) are kept as the file has them."""

    NOUN = "schedule"

    def __init__(self, original: Any, *, now: datetime, zone: tzinfo) -> None:
        super().__init__(original if isinstance(original, dict) else {})
        self.now = now
        self.zone = zone
        data = self.original
        self.when = next((k for k in WHEN if k in data), "cron")
        raw = data.get(self.when)
        self.shown_cron = cron_text(raw) if self.when == "cron" else ""
        if self.when == "cron":
            shown = self.shown_cron
        elif self.when == "at":
            shown = v.show_datetime(raw)
        else:
            shown = "" if raw is None else str(raw)
        self.value_row = FieldRow(
            self.when, "value", "text", shown, placeholder=PLACEHOLDERS[self.when]
        )

    def heading(self) -> str:
        name = self.original.get("name")
        return f"Schedule {self.index + 1}" + (f" ({name})" if name else "")

    def compose_fields(self) -> ComposeResult:
        data = self.original
        with Horizontal(classes="field-pair"):
            yield FieldRow("when", "fires by", "choice", self.when, options=WHEN, allow_blank=False)
            yield FieldRow("enabled", "enabled", "bool", data.get("enabled", True))
        yield self.value_row
        yield FieldRow(
            "timezone",
            "time zone",
            "text",
            data.get("timezone"),
            placeholder="the machine's (e.g. Europe/Amsterdam, UTC)",
        )
        yield FieldRow("start", "start", "datetime", data.get("start"), placeholder="any time")
        yield FieldRow("end", "end", "datetime", data.get("end"), placeholder="never")
        yield FieldRow(
            "misfire",
            "misfire",
            "choice",
            data.get("misfire"),
            options=("skip", "coalesce", "all"),
            placeholder="coalesce (default)",
        )
        yield FieldRow("grace", "grace", "duration", data.get("grace"), placeholder="30s")
        yield FieldRow("name", "name", "text", data.get("name"), placeholder="(optional)")
        yield Static("", classes="schedule-preview")

    def on_mount(self) -> None:
        self.update_preview()

    def _row(self, field: str) -> FieldRow:
        return next(row for row in self.rows() if row.field == field)

    def data(self) -> dict[str, Any]:
        """The schedule as TOML data (None values are left out by the core)."""
        out = {k: val for k, val in self.original.items() if k not in WHEN}
        when = self._row("when").value() or "cron"
        text = self.value_row.text.strip()
        if when == "cron":
            original = self.original.get("cron")
            out["cron"] = original if text and text == self.shown_cron else (text or None)
        elif when == "every":
            out["every"] = text or None
        else:
            out["at"] = v.parse_datetime(text)
        for field in ("timezone", "start", "end", "misfire", "grace", "name"):
            out[field] = self._row(field).value()
        enabled = self._row("enabled").value()
        out["enabled"] = None if enabled and "enabled" not in self.original else enabled
        return {k: out[k] for k in [*WHEN, *out] if k in out}

    def update_preview(self) -> None:
        self.query_one(".schedule-preview", Static).update(self.preview())

    def preview(self) -> Text:
        """The next fires, one a line, or why there are none."""
        try:
            schedule = Schedule.model_validate(normalize(self.data()))
        except ValidationError as exc:
            return Text(f"✗ {first_error(exc)}", style="red")
        except OSError:  # ZoneInfo("Europe") reads a folder (half a name typed so far)
            name = self._row("timezone").text
            return Text(f"✗ timezone: unknown time zone {name!r}", style="red")
        if not schedule.enabled:
            return Text("disabled: it never fires", style="dim")
        try:
            fires = next_fires(schedule, self.now, PREVIEW, default_zone=self.zone)
        except (TriggerError, ValueError) as exc:
            return Text(f"✗ {exc}", style="red")
        if not fires:
            return Text("no more fires", style="dim")
        head = f"next fires ({schedule.timezone or self.zone})"
        if schedule.every is not None and schedule.start is None:
            head += " (counted from when the daemon starts)"
        text = Text(f"{head}:", style="dim")
        for at in fires:
            text.append(f"\n  {v.show_fire(at)}", style="")
        return text

    @on(Select.Changed)
    def _kind(self, event: Select.Changed) -> None:
        row = self._row("when")
        if event.select is not row.editor or event.value is Select.NULL:
            return
        when = str(event.value)
        self.value_row.field = when
        self.value_row.path = f"{self.path}.{when}"
        editor = self.value_row.editor
        assert isinstance(editor, Input)
        editor.placeholder = PLACEHOLDERS[when]
        self.update_preview()

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self.update_preview()
