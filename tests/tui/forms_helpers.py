"""Shortcuts for the form tests: find a field by its definition path, type into it like
a person, wait for a form to open or close, read the workspace's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widgets import Input

from duftui.tui.forms.fields.field_row import FieldRow
from tests.tui.conftest import wait_for


def field(screen: Any, path: str) -> FieldRow:
    """The form row that edits `path` ("run.file", "schedule[0].cron")."""
    rows = [row for row in screen.query(FieldRow) if row.path == path]
    assert rows, f"no field {path!r}: {[r.path for r in screen.query(FieldRow)]}"
    return rows[0]


async def field_ready(pilot: Pilot[Any], screen: Any, path: str) -> FieldRow:
    """`field`, once a list item just added has mounted its rows under their paths."""
    await wait_for(pilot, lambda: any(row.path == path for row in screen.query(FieldRow)),
                   what=f"field {path}")
    return field(screen, path)


async def type_into(pilot: Pilot[Any], row: FieldRow, text: str) -> None:
    """Focus a one-line field, clear it and type `text` key by key."""
    editor = row.editor
    assert isinstance(editor, Input)
    editor.focus()
    editor.value = ""
    await wait_for(pilot, lambda: editor.has_focus, what=f"{row.path} focused")
    await pilot.press(*[_character_to_key(char) for char in text])
    await wait_for(pilot, lambda: editor.value == text, what=f"{text!r} typed")


async def click(pilot: Pilot[Any], widget: Any) -> None:
    """Click a widget once it is laid out (a tab just shown has not been yet)."""
    await wait_for(pilot, lambda: widget.region.area > 0, what=f"{widget} on screen")
    assert await pilot.click(widget)


async def show_tab(pilot: Pilot[Any], form: Any, tab: str) -> None:
    """Switch a form's tab, as clicking it would, and wait until it is shown."""
    from textual.widgets import TabbedContent

    form.show_tab(tab)
    pane = form.query_one(TabbedContent).get_pane(tab)
    # Shown, and its first field focused (show_tab does that after a refresh; a field
    # focused before then would lose the focus again).
    try:
        await wait_for(
            pilot,
            lambda: pane.region.area > 0
            and pilot.app.focused is not None
            and pane in pilot.app.focused.ancestors,
            what=f"tab {tab}",
        )
    except AssertionError as exc:  # say what the form shows instead
        shown = form.query_one(TabbedContent).active
        raise AssertionError(f"{exc}: the form shows {shown}, focus on {pilot.app.focused!r}, "
                             f"the pane's region is {pane.region}") from None


async def screen_of(pilot: Pilot[Any], kind: type) -> Any:
    """Wait until the app shows a screen of `kind` (a form: filled in) and return it."""

    def shown() -> Any:
        screen = pilot.app.screen
        ready = isinstance(screen, kind) and getattr(screen, "_initial", "") is not None
        if ready and hasattr(screen, "_initial"):  # a form: opened once its field has focus
            ready = pilot.app.focused is not None
        return ready and screen

    return await wait_for(pilot, shown, what=kind.__name__)


async def gone(pilot: Pilot[Any], screen: Any) -> None:
    await wait_for(pilot, lambda: screen not in pilot.app.screen_stack, what="the form to close")


def files_holding(root: Path, value: str) -> list[str]:
    """Every file under `root` whose bytes contain `value` (the SQLite files included)."""
    needle = value.encode()
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    )
